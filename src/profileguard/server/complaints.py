"""Complaints: a person reports a wrong tag, an unfair price or an unwanted message.

Each lands in the DPO's queue with the same deadline a rights request of the person's
jurisdiction gets (PIPL 50 asks for a convenient way to complain and a prompt answer;
GDPR 12(3): one month), and is written to the ledger (the text's digest, not the text).
"""

from __future__ import annotations

import datetime as dt
import hashlib
from typing import Any

import sqlalchemy as sa

from profileguard.errors import ProfileguardError
from profileguard.rights.deadlines import DeadlineRules
from profileguard.store import tables as t
from profileguard.store.ledger import Ledger
from profileguard.store.operational import OperationalStore, as_utc, utcnow

KINDS = ("wrong_tag", "unfair_price", "unwanted_marketing")
STATES = ("received", "resolved")
MAX_TEXT = 4000


def _row(r: Any) -> dict[str, Any]:
    return {"id": int(r["id"]), "user_pid": str(r["user_pid"]), "kind": str(r["kind"]),
            "text": str(r["text"]), "state": str(r["state"]),
            "received_at": as_utc(r["received_at"]).isoformat(),
            "deadline": as_utc(r["deadline"]).isoformat(), "resolution": r["resolution"]}


def file_complaint(store: OperationalStore, ledger: Ledger, pid: str, kind: str, text: str,
                   *, jurisdiction: str = "CN", actor: str = "subject") -> dict[str, Any]:
    if kind not in KINDS:
        raise ProfileguardError(f"complaint kind {kind!r} is not known; use one of "
                                f"{', '.join(KINDS)}")
    body = text.strip()
    if not body or len(body) > MAX_TEXT:
        raise ProfileguardError(f"describe the problem in 1 to {MAX_TEXT} characters")
    now = utcnow()
    deadline = DeadlineRules().initial(jurisdiction, now)
    with store.write() as conn:
        new_id = int(conn.execute(t.complaints.insert().values(
            user_pid=pid, kind=kind, text=body, state="received", received_at=now,
            deadline=deadline).returning(t.complaints.c.id)).scalar_one())
        ledger.append("complaint.received", actor, pid, {
            "complaint_id": new_id, "kind": kind, "deadline": deadline.isoformat(),
            "text_sha256": hashlib.sha256(body.encode("utf-8")).hexdigest()}, conn=conn)
    return get_complaint(store, new_id)


def get_complaint(store: OperationalStore, complaint_id: int) -> dict[str, Any]:
    with store.read() as conn:
        row = conn.execute(sa.select(t.complaints).where(t.complaints.c.id == complaint_id)
                           ).mappings().first()
    if row is None:
        raise ProfileguardError(f"complaint {complaint_id} does not exist")
    return _row(row)


def list_complaints(store: OperationalStore, *, pid: str | None = None,
                    state: str | None = None) -> list[dict[str, Any]]:
    c = t.complaints.c
    stmt = sa.select(t.complaints).order_by(c.deadline, c.id)
    if pid is not None:
        stmt = stmt.where(c.user_pid == pid)
    if state is not None:
        stmt = stmt.where(c.state == state)
    with store.read() as conn:
        return [_row(r) for r in conn.execute(stmt).mappings()]


def resolve_complaint(store: OperationalStore, ledger: Ledger, complaint_id: int,
                      resolution: str, *, actor: str) -> dict[str, Any]:
    text = resolution.strip()
    if not text:
        raise ProfileguardError("resolving a complaint needs the answer the person is told")
    with store.write() as conn:
        row = conn.execute(sa.select(t.complaints).where(t.complaints.c.id == complaint_id)
                           ).mappings().first()
        if row is None:
            raise ProfileguardError(f"complaint {complaint_id} does not exist")
        if row["state"] == "resolved":
            raise ProfileguardError(f"complaint {complaint_id} is already resolved")
        conn.execute(t.complaints.update().where(t.complaints.c.id == complaint_id).values(
            state="resolved", resolution=text))
        ledger.append("complaint.resolved", actor, str(row["user_pid"]), {
            "complaint_id": complaint_id,
            "resolution_sha256": hashlib.sha256(text.encode("utf-8")).hexdigest()}, conn=conn)
    return get_complaint(store, complaint_id)


def overdue(items: list[dict[str, Any]], at: dt.datetime | None = None) -> list[dict[str, Any]]:
    now = (at or utcnow()).isoformat()
    return [c for c in items if c["state"] != "resolved" and c["deadline"] < now]
