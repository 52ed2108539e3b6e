"""Rights requests through the server: verified by the signed session, done at once when
they need no warehouse write, queued when they do.

A person signed in with a signed login link is verified (that link is the identity check).
``access``, ``explain`` and ``export`` read; ``correct`` (of a tag), ``delete_tag``,
``object`` and ``withdraw`` are decisions written to the ConsentBook — they take effect in
every response at once (:mod:`profileguard.server.people`) and in the warehouse at the
next build. ``delete`` (erasure) and the correction of a collected field must rewrite the
warehouse, which the server only reads: the person is taken out of all processing at once
(objection) and the request waits ``in_progress`` until ``profileguard serve`` next starts
(:mod:`profileguard.server.pending`) or an operator runs it from the CLI.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from fastapi.encoders import jsonable_encoder

from profileguard.errors import ProfileguardError
from profileguard.pipeline.rights import attested, rights_context
from profileguard.pipeline.services import Services
from profileguard.rights import handlers
from profileguard.rights.requests import KINDS, RightsDesk, RightsRequest, Verification
from profileguard.server.errors import ApiError
from profileguard.server.people import visible_profile

SESSION_METHOD = "signed login session"


def queued(kind: str, details: Mapping[str, Any] | None) -> bool:
    """Whether a request of this kind needs the warehouse written (done at next start)."""
    return kind == "delete" or (kind == "correct" and not (details or {}).get("tag"))


def _session_or_attested(request: RightsRequest, evidence: Mapping[str, Any]) -> Verification:
    if evidence.get("session_pid") is not None:
        ok = evidence.get("session_pid") == request.user_pid
        return Verification(ok, SESSION_METHOD if ok else "session of another person")
    return attested(request, evidence)


def server_desk(svc: Services) -> RightsDesk:
    ctx = rights_context(svc)
    desk = RightsDesk(svc.store, ledger=svc.ledger, verifier=_session_or_attested)

    def lang(d: Mapping[str, Any]) -> str:
        return str(d.get("lang", "zh"))

    def access(req: RightsRequest) -> dict[str, Any]:
        d = dict(req.details or {})
        out = handlers.access(ctx, req.user_pid, d)
        out["profile"] = visible_profile(svc, req.user_pid, lang(d))
        return out

    def explain(req: RightsRequest) -> dict[str, Any]:
        d = dict(req.details or {})
        tags = [t for t in visible_profile(svc, req.user_pid, lang(d))
                if not d.get("tag") or t["tag"] == d.get("tag")]
        return {"tags": tags} if tags or not d.get("tag") else {
            "tag": d["tag"], "explanation": None,
            "note": "no value is held for this tag (no consent, deleted, or not built)"}

    def correct(req: RightsRequest) -> dict[str, Any]:
        d = dict(req.details or {})
        tag, value = str(d.get("tag") or ""), d.get("value")
        if svc.manifest.tag(tag) is None or value is None or not str(value).strip():
            raise ProfileguardError("a tag correction needs a declared `tag` and a `value`")
        oid = svc.book.correct_tag(req.user_pid, tag, str(value).strip(),
                                   reason=d.get("reason"), actor="subject")
        return {"tag": tag, "value": str(value).strip(), "override": oid,
                "note": "shown and used at once; the warehouse follows at the next build"}

    def delete_tag(req: RightsRequest) -> dict[str, Any]:
        d = dict(req.details or {})
        tag = str(d.get("tag") or "")
        if svc.manifest.tag(tag) is None:
            raise ProfileguardError(f"unknown tag {tag!r}")
        oid = svc.book.delete_tag(req.user_pid, tag, reason=d.get("reason"), actor="subject")
        return {"tag": tag, "override": oid,
                "note": "no longer shown or used; removed from the warehouse at the next build"}

    def object_(req: RightsRequest) -> dict[str, Any]:
        svc.book.object(req.user_pid, True, actor="subject")
        return {"objected": True}

    def withdraw(req: RightsRequest) -> dict[str, Any]:
        d = dict(req.details or {})
        purpose = str(d.get("purpose") or "")
        if purpose not in svc.manifest.purposes:
            raise ProfileguardError(f"unknown purpose {purpose!r}; declared: "
                                    f"{', '.join(sorted(svc.manifest.purposes))}")
        svc.book.withdraw(req.user_pid, purpose, recipient=d.get("recipient"), actor="subject")
        return {"purpose": purpose, "recipient": d.get("recipient")}

    def export(req: RightsRequest) -> dict[str, Any]:
        out = handlers.export(ctx, req.user_pid, dict(req.details or {}))
        return out

    def jsonable(fn: Any) -> Any:
        return lambda req: jsonable_encoder(fn(req))

    for kind, fn in (("access", access), ("explain", explain), ("correct", correct),
                     ("delete_tag", delete_tag), ("object", object_), ("withdraw", withdraw),
                     ("export", export)):
        desk.register(kind, jsonable(fn))
    return desk


def submit(svc: Services, pid: str, kind: str, details: Mapping[str, Any] | None, *,
           evidence: Mapping[str, Any], actor: str) -> RightsRequest:
    """Open, verify and (unless queued) carry out one request."""
    if kind not in KINDS:
        raise ApiError(400, f"request kind {kind!r} is not known; use one of {', '.join(KINDS)}")
    desk = server_desk(svc)
    juris = "EU" if svc.manifest.jurisdictions == ["EU"] else "CN"
    req = desk.open(pid, kind, jurisdiction=juris, details=dict(details or {}), actor=actor)
    req = desk.verify(req.id, evidence, actor=actor)
    if req.state != "in_progress":
        return req
    if queued(kind, details):
        if kind == "delete":  # stop all processing now; the erasure itself runs at next start
            svc.book.object(pid, True, actor=actor)
        return req
    return desk.run(req.id, actor=actor)


def as_dict(req: RightsRequest, *, with_result: bool = True) -> dict[str, Any]:
    out: dict[str, Any] = {
        "id": req.id, "kind": req.kind, "state": req.state, "jurisdiction": req.jurisdiction,
        "received_at": req.received_at.isoformat(), "deadline": req.due.isoformat(),
        "completed_at": req.completed_at.isoformat() if req.completed_at else None,
        "refusal_reason": req.refusal_reason, "details": req.details,
        "queued_for_warehouse": req.state == "in_progress" and queued(req.kind, req.details),
    }
    if with_result:
        out["result"] = req.result
    return out
