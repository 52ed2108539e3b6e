"""Objection, the non-personalized choice, and a person's corrections of their own tags.

* ``objected`` (PIPL 44, GDPR 21): no profiling, no tags, out of every audience.
* ``non_personalized`` (PIPL 24, ECL 18, ALG 17): results not based on personal traits.
* Tag overrides: ``correct`` (the person's value wins over the computed one) and
  ``delete`` (the tag stays gone in every later build). An override is *retired*, never
  deleted, when the person takes it back, so the history is kept.

Every change is a ledger entry committed with the row it records. Tag values a person
types may be anything, so the ledger records that a correction happened and the row id,
not the value.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Literal

import sqlalchemy as sa

from profileguard.consent.decisions import Preference
from profileguard.errors import ProfileguardError
from profileguard.store import tables as t
from profileguard.store.ledger import Ledger
from profileguard.store.operational import OperationalStore, as_utc, utcnow

Flag = Literal["objected", "non_personalized"]
OverrideAction = Literal["correct", "delete"]


@dataclass(frozen=True)
class TagOverride:
    id: int
    user_pid: str
    tag: str
    action: str
    value: str | None
    reason: str | None
    created_at: dt.datetime
    active: bool


def get(store: OperationalStore, user_pid: str) -> Preference:
    with store.read() as conn:
        return get_in(conn, user_pid)


_PREFERENCE = sa.select(t.preferences.c.objected, t.preferences.c.non_personalized).where(
    t.preferences.c.user_pid == sa.bindparam("user_pid"))
_ACTIVE = sa.select(t.tag_overrides).where(t.tag_overrides.c.active.is_(True)).order_by(
    t.tag_overrides.c.id)
#: one person's active overrides, built once (read on every profile read)
_ACTIVE_OF = _ACTIVE.where(t.tag_overrides.c.user_pid == sa.bindparam("user_pid"))


def get_in(conn: sa.Connection, user_pid: str) -> Preference:
    row = conn.execute(_PREFERENCE, {"user_pid": user_pid}).first()
    return Preference() if row is None else Preference(bool(row[0]), bool(row[1]))


def all_preferences(conn: sa.Connection) -> dict[str, Preference]:
    p = t.preferences.c
    rows = conn.execute(
        sa.select(p.user_pid, p.objected, p.non_personalized).where(
            sa.or_(p.objected, p.non_personalized)
        )
    )
    return {str(r[0]): Preference(bool(r[1]), bool(r[2])) for r in rows}


def flagged(store: OperationalStore, flag: Flag) -> set[str]:
    column = t.preferences.c[flag]
    with store.read() as conn:
        return {
            str(u)
            for u in conn.execute(
                sa.select(t.preferences.c.user_pid).where(column.is_(True))
            ).scalars()
        }


def set_flag(
    store: OperationalStore, ledger: Ledger, user_pid: str, flag: Flag, value: bool, actor: str
) -> None:
    p = t.preferences.c
    now = utcnow()
    with store.write() as conn:
        exists = conn.execute(sa.select(p.user_pid).where(p.user_pid == user_pid)).first()
        if exists is None:
            conn.execute(t.preferences.insert().values(user_pid=user_pid, updated_at=now,
                                                       **{flag: value}))
        else:
            conn.execute(t.preferences.update().where(p.user_pid == user_pid).values(
                updated_at=now, **{flag: value}))
        ledger.append(f"preference.{flag}", actor, user_pid, {"value": value}, conn=conn)


def add_override(
    store: OperationalStore,
    ledger: Ledger,
    user_pid: str,
    tag: str,
    action: OverrideAction,
    value: str | None,
    reason: str | None,
    actor: str,
) -> int:
    """Record a correction or deletion; earlier active overrides of the tag are retired."""
    if action == "correct" and value is None:
        raise ProfileguardError(f"correcting tag {tag!r} needs the corrected value")
    o = t.tag_overrides.c
    with store.write() as conn:
        retired = conn.execute(
            t.tag_overrides.update()
            .where(o.user_pid == user_pid, o.tag == tag, o.active.is_(True))
            .values(active=False)
        ).rowcount
        new_id = conn.execute(
            t.tag_overrides.insert().values(
                user_pid=user_pid, tag=tag, action=action, value=value, reason=reason,
                created_at=utcnow(), active=True,
            ).returning(o.id)
        ).scalar_one()
        ledger.append(
            f"tag.{action}", actor, user_pid,
            {"override_id": int(new_id), "tag": tag, "retired_previous": int(retired or 0)},
            conn=conn,
        )
    return int(new_id)


def retire_override(store: OperationalStore, ledger: Ledger, override_id: int, actor: str) -> None:
    o = t.tag_overrides.c
    with store.write() as conn:
        row = conn.execute(
            sa.select(o.user_pid, o.tag, o.active).where(o.id == override_id)
        ).first()
        if row is None:
            raise ProfileguardError(f"tag override {override_id} does not exist")
        if not row[2]:
            raise ProfileguardError(f"tag override {override_id} is already retired")
        conn.execute(t.tag_overrides.update().where(o.id == override_id).values(active=False))
        ledger.append("tag.retire", actor, str(row[0]),
                      {"override_id": override_id, "tag": str(row[1])}, conn=conn)


def active_overrides(store: OperationalStore, user_pid: str | None = None) -> list[TagOverride]:
    with store.read() as conn:
        return overrides_in(conn, user_pid)


def overrides_in(conn: sa.Connection, user_pid: str | None = None) -> list[TagOverride]:
    """:func:`active_overrides` inside a transaction the caller holds."""
    rows = (conn.execute(_ACTIVE) if user_pid is None
            else conn.execute(_ACTIVE_OF, {"user_pid": user_pid}))
    return [
        TagOverride(
            id=int(r.id), user_pid=str(r.user_pid), tag=str(r.tag), action=str(r.action),
            value=r.value, reason=r.reason, created_at=as_utc(r.created_at),
            active=bool(r.active),
        )
        for r in rows
    ]
