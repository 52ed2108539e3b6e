"""Rights requests for a workspace: the desk with every handler attached."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from profileguard.pipeline.services import Services
from profileguard.rights import erasure, handlers
from profileguard.rights.context import RightsContext
from profileguard.rights.requests import RightsDesk, RightsRequest, Verification


def rights_context(svc: Services) -> RightsContext:
    return RightsContext(
        engine=svc.ws.engine, manifest=svc.manifest, root=svc.ws.root,
        exports_dir=svc.ws.exports_dir, book=svc.book, store=svc.store, key=svc.ws.key,
        catalog=svc.catalog, compact=svc.ws.compact_warehouse)


def attested(request: RightsRequest, evidence: Mapping[str, Any]) -> Verification:
    """Identity verification by an operator's attestation (``--verified-by``).

    Replace with a real check (SMS code, logged-in session) by passing ``verifier=``
    to :func:`rights_desk`; the server uses the subject's signed session.
    """
    method = str(evidence.get("method") or "")
    return Verification(bool(method), method or "none", str(evidence.get("note", "")))


def rights_desk(svc: Services, verifier: Any = attested) -> RightsDesk:
    ctx = rights_context(svc)
    desk = RightsDesk(svc.store, ledger=svc.ledger, verifier=verifier)

    def bind(fn: Any) -> Any:
        return lambda req: fn(ctx, req.user_pid, dict(req.details or {}))

    desk.register("access", bind(handlers.access))
    desk.register("export", bind(handlers.export))
    desk.register("correct", bind(handlers.correct))
    desk.register("delete_tag", bind(handlers.delete_tag))
    desk.register("object", bind(handlers.object_))
    desk.register("withdraw", bind(handlers.withdraw))
    desk.register("explain", bind(handlers.explain))
    desk.register("delete", lambda req: erasure.erase(
        ctx, req.user_pid, identifiers=set((req.details or {}).get("identifiers", [])),
        request_id=req.id).as_dict())
    return desk


def handle(svc: Services, user: str, kind: str, details: Mapping[str, Any] | None = None, *,
           verified_by: str = "operator attestation", jurisdiction: str | None = None,
           actor: str = "cli") -> RightsRequest:
    """Open, verify and carry out one request; returns the completed request."""
    desk = rights_desk(svc)
    pid = svc.pid(user)
    juris = jurisdiction or ("EU" if svc.manifest.jurisdictions == ["EU"] else "CN")
    req = desk.open(pid, kind, jurisdiction=juris, details=dict(details or {}), actor=actor)
    desk.verify(req.id, {"method": verified_by}, actor=actor)
    return desk.run(req.id, actor=actor)
