"""``profileguard serve``: the API, the privacy center and the dashboard on uvicorn.

Before the workers start, work the server queued for the warehouse (erasures, field
corrections, removal of tags people deleted) runs while this is the only process with
the warehouse open; then every worker opens it read-only and shares the operational
store (SQLite in WAL mode by default, PostgreSQL with ``--state-url``).
"""

from __future__ import annotations

import inspect
import os
from pathlib import Path
from typing import Annotated, Any

import typer

from profileguard.cli._common import ManifestOpt, StateUrlOpt, err_console

#: seconds a worker may take to answer uvicorn's supervisor while it starts
WORKER_START_S = 60


def register(app: typer.Typer) -> None:
    @app.command("serve")
    def serve(
        host: Annotated[str, typer.Option("--host", help="address to listen on")] = "127.0.0.1",
        port: Annotated[int, typer.Option("--port", help="port to listen on")] = 8000,
        workers: Annotated[int, typer.Option("--workers", min=1, max=64,
                                             help="worker processes")] = 1,
        manifest: ManifestOpt = None,
        state_url: StateUrlOpt = None,
        pending: Annotated[bool, typer.Option(
            "--pending/--no-pending", help="run queued warehouse work before serving")] = True,
    ) -> None:
        """Serve the REST API (/docs), the privacy center (/me) and the dashboard."""
        import uvicorn

        from profileguard.manifest import find_manifest
        from profileguard.pipeline.services import open_services
        from profileguard.server.app import MANIFEST_ENV, STATE_URL_ENV
        from profileguard.server.pending import apply_pending
        from profileguard.server.state import load_or_create_secret
        from profileguard.server.tables import ensure_tables
        from profileguard.store.workspace import SECRETS_DIR

        path = Path(manifest) if manifest else find_manifest()
        if path is None:
            from profileguard.errors import ProfileguardError

            raise ProfileguardError("no profileguard.yaml here or in a parent; pass --manifest")
        if pending:
            report = apply_pending(path, state_url)
            if report.requests_done or report.tags_removed or report.requests_failed:
                err_console.print(f"queued work: {len(report.requests_done)} request(s) done, "
                                  f"{report.tags_removed} tag value(s) removed, "
                                  f"{len(report.requests_failed)} failed")
        with open_services(path, state_url=state_url) as svc:
            load_or_create_secret(svc.ws.root / SECRETS_DIR)  # one secret for all workers
            ensure_tables(svc.store)
        os.environ[MANIFEST_ENV] = str(path.resolve())
        if state_url:
            os.environ[STATE_URL_ENV] = state_url
        err_console.print(f"serving {path} on http://{host}:{port} with {workers} worker(s): "
                          "/me privacy center · /dashboard · /transparency · /docs")
        # uvicorn kills a worker that does not answer its supervisor's ping within 5 s; a
        # worker starting on a busy machine (imports, attaching the warehouse) can take longer
        patience: dict[str, Any] = (
            {"timeout_worker_healthcheck": WORKER_START_S}
            if "timeout_worker_healthcheck" in inspect.signature(uvicorn.run).parameters else {})
        uvicorn.run("profileguard.server.app:app_from_env", factory=True, host=host, port=port,
                    workers=workers, log_level="warning", **patience)
