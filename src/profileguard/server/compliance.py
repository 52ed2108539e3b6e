"""What the compliance dashboard shows, assembled from the audit, the queues and the manifest.

Charts are SVG rendered here (the auditor's bar charts and the fairness gap charts), so the
page needs no script and fetches nothing from outside.
"""

from __future__ import annotations

import json
from collections import Counter
from typing import Any

from profileguard.audit.finding import STAGE_TITLES, STAGES
from profileguard.audit.report.svg import share_bars, stacked_bars
from profileguard.manifest.model import Manifest
from profileguard.model import snapshot
from profileguard.model.catalog import Catalog, build_catalog
from profileguard.server import complaints as cmp
from profileguard.server.audits import audit, manifests, price_audit
from profileguard.server.desk import as_dict, server_desk
from profileguard.server.state import ServerState
from profileguard.store.operational import utcnow
from profileguard.taxonomy import cn_level, eu_special
from profileguard.taxonomy.categories import CNSensitivity


def _sensitive(category: str, juris: list[str]) -> bool:
    return ("CN" in juris and cn_level(category) is CNSensitivity.SENSITIVE) or \
        ("EU" in juris and eu_special(category))


def data_map(m: Manifest) -> list[dict[str, Any]]:
    out = []
    for source, cols in m.fields.items():
        for col, d in cols.items():
            ref = f"{source}.{col}"
            out.append({"field": ref, "category": d.category,
                        "sensitive": _sensitive(d.category, m.jurisdictions),
                        "purposes": list(d.purposes),
                        "recipients": [r.name for r in m.recipients if ref in r.fields],
                        "retention": d.retention.text if d.retention else None})
    return out


def tag_catalog(catalog: Catalog, m: Manifest, counts: dict[str, int]) -> list[dict[str, Any]]:
    rows = []
    for info in catalog.tags:
        d = info.as_dict()
        risk = []
        if info.refused:
            risk += [f"refused: {r.law} {r.article}" for r in info.refusals]
        if info.sensitive_categories:
            risk.append("sensitive: " + ", ".join(info.sensitive_categories))
        if info.tag.kind == "predictive":
            risk.append("prediction (high-risk: filing, one-click close)")
        if info.tag.infers:
            risk.append(f"infers {info.tag.infers}")
        rows.append({"name": info.name, "title": info.tag.title.en or info.name,
                     "kind": info.tag.kind, "purpose": info.tag.purpose, "fields": info.fields,
                     "depends_on": d["depends_on"], "risk": "; ".join(risk) or "low",
                     "refused": info.refused, "people": counts.get(info.name, "")})
    return rows


def _snapshot_counts(state: ServerState) -> dict[str, int]:
    snap = snapshot.current(state.svc.engine)
    if snap is None:
        return {}
    rows = state.svc.engine.query_rows("SELECT counts FROM pg_snapshots WHERE id = ?", [snap.id])
    try:
        data = json.loads(rows[0][0]) if rows and rows[0][0] else {}
    except ValueError:
        data = {}
    return {str(k): int(v) for k, v in data.items()} if isinstance(data, dict) else {}


def dashboard(state: ServerState, manifest: str | None) -> dict[str, Any]:
    ctx, result = audit(state, manifest)
    m = ctx.manifest
    findings = [f.as_dict() for f in result.findings]
    by_stage = [(s, [f for f in findings if f["stage"] == s]) for s in STAGES]
    sev_by_stage = [(STAGE_TITLES[s][1], dict(Counter(f["severity"] for f in items)))
                    for s, items in by_stage]
    laws = sorted({f["law"] for f in findings})
    sev_by_law = [(law, dict(Counter(f["severity"] for f in findings if f["law"] == law)))
                  for law in laws]
    now = utcnow()
    queue = [{**as_dict(r, with_result=False), "user": r.user_pid,
              "overdue": r.is_overdue(now)}
             for r in server_desk(state.svc).list() if r.state not in ("done", "refused")]
    queue.sort(key=lambda r: r["deadline"])
    open_complaints = cmp.list_complaints(state.svc.store, state="received")
    late = {c["id"] for c in cmp.overdue(open_complaints, now)}
    pricing = price_audit(state)
    price_charts: list[tuple[str, str]] = []
    if pricing.get("available") and pricing["tests"]:
        from profileguard.audit.fairness.html import gap_chart

        for attr in sorted({t.attribute for t in pricing["tests"]}):
            tests = [t for t in pricing["tests"] if t.attribute == attr]
            price_charts.append((attr, gap_chart(attr, tests, pricing["threshold_pct"])))
    catalog = state.svc.catalog if manifest in (None, state.svc.ws.loaded.path.name) \
        else build_catalog(m)
    return {
        "manifest": manifest or state.svc.ws.loaded.path.name, "manifests": manifests(state),
        "result": result.as_dict() | {"rules": result.rules}, "counts": result.counts(),
        "stage_titles": {s: f"{en} · {zh}" for s, (zh, en) in STAGE_TITLES.items()},
        "findings_by_stage": [(s, items) for s, items in by_stage if items],
        "charts": {
            "stages": share_bars("Score per stage (of 100)",
                                 [(STAGE_TITLES[s][1], v / 100)
                                  for s, v in result.stage_scores.items()]),
            "by_stage": stacked_bars("Findings by stage", sev_by_stage),
            "by_law": stacked_bars("Findings by law", sev_by_law),
            "coverage": share_bars("Consent coverage per purpose",
                                   sorted(result.coverage.items())),
        },
        "queue": queue,
        "complaints": [{**c, "overdue": c["id"] in late} for c in open_complaints],
        "pricing": pricing, "price_charts": price_charts,
        "data_map": data_map(m), "catalog": tag_catalog(catalog, m, _snapshot_counts(state)),
    }
