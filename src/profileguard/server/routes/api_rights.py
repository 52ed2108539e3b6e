"""Staff API for the rights queue and complaints: list, status, create on a person's behalf,
complete or refuse with the reason the person is told."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request

from profileguard.errors import ProfileguardError
from profileguard.server import complaints as cmp
from profileguard.server import desk
from profileguard.server.access import staff
from profileguard.server.errors import ApiError
from profileguard.server.keys import StaffKey
from profileguard.server.people import known
from profileguard.server.schemas import Completion, Resolution, RowId, StaffRequest
from profileguard.server.state import state_of
from profileguard.store.operational import utcnow

router = APIRouter(tags=["staff: rights and complaints"])
QUEUE_ROLES = ("platform_admin", "dpo")


@router.get("/api/rights", summary="The rights queue (deadlines; overdue first with ?overdue)")
def queue(request: Request, *, state: str | None = Query(None, max_length=16),
          overdue: bool = False, key: Annotated[StaffKey, Depends(staff(*QUEUE_ROLES))]
          ) -> list[dict[str, Any]]:
    d = desk.server_desk(state_of(request).svc)
    reqs = d.overdue() if overdue else d.list(state=state)
    now = utcnow()
    return [{**desk.as_dict(r, with_result=False), "user": r.user_pid,
             "overdue": r.is_overdue(now)} for r in reqs]


@router.post("/api/rights", summary="Open a request on a person's behalf (identity checked)")
def create(request: Request, *, body: StaffRequest,
           key: Annotated[StaffKey, Depends(staff(*QUEUE_ROLES))]) -> dict[str, Any]:
    svc = state_of(request).svc
    pid = known(svc, body.user)
    req = desk.submit(svc, pid, body.kind, body.details,
                      evidence={"method": body.verified_by}, actor=key.actor)
    return desk.as_dict(req)


def _get(request: Request, request_id: RowId) -> Any:
    try:
        return desk.server_desk(state_of(request).svc).get(request_id)
    except ProfileguardError as exc:
        raise ApiError(404, str(exc)) from exc


@router.get("/api/rights/{request_id}", summary="Status of one request")
def status(request: Request, *, request_id: RowId,
           key: Annotated[StaffKey, Depends(staff(*QUEUE_ROLES))]) -> dict[str, Any]:
    return desk.as_dict(_get(request, request_id))


@router.post("/api/rights/{request_id}/complete",
             summary="Complete (done) or refuse a request, with the reason the person is told")
def complete(request: Request, *, request_id: RowId, body: Completion,
             key: Annotated[StaffKey, Depends(staff(*QUEUE_ROLES))]) -> dict[str, Any]:
    svc = state_of(request).svc
    d = desk.server_desk(svc)
    req = _get(request, request_id)
    if req.state in ("done", "refused"):
        raise ApiError(409, f"request {request_id} is already {req.state}")
    if body.outcome == "refused":
        return desk.as_dict(d.refuse(request_id, body.reason, actor=key.actor))
    if req.state != "in_progress":
        raise ApiError(409, f"request {request_id} is {req.state}: the requester's identity is "
                       "not verified yet; refuse it with a reason or verify first")
    if desk.queued(req.kind, req.details):
        raise ApiError(409, f"request {request_id} ({req.kind}) rewrites the warehouse, which "
                       "the server only reads: it runs when `profileguard serve` next starts, "
                       "or now with `profileguard dsr` while the server is stopped")
    return desk.as_dict(d.complete(request_id, {"note": body.reason}, actor=key.actor))


@router.get("/api/complaints", summary="Complaints queue with deadlines")
def complaints(request: Request, *, state: str | None = Query(None, max_length=16),
               key: Annotated[StaffKey, Depends(staff(*QUEUE_ROLES))]) -> list[dict[str, Any]]:
    return cmp.list_complaints(state_of(request).svc.store, state=state)


@router.post("/api/complaints/{complaint_id}/resolve", summary="Answer a complaint")
def resolve(request: Request, *, complaint_id: RowId, body: Resolution,
            key: Annotated[StaffKey, Depends(staff(*QUEUE_ROLES))]) -> dict[str, Any]:
    svc = state_of(request).svc
    try:
        cmp.get_complaint(svc.store, complaint_id)
    except ProfileguardError as exc:
        raise ApiError(404, str(exc)) from exc
    return cmp.resolve_complaint(svc.store, svc.ledger, complaint_id, body.resolution,
                                 actor=key.actor)
