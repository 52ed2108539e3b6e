"""``profileguard pia``: draft a personal-information protection impact assessment (PIPL 55)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from profileguard.cli._common import ManifestOpt, StateUrlOpt


def register(app: typer.Typer) -> None:
    @app.command("pia")
    def pia(
        manifest: ManifestOpt = None,
        output_format: Annotated[str, typer.Option("--format", "-f", help="md or html")] = "md",
        out: Annotated[Path | None, typer.Option("--out", help="write to this file")] = None,
        as_of: Annotated[str | None, typer.Option("--as-of", help="YYYY-MM-DD")] = None,
        state_url: StateUrlOpt = None,
    ) -> None:
        """Draft a PIA (个人信息保护影响评估): inventory, triggers, risks, measures, sign-off."""
        from profileguard.audit.drafts.pia import pia_document
        from profileguard.cli._drafts import run_draft

        run_draft(pia_document, manifest, output_format, out, as_of, state_url)
