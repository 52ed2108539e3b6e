"""The ConsentBook: what each person decided, and "may we?" for every other stage.

Consents are an append-only history per user × purpose × recipient; the latest record
(by ``given_at``, then insertion order) is the one in force. Every change is written to the
ledger in the same transaction as the row, so the history and the ledger cannot disagree;
the same transaction folds the row into ``consents_current`` (the record in force per user ×
purpose × recipient, derived from the log: see :mod:`profileguard.store.consents_current`).
Users appear by pseudonymous id only.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import pyarrow as pa
import sqlalchemy as sa

from profileguard.consent import bulk, preferences
from profileguard.consent.decisions import (
    CONSENT_TYPES,
    STATUSES,
    ConsentRecord,
    Decision,
    Preference,
    decide,
    record_key,
    row_to_record,
)
from profileguard.consent.policy import ConsentPolicy
from profileguard.errors import ProfileguardError
from profileguard.store import consents_current
from profileguard.store import tables as t
from profileguard.store.engine import Engine
from profileguard.store.ledger import Ledger
from profileguard.store.operational import OperationalStore, as_utc, utcnow


def check_values(status: str, consent_type: str, where: str = "") -> None:
    if status not in STATUSES:
        raise ProfileguardError(f"{where}consent status {status!r} is not allowed; use one of "
                                f"{', '.join(STATUSES)}")
    if consent_type not in CONSENT_TYPES:
        raise ProfileguardError(f"{where}consent type {consent_type!r} is not allowed; use one "
                                f"of {', '.join(CONSENT_TYPES)}")


def _latest(
    conn: sa.Connection, user_pid: str, purpose: str, key: str, at: dt.datetime | None
) -> ConsentRecord | None:
    c = t.consents.c
    stmt = (
        sa.select(t.consents)
        .where(c.user_pid == user_pid, c.purpose == purpose, c.recipient == key)
        .order_by(c.given_at.desc(), c.id.desc())
        .limit(1)
    )
    if at is not None:
        stmt = stmt.where(c.given_at <= as_utc(at))
    row = conn.execute(stmt).first()
    return None if row is None else row_to_record(row._mapping)


class ConsentBook:
    """Consents, preferences and tag overrides of every user, with their ledger entries."""

    def __init__(
        self,
        store: OperationalStore,
        policy: ConsentPolicy | None = None,
        ledger: Ledger | None = None,
    ) -> None:
        self.store = store
        self.policy = policy or ConsentPolicy()
        self.ledger = ledger or Ledger(store)

    # -- writing ------------------------------------------------------------------------

    def record(
        self,
        user_pid: str,
        purpose: str,
        status: str,
        *,
        consent_type: str = "general",
        recipient: str | None = None,
        notice_version: str | None = None,
        surface: str | None = None,
        pre_ticked: bool = False,
        bundled: bool = False,
        clicks_to_give: int | None = None,
        clicks_to_withdraw: int | None = None,
        source: str = "api",
        given_at: dt.datetime | None = None,
        actor: str = "system",
    ) -> ConsentRecord:
        """Append one consent record and its ledger entry in one transaction."""
        check_values(status, consent_type)
        now = utcnow()
        values: dict[str, Any] = {
            "user_pid": user_pid,
            "purpose": purpose,
            "recipient": recipient or "",
            "status": status,
            "consent_type": consent_type,
            "notice_version": notice_version,
            "surface": surface,
            "pre_ticked": pre_ticked,
            "bundled": bundled,
            "clicks_to_give": clicks_to_give,
            "clicks_to_withdraw": clicks_to_withdraw,
            "source": source,
            "given_at": as_utc(given_at) if given_at else now,
            "recorded_at": now,
        }
        with self.store.write() as conn:
            new_id = conn.execute(
                t.consents.insert().values(**values).returning(t.consents.c.id)
            ).scalar_one()
            consents_current.put(conn, int(new_id), values)
            self.ledger.append(
                f"consent.{status}",
                actor,
                user_pid,
                {
                    "consent_id": int(new_id),
                    "purpose": purpose,
                    "recipient": values["recipient"],
                    "consent_type": consent_type,
                    "notice_version": notice_version,
                    "surface": surface,
                    "pre_ticked": pre_ticked,
                    "bundled": bundled,
                    "source": source,
                    "given_at": values["given_at"].isoformat(),
                },
                conn=conn,
            )
        return row_to_record({**values, "id": new_id})

    def grant(self, user_pid: str, purpose: str, **kwargs: Any) -> ConsentRecord:
        return self.record(user_pid, purpose, "granted", **kwargs)

    def refuse(self, user_pid: str, purpose: str, **kwargs: Any) -> ConsentRecord:
        return self.record(user_pid, purpose, "refused", **kwargs)

    def withdraw(
        self, user_pid: str, purpose: str, *, recipient: str | None = None, **kwargs: Any
    ) -> ConsentRecord:
        """Withdraw the consent in force (PIPL 15); keeps its type and notice version."""
        current = self.latest(user_pid, purpose, recipient=recipient)
        if current is not None:
            kwargs.setdefault("consent_type", current.consent_type)
            kwargs.setdefault("notice_version", current.notice_version)
        return self.record(user_pid, purpose, "withdrawn", recipient=recipient, **kwargs)

    # -- reading ------------------------------------------------------------------------

    def latest(
        self,
        user_pid: str,
        purpose: str,
        *,
        recipient: str | None = None,
        at: dt.datetime | None = None,
    ) -> ConsentRecord | None:
        with self.store.read() as conn:
            return _latest(conn, user_pid, purpose, recipient or "", at)

    def history(self, user_pid: str, purpose: str | None = None) -> list[ConsentRecord]:
        c = t.consents.c
        stmt = sa.select(t.consents).where(c.user_pid == user_pid).order_by(c.given_at, c.id)
        if purpose is not None:
            stmt = stmt.where(c.purpose == purpose)
        with self.store.read() as conn:
            return [row_to_record(r._mapping) for r in conn.execute(stmt)]

    def in_force(self, user_pid: str) -> list[ConsentRecord]:
        """The record in force for each purpose × recipient the user ever decided on."""
        latest: dict[tuple[str, str], ConsentRecord] = {}
        for rec in self.history(user_pid):
            latest[(rec.purpose, rec.recipient)] = rec
        return sorted(latest.values(), key=lambda r: (r.purpose, r.recipient))

    def allows(
        self,
        user_pid: str,
        purpose: str,
        *,
        categories: Sequence[str] = (),
        recipient: str | None = None,
        at: dt.datetime | None = None,
        birth_date: dt.date | None = None,
    ) -> Decision:
        """May ``purpose`` (with these categories, to this recipient) use this user's data?"""
        when = as_utc(at) if at else utcnow()
        key = record_key(self.policy, recipient)
        with self.store.read() as conn:
            record = _latest(conn, user_pid, purpose, key, when)
            preference = preferences.get_in(conn, user_pid)
        if birth_date is None and self.policy.birth_date_of is not None:
            birth_date = self.policy.birth_date_of(user_pid)
        return decide(
            self.policy,
            purpose,
            record,
            categories=categories,
            recipient=recipient,
            preference=preference,
            birth_date=birth_date,
            at=when,
        )

    # -- preferences and tag overrides (see preferences.py) -----------------------------

    def preference(self, user_pid: str) -> Preference:
        return preferences.get(self.store, user_pid)

    def object(self, user_pid: str, objected: bool = True, *, actor: str = "system") -> None:
        """Object to profiling (PIPL 44, GDPR 21) or lift the objection."""
        preferences.set_flag(self.store, self.ledger, user_pid, "objected", objected, actor)

    def set_non_personalized(
        self, user_pid: str, chosen: bool = True, *, actor: str = "system"
    ) -> None:
        """Choose (or leave) results not based on personal characteristics (PIPL 24)."""
        preferences.set_flag(self.store, self.ledger, user_pid, "non_personalized", chosen,
                             actor)

    def objectors(self) -> set[str]:
        return preferences.flagged(self.store, "objected")

    def correct_tag(
        self, user_pid: str, tag: str, value: str, *, reason: str | None = None,
        actor: str = "system",
    ) -> int:
        return preferences.add_override(self.store, self.ledger, user_pid, tag, "correct",
                                        value, reason, actor)

    def delete_tag(
        self, user_pid: str, tag: str, *, reason: str | None = None, actor: str = "system"
    ) -> int:
        return preferences.add_override(self.store, self.ledger, user_pid, tag, "delete",
                                        None, reason, actor)

    def retire_override(self, override_id: int, *, actor: str = "system") -> None:
        preferences.retire_override(self.store, self.ledger, override_id, actor)

    def overrides(self, user_pid: str | None = None) -> list[preferences.TagOverride]:
        return preferences.active_overrides(self.store, user_pid)

    # -- bulk (see bulk.py) -------------------------------------------------------------

    def decisions(
        self,
        purpose: str,
        *,
        categories: Sequence[str] = (),
        recipient: str | None = None,
        at: dt.datetime | None = None,
        users: Iterable[str] | None = None,
    ) -> pa.Table:
        """(user_pid, purpose, recipient, allowed, reason) for every known user."""
        return bulk.decisions(self, purpose, categories=categories, recipient=recipient,
                              at=at, users=users)

    def allowed_users(
        self,
        purpose: str,
        *,
        categories: Sequence[str] = (),
        recipient: str | None = None,
        at: dt.datetime | None = None,
    ) -> set[str]:
        table = bulk.decisions(self, purpose, categories=categories, recipient=recipient,
                               at=at, only_recorded=True)
        mask = table.column("allowed").to_pylist()
        return {u for u, ok in zip(table.column("user_pid").to_pylist(), mask, strict=True)
                if ok}

    def export_to_engine(
        self,
        engine: Engine,
        table_name: str,
        purposes: Sequence[str],
        *,
        categories: Mapping[str, Sequence[str]] | None = None,
        recipients: Mapping[str, Sequence[str]] | None = None,
        at: dt.datetime | None = None,
    ) -> int:
        return bulk.export_to_engine(self, engine, table_name, purposes, categories=categories,
                                     recipients=recipients, at=at)

    def import_arrow(
        self,
        data: pa.Table,
        *,
        batch_size: int = 20_000,
        actor: str = "import",
        source: str = "import",
    ) -> int:
        from profileguard.consent.importer import import_consents

        return import_consents(self, data, batch_size=batch_size, actor=actor, source=source)
