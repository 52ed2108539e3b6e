"""``profileguard evidence --out FILE.zip``: the bundle a third-party certifier asks for."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from profileguard.cli._common import Format as OutFormat
from profileguard.cli._common import FormatOpt, ManifestOpt, StateUrlOpt, console, print_json


def register(app: typer.Typer) -> None:
    @app.command("evidence")
    def evidence(
        out: Annotated[Path, typer.Option("--out", help="zip file to write")],
        manifest: ManifestOpt = None,
        as_of: Annotated[str | None, typer.Option("--as-of", help="YYYY-MM-DD")] = None,
        state_url: StateUrlOpt = None,
        output_format: FormatOpt = OutFormat.table,
    ) -> None:
        """Bundle audit report, ledger verification, PIA, manifest + hash, rights statistics."""
        from profileguard.audit.api import load_context
        from profileguard.audit.evidence import write_evidence
        from profileguard.cli._audit_report import parse_day

        ctx, sha = load_context(manifest, as_of=parse_day(as_of), state_url=state_url)
        digests = write_evidence(ctx, out, sha)
        if output_format is OutFormat.json:
            print_json({"out": str(out), "files": digests})
            return
        for name, digest in sorted(digests.items()):
            console.print(f"  {digest[:16]}…  {name}", highlight=False)
        console.print(f"wrote {out} ({len(digests)} files)")
