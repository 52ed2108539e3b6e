"""``profileguard filing``: draft an algorithm filing (算法备案, ALG 24)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from profileguard.cli._common import ManifestOpt, StateUrlOpt


def register(app: typer.Typer) -> None:
    @app.command("filing")
    def filing(
        manifest: ManifestOpt = None,
        output_format: Annotated[str, typer.Option("--format", "-f", help="md or html")] = "md",
        out: Annotated[Path | None, typer.Option("--out", help="write to this file")] = None,
        as_of: Annotated[str | None, typer.Option("--as-of", help="YYYY-MM-DD")] = None,
        state_url: StateUrlOpt = None,
    ) -> None:
        """Draft the algorithm filing: type, principle, mechanism, data, self-assessment."""
        from profileguard.audit.drafts.filing import filing_document
        from profileguard.cli._drafts import run_draft

        run_draft(filing_document, manifest, output_format, out, as_of, state_url)
