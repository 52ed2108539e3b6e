"""Staff API for audiences: preview (counts only), export asked by one key and approved by
another (four eyes), the file written only on approval and listed for erasure follow-up."""

from __future__ import annotations

from typing import Annotated, Any

import sqlalchemy as sa
from fastapi import APIRouter, Depends, Request

from profileguard.apply.audience import AudienceSpec, select_audience
from profileguard.apply.export import export_audience
from profileguard.server import tables as st
from profileguard.server.access import staff
from profileguard.server.errors import ApiError
from profileguard.server.keys import StaffKey
from profileguard.server.schemas import AudienceQuery, Decision, RowId
from profileguard.server.state import state_of
from profileguard.store.operational import utcnow

router = APIRouter(prefix="/api/audiences", tags=["staff: audiences"])


def _row(r: Any) -> dict[str, Any]:
    return {k: (v.isoformat() if hasattr(v, "isoformat") else v) for k, v in dict(r).items()}


@router.post("/preview", summary="How many people an audience would reach, and who the guards "
             "removed (counts only)")
def preview(request: Request, *, body: AudienceQuery,
            key: Annotated[StaffKey, Depends(staff("platform_admin", "dpo", "analyst"))]
            ) -> dict[str, Any]:
    state = state_of(request)
    with state.lock:  # the guard table is scratch shared by this worker
        result = select_audience(state.svc, AudienceSpec(body.expression, body.purpose,
                                                         body.recipient))
    return result.as_dict()


@router.post("/exports", summary="Ask for an audience export (waits for a DPO's approval)")
def ask_export(request: Request, *, body: AudienceQuery,
               key: Annotated[StaffKey, Depends(staff("platform_admin"))]) -> dict[str, Any]:
    state = state_of(request)
    svc = state.svc
    if not body.recipient:
        raise ApiError(400, "an export needs a recipient (the file is pseudonymized with its key)")
    with state.lock:
        result = select_audience(svc, AudienceSpec(body.expression, body.purpose,
                                                   body.recipient))
    if result.refusal is not None:
        raise ApiError(400, f"audience refused [{result.refusal.law} {result.refusal.article}]: "
                       f"{result.refusal.reason}")
    with svc.store.write() as conn:
        new_id = int(conn.execute(st.audience_requests.insert().values(
            expression=body.expression, purpose=body.purpose, recipient=body.recipient,
            state="pending", requested_by=key.id, created_at=utcnow()
        ).returning(st.audience_requests.c.id)).scalar_one())
        svc.ledger.append("audience.export_requested", key.actor, None, {
            "audience_request": new_id, "purpose": body.purpose, "recipient": body.recipient,
            "expected_size": result.size}, conn=conn)
    return {"id": new_id, "state": "pending", "expected_size": result.size}


@router.get("/exports", summary="Audience export requests and their decisions")
def list_exports(request: Request,
                 key: Annotated[StaffKey, Depends(staff("platform_admin", "dpo"))]) -> list[dict[str, Any]]:
    with state_of(request).svc.store.read() as conn:
        rows = conn.execute(sa.select(st.audience_requests).order_by(
            st.audience_requests.c.id.desc())).mappings().all()
    return [_row(r) for r in rows]


def _pending(request: Request, export_id: RowId, key: StaffKey) -> dict[str, Any]:
    with state_of(request).svc.store.read() as conn:
        row = conn.execute(sa.select(st.audience_requests).where(
            st.audience_requests.c.id == export_id)).mappings().first()
    if row is None:
        raise ApiError(404, f"no audience export request {export_id}")
    if row["state"] != "pending":
        raise ApiError(409, f"audience export request {export_id} is already {row['state']}")
    if row["requested_by"] == key.id:
        raise ApiError(403, "the key that asked for an export may not approve it (four eyes)")
    return dict(row)


@router.post("/exports/{export_id}/approve", summary="Approve and write the export (DPO)")
def approve(request: Request, *, export_id: RowId, body: Decision | None = None,
            key: Annotated[StaffKey, Depends(staff("dpo"))]) -> dict[str, Any]:
    state = state_of(request)
    svc = state.svc
    row = _pending(request, export_id, key)
    with state.lock:
        done = export_audience(svc, AudienceSpec(row["expression"], row["purpose"],
                                                 row["recipient"]), actor=key.actor)
    with svc.store.write() as conn:
        conn.execute(st.audience_requests.update().where(
            st.audience_requests.c.id == export_id).values(
            state="approved", decided_by=key.id, decided_at=utcnow(), export_id=done.export_id,
            reason=body.reason if body else None))
    return {"id": export_id, "state": "approved", "export_id": done.export_id,
            "rows": done.rows, "sha256": done.sha256}


@router.post("/exports/{export_id}/reject", summary="Reject an export request with a reason")
def reject(request: Request, *, export_id: RowId, body: Decision,
           key: Annotated[StaffKey, Depends(staff("dpo"))]) -> dict[str, Any]:
    svc = state_of(request).svc
    _pending(request, export_id, key)
    if not body.reason:
        raise ApiError(400, "a rejection needs a reason")
    with svc.store.write() as conn:
        conn.execute(st.audience_requests.update().where(
            st.audience_requests.c.id == export_id).values(
            state="rejected", decided_by=key.id, decided_at=utcnow(), reason=body.reason))
        svc.ledger.append("audience.export_rejected", key.actor, None,
                          {"audience_request": export_id}, conn=conn)
    return {"id": export_id, "state": "rejected"}
