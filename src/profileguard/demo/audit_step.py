"""The demo's audit step: both manifests audited on the demo workspace.

Prints the naive manifest's findings by stage and the compliant manifest's score;
:func:`write_html_reports` writes the two HTML reports (``docs/audit-naive.html`` and
``docs/audit-compliant.html``) when asked (``ctx.state["docs_dir"]`` or a direct call).
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from rich.console import Console

from profileguard.audit.engine import AuditResult, run_audit
from profileguard.audit.facts import gather_context
from profileguard.audit.finding import STAGE_TITLES, STAGES
from profileguard.audit.report.html import to_html
from profileguard.demo.run import DemoContext, register_step
from profileguard.manifest import load_manifest
from profileguard.pipeline.services import Services, open_services

REPORTS = {"naive.yaml": "audit-naive.html", "profileguard.yaml": "audit-compliant.html"}


def audit_both(svc: Services, directory: Path, as_of: dt.date
               ) -> dict[str, AuditResult]:
    """Audit naive.yaml and profileguard.yaml over the stores ``svc`` has open."""
    out = {}
    for name in REPORTS:
        loaded = load_manifest(directory / name)
        ctx = gather_context(svc, as_of, loaded=loaded)
        out[name] = run_audit(ctx, sha256=loaded.sha256)
    return out


def print_summary(results: dict[str, AuditResult], console: Console) -> None:
    naive = results["naive.yaml"]
    console.print(f"  naive.yaml — score {naive.score}/100, {len(naive.findings)} findings:")
    for stage in STAGES:
        found = [f for f in naive.findings if f.stage == stage]
        zh, en = STAGE_TITLES[stage]
        console.print(f"   [bold]{en} {zh}[/] ({naive.stage_scores[stage]}/100)")
        seen: set[str] = set()
        for f in found:
            if f.rule in seen or f.severity == "low":
                continue
            seen.add(f.rule)
            console.print(f"     [{'red' if f.severity == 'high' else 'yellow'}]{f.severity:<6}[/]"
                          f" {f.law} {f.article:<6} {f.message}", highlight=False)
    good = results["profileguard.yaml"]
    c = good.counts()
    console.print(f"  profileguard.yaml — score [bold green]{good.score}/100[/]: {c['high']} "
                  f"high, {c['medium']} medium, {c['low']} low, {c['review']} to review")


def write_html_reports(results: dict[str, AuditResult], docs: Path) -> list[Path]:
    docs.mkdir(parents=True, exist_ok=True)
    written = []
    for name, file in REPORTS.items():
        path = docs / file
        path.write_text(to_html(results[name]), encoding="utf-8")
        written.append(path)
    return written


def write_demo_reports(directory: Path, docs: Path, as_of: dt.date) -> list[Path]:
    """For the lead: audit an existing demo workspace and write the two HTML reports."""
    with open_services(directory / "profileguard.yaml") as svc:
        return write_html_reports(audit_both(svc, directory, as_of), docs)


@register_step("audit")
def step_audit(ctx: DemoContext) -> None:
    ctx.console.rule("[bold]Audit both manifests (PIPL, ECL, ADV, ALG, NPI, minors; GDPR for EU)")
    svc: Services | None = ctx.state.get("services")
    if svc is None:
        svc = open_services(ctx.manifest)
        ctx.state["services"] = svc
    results = audit_both(svc, ctx.dir, ctx.as_of.date())
    ctx.state["audit"] = results
    print_summary(results, ctx.console)
    docs = ctx.state.get("docs_dir")
    if docs is not None:
        for path in write_html_reports(results, Path(docs)):
            ctx.console.print(f"  wrote {path}")
