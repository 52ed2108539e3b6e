"""``profileguard rules``: the audit rules, or ``--write docs/rules.md`` to regenerate the page."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from profileguard.cli._common import Format as OutFormat
from profileguard.cli._common import FormatOpt, console, print_json


def register(app: typer.Typer) -> None:
    @app.command("rules")
    def rules(
        write: Annotated[Path | None, typer.Option("--write", help="write the Markdown reference "
                                                   "(docs/rules.md) to this file")] = None,
        output_format: FormatOpt = OutFormat.table,
    ) -> None:
        """List the audit rules with law, article, stage and severity."""
        from profileguard.audit.docs_gen import coverage_rows, rules_markdown
        from profileguard.audit.rule import RULES

        if write is not None:
            write.write_text(rules_markdown(), encoding="utf-8")
            console.print(f"wrote {write}")
            return
        if output_format is OutFormat.json:
            print_json({"rules": [{"id": r.id, "law": r.law, "article": r.article,
                                   "stage": r.stage, "severity": r.severity,
                                   "title": r.title_en, "title_zh": r.title_zh, "fix": r.fix}
                                  for r in RULES.values()],
                        "coverage": [{"law": law, "article": a, "rules": rs, "note": n}
                                     for law, a, _, rs, n in coverage_rows()]})
            return
        table = Table("rule", "law", "article", "stage", "severity", "title")
        for r in sorted(RULES.values(), key=lambda r: (r.law, r.id)):
            table.add_row(r.id, r.law, r.article, r.stage, r.severity, r.title_en)
        console.print(table)
