"""Aggregate statistics (no person-level data): for analysts, the dashboard and the public
transparency page (ALG 16 asks that the handling of rights and complaints be visible)."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from profileguard.server.audits import audit
from profileguard.server.state import ServerState
from profileguard.store import tables as t


def statistics(state: ServerState) -> dict[str, Any]:
    store = state.svc.store
    r, c, p = t.rights_requests.c, t.complaints.c, t.preferences.c
    with store.read() as conn:
        requests = [{"kind": k, "state": s, "count": int(n)} for k, s, n in conn.execute(
            sa.select(r.kind, r.state, sa.func.count()).group_by(r.kind, r.state)
            .order_by(r.kind, r.state))]
        done_in_time = int(conn.execute(sa.select(sa.func.count()).where(
            r.state.in_(["done", "refused"]), r.completed_at <= sa.func.coalesce(
                r.extended_until, r.deadline))).scalar_one())
        done = int(conn.execute(sa.select(sa.func.count()).where(
            r.state.in_(["done", "refused"]))).scalar_one())
        complaints = [{"kind": k, "state": s, "count": int(n)} for k, s, n in conn.execute(
            sa.select(c.kind, c.state, sa.func.count()).group_by(c.kind, c.state)
            .order_by(c.kind, c.state))]
        objected = int(conn.execute(sa.select(sa.func.count()).where(p.objected.is_(True))
                                    ).scalar_one())
        non_pers = int(conn.execute(sa.select(sa.func.count()).where(
            p.non_personalized.is_(True))).scalar_one())
    _ctx, result = audit(state)
    return {"consent_coverage": result.coverage, "rights_requests": requests,
            "rights_closed": done, "rights_closed_in_time": done_in_time,
            "complaints": complaints, "people_who_stopped_profiling": objected,
            "people_who_chose_non_personalized": non_pers}
