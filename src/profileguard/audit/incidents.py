"""Breach records (PIPL 57, GDPR 33): open, update, notify, close — every step in the ledger.

Who is affected is computed from the warehouse: the sources holding fields of the breached
categories, restricted to the time window when the source has a time column, counted as
distinct people. Notification drafts for the regulator and for individuals carry the PIPL
57 content (categories, cause, possible harm, remedies, what people can do, contact); for
EU data the GDPR 33 clock runs 72 hours from detection.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from profileguard.errors import ProfileguardError
from profileguard.manifest.model import Manifest
from profileguard.store import tables as t
from profileguard.store.engine import DuckDBEngine
from profileguard.store.engine import quote_ident as q
from profileguard.store.ledger import Ledger
from profileguard.store.operational import OperationalStore, as_utc, utcnow
from profileguard.taxonomy import covers

STATES = ("open", "notified", "closed")
CLOCK = dt.timedelta(hours=72)
DEFAULT_ADVICE = ("be wary of calls and messages that cite your orders; change your password; "
                  "ask us what we hold about you or to delete it")
EDITABLE = ("cause", "harm", "remedies", "advice", "contact", "delay_reason", "summary")


@dataclass(frozen=True)
class Affected:
    total: int
    by_category: dict[str, int]
    sources: list[str]


def affected_users(engine: DuckDBEngine, m: Manifest, categories: list[str],
                   start: dt.datetime | None, end: dt.datetime | None) -> Affected:
    """Distinct people whose data of ``categories`` sits in the warehouse (in the window)."""
    selects: dict[str, list[str]] = {}
    used: list[str] = []
    for name, src in m.sources.items():
        if not src.user or not engine.table_exists(name):
            continue
        columns = set(engine.columns(name))
        # a window limits records of events (orders, clicks); a person's master record
        # (key = person) was exposed whatever its registration time
        time_col = src.time if src.time in columns and src.key != src.user else None
        for col, decl in m.fields.get(name, {}).items():
            hit = [c for c in categories if covers(c, decl.category)]
            if not hit or col not in columns:
                continue
            where = [f"{q(col)} IS NOT NULL"]
            if time_col and start:
                where.append(f"{q(time_col)} >= TIMESTAMP '{start:%Y-%m-%d %H:%M:%S}'")
            if time_col and end:
                where.append(f"{q(time_col)} <= TIMESTAMP '{end:%Y-%m-%d %H:%M:%S}'")
            sql = (f"SELECT CAST({q(src.user)} AS VARCHAR) AS u FROM {q(name)} "
                   f"WHERE {' AND '.join(where)}")
            for c in hit:
                selects.setdefault(c, []).append(sql)
            if name not in used:
                used.append(name)
    by_category = {}
    for c in categories:
        parts = selects.get(c, [])
        by_category[c] = int(engine.query_rows(
            f"SELECT count(DISTINCT u) FROM ({' UNION ALL '.join(parts)})")[0][0]) if parts else 0
    every = [s for parts in selects.values() for s in parts]
    total = int(engine.query_rows(f"SELECT count(DISTINCT u) FROM ({' UNION ALL '.join(every)})"
                                  )[0][0]) if every else 0
    return Affected(total, by_category, used)


def _row(store: OperationalStore, incident_id: int) -> dict[str, Any]:
    with store.read() as conn:
        row = conn.execute(sa.select(t.incidents).where(t.incidents.c.id == incident_id)).first()
    if row is None:
        raise ProfileguardError(f"incident {incident_id} does not exist; see `profileguard "
                                "incident list`")
    return dict(row._mapping)


def get(store: OperationalStore, incident_id: int) -> dict[str, Any]:
    row = _row(store, incident_id)
    return {"id": row["id"], "title": row["title"], "state": row["state"],
            "detected_at": as_utc(row["detected_at"]).isoformat(), **dict(row["record"])}


def list_all(store: OperationalStore) -> list[dict[str, Any]]:
    with store.read() as conn:
        ids = [int(i) for i in conn.execute(sa.select(t.incidents.c.id).order_by(
            t.incidents.c.id)).scalars()]
    return [get(store, i) for i in ids]


def open_incident(store: OperationalStore, ledger: Ledger, m: Manifest, affected: Affected, *,
                  title: str, detected_at: dt.datetime, categories: list[str],
                  window: tuple[dt.datetime | None, dt.datetime | None], cause: str = "",
                  actor: str = "system") -> dict[str, Any]:
    detected = as_utc(detected_at)
    eu = "EU" in m.jurisdictions
    officer = m.organization.officer
    record: dict[str, Any] = {
        "what": title, "categories": categories,
        "window": [w.isoformat() if w else None for w in window],
        "affected": {"total": affected.total, "by_category": affected.by_category,
                     "sources": affected.sources},
        "cause": cause, "harm": "", "remedies": "", "advice": "",
        "contact": officer.contact if officer else (m.organization.contact or ""),
        "eu_data": eu, "notify_by": (detected + CLOCK).isoformat() if eu else None,
        "steps": [{"step": "open", "at": utcnow().isoformat()}],
    }
    now = utcnow()
    with store.write() as conn:
        new_id = int(conn.execute(t.incidents.insert().values(
            title=title, state="open", detected_at=detected, record=record, updated_at=now
        ).returning(t.incidents.c.id)).scalar_one())
        ledger.append("incident.open", actor, None, {
            "incident_id": new_id, "categories": categories, "affected": affected.total,
            "eu_data": eu}, conn=conn)
    return get(store, new_id)


def _save(store: OperationalStore, ledger: Ledger, incident_id: int, state: str,
          record: dict[str, Any], step: str, payload: dict[str, Any], actor: str) -> None:
    record["steps"] = [*record.get("steps", []), {"step": step, "at": utcnow().isoformat()}]
    with store.write() as conn:
        conn.execute(t.incidents.update().where(t.incidents.c.id == incident_id).values(
            state=state, record=record, updated_at=utcnow()))
        ledger.append(f"incident.{step}", actor, None, {"incident_id": incident_id, **payload},
                      conn=conn)


def update_incident(store: OperationalStore, ledger: Ledger, incident_id: int,
                    changes: dict[str, str], *, actor: str = "system") -> dict[str, Any]:
    row = _row(store, incident_id)
    if row["state"] == "closed":
        raise ProfileguardError(f"incident {incident_id} is closed; open a new one")
    unknown = [k for k in changes if k not in EDITABLE]
    if unknown:
        raise ProfileguardError(f"cannot set {', '.join(unknown)}; editable: "
                                f"{', '.join(EDITABLE)}")
    record = dict(row["record"])
    record.update(changes)
    _save(store, ledger, incident_id, str(row["state"]), record, "update",
          {"fields": sorted(changes)}, actor)
    return get(store, incident_id)


def drafts(incident: dict[str, Any], controller: str) -> dict[str, str]:
    """Notification drafts with the PIPL 57 items, for the regulator and for individuals."""
    cats = ", ".join(incident["categories"])
    n = incident["affected"]["total"]
    regulator = (
        f"To the personal-information protection authority — breach notification\n"
        f"Controller: {controller}\nIncident: {incident['what']} (detected "
        f"{incident['detected_at']})\nCategories of PI: {cats}\nPeople affected: {n}\n"
        f"Cause: {incident['cause']}\nPossible harm: {incident['harm']}\n"
        f"Remedies taken: {incident['remedies']}\nContact: {incident['contact']}\n")
    if incident.get("eu_data"):
        regulator += f"GDPR 33: to be notified by {incident['notify_by']}\n"
        if incident.get("delay_reason"):
            regulator += f"Reason for delay: {incident['delay_reason']}\n"
    individuals = (
        f"尊敬的用户 / Dear customer,\n{controller} detected an incident affecting your "
        f"personal information ({cats}).\n发生原因 Cause: {incident['cause']}\n"
        f"可能造成的危害 Possible harm: {incident['harm']}\n"
        f"我们已采取的补救措施 What we did: {incident['remedies']}\n"
        f"您可以采取的措施 What you can do: {incident.get('advice') or DEFAULT_ADVICE}\n"
        f"联系方式 Contact: {incident['contact']}\n")
    return {"regulator": regulator, "individuals": individuals}


def notify(store: OperationalStore, ledger: Ledger, incident_id: int, controller: str, *,
           at: dt.datetime | None = None, actor: str = "system") -> dict[str, Any]:
    """Record the notification with its content; refuses while a PIPL 57 item is empty."""
    inc = get(store, incident_id)
    missing = [k for k in ("cause", "harm", "remedies", "contact") if not inc.get(k)]
    if not inc["categories"]:
        missing.insert(0, "categories")
    if missing:
        raise ProfileguardError(
            f"incident {incident_id}: PIPL 57 notification needs {', '.join(missing)}; set them "
            f"with `profileguard incident update {incident_id} --cause … --harm … --remedies …`")
    when = as_utc(at) if at else utcnow()
    record = {k: v for k, v in inc.items() if k not in {"id", "title", "state", "detected_at"}}
    record["notification"] = {"categories": inc["categories"], "cause": inc["cause"],
                              "harm": inc["harm"], "remedies": inc["remedies"],
                              "contact": inc["contact"], "drafts": drafts(inc, controller)}
    record["notified_regulator_at"] = record["notified_individuals_at"] = when.isoformat()
    late = inc.get("eu_data") and when > dt.datetime.fromisoformat(inc["detected_at"]) + CLOCK
    _save(store, ledger, incident_id, "notified", record, "notify",
          {"late_72h": bool(late), "delay_reason_given": bool(inc.get("delay_reason"))}, actor)
    return get(store, incident_id)


def close(store: OperationalStore, ledger: Ledger, incident_id: int, summary: str, *,
          actor: str = "system") -> dict[str, Any]:
    row = _row(store, incident_id)
    if row["state"] != "notified":
        raise ProfileguardError(f"incident {incident_id} is {row['state']}; notify before "
                                "closing (`profileguard incident notify`)")
    if not summary.strip():
        raise ProfileguardError("closing needs --summary: what was done and learned")
    record = dict(row["record"])
    record["summary"] = summary
    _save(store, ledger, incident_id, "closed", record, "close", {}, actor)
    return get(store, incident_id)
