"""Audit a manifest (and its workspace when one exists) in one call.

A manifest whose workspace was never ingested is audited from the manifest alone: opening
the stores would create them, and the auditor changes nothing.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from profileguard.audit.context import AuditContext
from profileguard.audit.engine import AuditResult, run_audit
from profileguard.audit.finding import Evidence, Finding
from profileguard.errors import ProfileguardError
from profileguard.manifest import find_manifest, load_manifest
from profileguard.store.workspace import STATE_DIR

FORMATS = ("table", "json", "md", "html", "sarif")


def has_workspace(manifest: Path) -> bool:
    state = manifest.resolve().parent / STATE_DIR
    return (state / "warehouse.duckdb").is_file() and (state / "state.db").is_file()


def load_context(manifest: str | Path | None = None, *, as_of: dt.date | None = None,
                 state_url: str | None = None, data: bool = True) -> tuple[AuditContext, str]:
    """The audit context of ``manifest`` (default: ``profileguard.yaml`` here or in a parent)
    and the manifest's sha256; facts from the workspace when it exists and ``data``."""
    path = Path(manifest) if manifest else find_manifest()
    if path is None:
        raise ProfileguardError(f"no profileguard.yaml in {Path.cwd()} or any parent; pass "
                                "--manifest PATH")
    day = as_of or dt.date.today()
    if data and (has_workspace(path) or state_url):
        from profileguard.audit.facts import gather_context
        from profileguard.pipeline.services import open_services

        with open_services(path, state_url=state_url) as svc:
            return gather_context(svc, day), svc.ws.loaded.sha256
    loaded = load_manifest(path)
    return AuditContext(loaded.manifest, str(loaded.path), loaded.located, day), loaded.sha256


def audit_path(manifest: str | Path | None = None, *, as_of: dt.date | None = None,
               state_url: str | None = None, data: bool = True,
               pricing: bool = False) -> AuditResult:
    """Audit ``manifest`` and its workspace; with ``pricing`` also run the pricing audit on
    the workspace's quotes and add its ``review`` findings (PIPL 24, ALG 21, GDPR 22)."""
    ctx, sha = load_context(manifest, as_of=as_of, state_url=state_url, data=data)
    extra = pricing_review_findings(ctx, state_url) if pricing else []
    return run_audit(ctx, sha256=sha, extra=extra)


def pricing_review_findings(ctx: AuditContext, state_url: str | None = None) -> list[Finding]:
    """The workspace pricing audit's flags as findings (none without quotes)."""
    from profileguard.audit.fairness import PricingConfig, pricing_findings
    from profileguard.pipeline.pricing import audit_workspace_pricing
    from profileguard.pipeline.services import open_services

    path = Path(ctx.manifest_path)
    if not has_workspace(path):
        return []
    with open_services(path, state_url=state_url) as svc:
        if not svc.engine.table_exists("quotes"):
            return []
        when = dt.datetime.combine(ctx.as_of, dt.time())
        result = audit_workspace_pricing(svc, when, PricingConfig(
            threshold=ctx.manifest.audit.materiality_threshold))
    out = []
    for d in pricing_findings(result, tuple(ctx.manifest.jurisdictions), "workspace quotes"):
        title = d["title"]
        out.append(Finding(
            rule=d["rule"], law=d["law"], article=d["article"], severity=d["severity"],
            stage=d["stage"], title=title["en"], title_zh=title["zh"], message=d["message"],
            evidence=[Evidence("table", str(e["detail"]), e.get("path")) for e in d["evidence"]],
            fix=d["fix"], penalty=d["penalty"]))
    return out


def render(result: AuditResult, fmt: str, base: Path | None = None) -> str:
    """The report as text in ``fmt`` (json, md, html or sarif)."""
    import json

    if fmt == "json":
        return json.dumps(result.as_dict(), ensure_ascii=False, indent=2, default=str) + "\n"
    if fmt == "md":
        from profileguard.audit.report.markdown import to_markdown

        return to_markdown(result)
    if fmt == "html":
        from profileguard.audit.report.html import to_html

        return to_html(result)
    if fmt == "sarif":
        from profileguard.audit.report.sarif import to_sarif_text

        return to_sarif_text(result, base) + "\n"
    raise ProfileguardError(f"unknown report format {fmt!r}; use one of {', '.join(FORMATS)}")
