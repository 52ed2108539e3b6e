"""Audit runs for the server, cached until the records change.

An audit reads the manifest, the warehouse and the operational store and changes nothing,
but it takes about a second; the result is cached per manifest, day and ledger head, so
the dashboard is fast and a new consent change, request or complaint shows at once.
Manifests are chosen by file name among the ``*.yaml`` files beside the served manifest
(the demo keeps ``naive.yaml`` there), never by path, so no request can read other files.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pandas as pd

from profileguard.audit.context import AuditContext
from profileguard.audit.engine import AuditResult, run_audit
from profileguard.audit.facts import gather_context
from profileguard.manifest import load_manifest
from profileguard.server.errors import ApiError
from profileguard.server.state import ServerState

#: user attributes a price audit compares (categories), never identifiers or free text
PRICE_ATTRIBUTE_CATEGORIES = ("user.demographic.gender", "user.location.imprecise",
                              "user.device", "user.account")
MAX_GROUPS = 12


def manifests(state: ServerState) -> list[str]:
    served = state.svc.ws.loaded.path.name
    others = sorted(p.name for p in state.root.glob("*.yaml") if p.name != served)
    return [served, *others]


def manifest_path(state: ServerState, name: str | None) -> Path:
    chosen = name or state.svc.ws.loaded.path.name
    if chosen not in manifests(state):
        raise ApiError(404, f"manifest {chosen!r} is not served here; available: "
                       f"{', '.join(manifests(state))}")
    return state.root / chosen


def audit(state: ServerState, name: str | None = None) -> tuple[AuditContext, AuditResult]:
    path = manifest_path(state, name)
    head = state.svc.ledger.head()
    key = f"audit|{path.name}|{dt.date.today()}|{head.seq if head else 0}|{path.stat().st_mtime}"
    with state.lock:
        hit = state.cache.get(key)
        if hit is None:
            loaded = load_manifest(path)
            ctx = gather_context(state.svc, dt.date.today(), loaded=loaded)
            hit = (ctx, run_audit(ctx, sha256=loaded.sha256))
            for old in [k for k in state.cache if k.startswith(f"audit|{path.name}|")]:
                del state.cache[old]
            state.cache[key] = hit
    ctx_result: tuple[AuditContext, AuditResult] = hit
    return ctx_result


def price_audit(state: ServerState) -> dict[str, Any]:
    """Price gaps per attribute from the warehouse's quotes (cached per process)."""
    with state.lock:
        if "pricing" not in state.cache:
            state.cache["pricing"] = _price_audit(state)
        out: dict[str, Any] = state.cache["pricing"]
    return out


def _price_audit(state: ServerState) -> dict[str, Any]:
    from profileguard.audit.fairness import PricingConfig, assemble, audit_pricing

    svc, m = state.svc, state.svc.manifest
    eng = svc.engine
    quotes = next((n for n in m.sources if n == "quotes"), None)
    users = next((n for n, s in m.sources.items() if s.user and s.key == s.user), None)
    if quotes is None or users is None or not eng.table_exists(quotes) \
            or not eng.table_exists(users):
        return {"available": False, "why": "no quotes source in the warehouse", "tests": []}
    ucol = m.sources[users].user or "user_id"
    attrs = [c for c, d in m.fields.get(users, {}).items()
             if d.transform == "none" and d.type in ("string", "integer", "boolean")
             and any(d.category.startswith(p) for p in PRICE_ATTRIBUTE_CATEGORIES)
             and c in eng.columns(users)]
    attrs = [c for c in attrs if int(eng.query_rows(
        f'SELECT count(DISTINCT "{c}") FROM "{users}"')[0][0]) <= MAX_GROUPS]
    if not attrs:
        return {"available": False, "why": "no user attribute to compare", "tests": []}
    qcols = [c for c in eng.columns(quotes) if c != "_file_id"]
    qf = eng.query_arrow(f'SELECT {", ".join(chr(34) + c + chr(34) for c in qcols)} '
                         f'FROM "{quotes}"').to_pandas()
    uf = eng.query_arrow(f'SELECT "{ucol}" AS user_id, '
                         + ", ".join(f'CAST("{c}" AS VARCHAR) AS "{c}"' for c in attrs)
                         + f' FROM "{users}"').to_pandas()
    items = None
    if "items" in m.sources and eng.table_exists("items") and "category" in eng.columns("items") \
            and "category" not in qf.columns:
        items = eng.query_arrow('SELECT item_id, category FROM items').to_pandas()
    legit = m.applications.pricing.legitimate_factors if m.applications.pricing else []
    controls = tuple(c for c in legit if c in qf.columns and c not in ("coupon",))
    result = audit_pricing(assemble(qf, uf, items if isinstance(items, pd.DataFrame) else None),
                           PricingConfig(attributes=tuple(attrs), controls=controls))
    return {"available": True, "attributes": attrs, "threshold_pct": result.threshold * 100,
            "controlled_for": result.controlled_for, "tests": result.tests,
            "flagged": [t.attribute for t in result.flagged], "untested": result.untested,
            "n_quotes": result.n_quotes}
