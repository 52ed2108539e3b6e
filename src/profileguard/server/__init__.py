"""The server: the REST API (FastAPI), the privacy center, the compliance dashboard and the
public transparency page. Nothing imports this package; it imports everything below it.

Build an app with :func:`profileguard.server.app.create_app`; serve it with
``profileguard serve``. See docs/server.md.
"""
