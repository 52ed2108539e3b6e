"""The terminal view: findings grouped by stage as the paper does, with scores."""

from __future__ import annotations

from rich.console import Console
from rich.table import Table

from profileguard.audit.engine import AuditResult
from profileguard.audit.finding import STAGE_TITLES, STAGES

STYLE = {"high": "bold red", "medium": "yellow", "low": "cyan", "review": "magenta"}


def print_result(result: AuditResult, console: Console) -> None:
    scores = result.stage_scores
    console.print(f"[bold]{result.organization}[/] — {result.manifest_path} "
                  f"({', '.join(result.jurisdictions)}; as of {result.as_of}; "
                  f"{len(result.rules)} rules)", highlight=False)
    for stage in STAGES:
        found = [f for f in result.findings if f.stage == stage]
        zh, en = STAGE_TITLES[stage]
        console.rule(f"[bold]{en} {zh}[/] — score {scores[stage]}/100, {len(found)} findings")
        if not found:
            continue
        table = Table("severity", "rule", "article", "finding", "line", show_lines=False,
                      expand=True)
        for f in found:
            loc = f.location
            table.add_row(f"[{STYLE[f.severity]}]{f.severity}[/]", f.rule,
                          f"{f.law} {f.article}", f.message, str(loc.line) if loc else "")
        console.print(table)
    if result.suppressed:
        console.rule("[bold]Suppressed 已忽略")
        for f in result.suppressed:
            console.print(f"  {f.rule}: {f.message} — reason: {f.suppression_reason}",
                          highlight=False)
    c = result.counts()
    console.rule()
    console.print(f"[bold]overall score {result.score}/100[/] — {c['high']} high, "
                  f"{c['medium']} medium, {c['low']} low, {c['review']} to review, "
                  f"{len(result.suppressed)} suppressed", highlight=False)
