"""``profileguard token USER``: print a signed, expiring login link to the privacy center.

For the demo and for support staff who send a person their link; the link carries the
person's pseudonymous id only and expires after seven days (the server's setting).
"""

from __future__ import annotations

from typing import Annotated

import typer

from profileguard.cli._common import Format, FormatOpt, ManifestOpt, StateUrlOpt, print_json


def register(app: typer.Typer) -> None:
    @app.command("token")
    def token(
        user: Annotated[str, typer.Argument(help="the person's user id (or pseudonymous id)")],
        base_url: Annotated[str, typer.Option("--base-url", help="where the server runs")
                            ] = "http://127.0.0.1:8000",
        manifest: ManifestOpt = None,
        state_url: StateUrlOpt = None,
        output_format: FormatOpt = Format.table,
    ) -> None:
        """Print a login link to the privacy center for USER."""
        from profileguard.server.links import login_link_for

        link = login_link_for(manifest, user, base_url, state_url)
        if output_format is Format.json:
            print_json({"user": user, "link": link})
        else:
            typer.echo(link)
