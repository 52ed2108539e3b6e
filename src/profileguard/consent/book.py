"""The ConsentBook: what each person decided, and "may we?" for every other stage.

Consents are an append-only history per user × purpose × recipient; the latest record
(by ``given_at``, then insertion order) is the one in force. Every change is written to the
ledger in the same transaction as the row, so the history and the ledger cannot disagree;
the same transaction folds the row into ``consents_current`` (the record in force per user ×
purpose × recipient, derived from the log: see :mod:`profileguard.store.consents_current`).
"Which record is in force?" is read from that table (one keyed row instead of a walk of the
log); the log is folded only for a decision as of a moment before that record was given.
Users appear by pseudonymous id only.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
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


_cc = t.consents_current.c
#: the full log row of each record in force of one person (``consents_current`` points at
#: it); the hot reads below are built once, so a read only binds its values
_IN_FORCE_OF = sa.select(t.consents).join(
    t.consents_current, _cc.consent_id == t.consents.c.id).where(
    _cc.user_pid == sa.bindparam("user_pid"))
_IN_FORCE_FOR = _IN_FORCE_OF.where(_cc.purpose.in_(sa.bindparam("purposes", expanding=True)))
_IN_FORCE_KEY = _IN_FORCE_OF.where(_cc.purpose == sa.bindparam("purpose"),
                                   _cc.recipient == sa.bindparam("recipient"))


def _latest(
    conn: sa.Connection, user_pid: str, purpose: str, key: str, at: dt.datetime | None
) -> ConsentRecord | None:
    """The record in force at ``at`` (None: the latest ever): read from
    ``consents_current``; the log is folded only when that record is dated after ``at``."""
    row = conn.execute(_IN_FORCE_KEY, {"user_pid": user_pid, "purpose": purpose,
                                       "recipient": key}).first()
    return _as_of(conn, None if row is None else row_to_record(row._mapping), at)


def _as_of(conn: sa.Connection, latest: ConsentRecord | None,
           at: dt.datetime | None) -> ConsentRecord | None:
    """The record in force at ``at``, given ``latest`` (the key's record in
    ``consents_current``): itself, unless it was given after ``at`` — then the log's."""
    if latest is None or at is None or latest.given_at <= as_utc(at):
        return latest  # nothing in the log for this key either, or the log agrees
    return _latest_in_log(conn, latest.user_pid, latest.purpose, latest.recipient, at)


def _latest_in_log(
    conn: sa.Connection, user_pid: str, purpose: str, key: str, at: dt.datetime
) -> ConsentRecord | None:
    """The latest log record given at or before ``at`` (a decision "as of" the past)."""
    c = t.consents.c
    stmt = (
        sa.select(t.consents)
        .where(c.user_pid == user_pid, c.purpose == purpose, c.recipient == key,
               c.given_at <= as_utc(at))
        .order_by(c.given_at.desc(), c.id.desc())
        .limit(1)
    )
    row = conn.execute(stmt).first()
    return None if row is None else row_to_record(row._mapping)


def _decide_for(
    policy: ConsentPolicy,
    user_pid: str,
    purpose: str,
    record: ConsentRecord | None,
    preference: Preference,
    *,
    categories: Sequence[str],
    recipient: str | None,
    at: dt.datetime,
    birth_date: dt.date | None,
) -> Decision:
    if birth_date is None and policy.birth_date_of is not None:
        birth_date = policy.birth_date_of(user_pid)
    return decide(policy, purpose, record, categories=categories, recipient=recipient,
                  preference=preference, birth_date=birth_date, at=at)


@dataclass(frozen=True)
class Standing:
    """What one person had decided at ``at``, read in one transaction: the preference
    flags, the active tag overrides and every consent record in force.

    A read that needs several answers about one person (a profile: objection,
    corrections, the consent of each purpose shown) asks the store once instead of once
    per answer; :meth:`allows` gives what :meth:`ConsentBook.allows` gives at ``at``.
    """

    policy: ConsentPolicy
    user_pid: str
    at: dt.datetime
    preference: Preference
    overrides: tuple[preferences.TagOverride, ...]
    #: the record in force at ``at`` per (purpose, recipient key), of the purposes read
    records: Mapping[tuple[str, str], ConsentRecord]
    #: the purposes whose records were read (None: all)
    purposes: frozenset[str] | None = None

    def allows(
        self, purpose: str, *, categories: Sequence[str] = (), recipient: str | None = None
    ) -> Decision:
        if self.purposes is not None and purpose not in self.purposes:
            raise ProfileguardError(f"the consents of {purpose!r} were not read for this "
                                    "standing; read it with that purpose")
        record = self.records.get((purpose, record_key(self.policy, recipient)))
        return _decide_for(self.policy, self.user_pid, purpose, record, self.preference,
                           categories=categories, recipient=recipient, at=self.at,
                           birth_date=None)


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
        with self.store.read() as conn:
            rows = conn.execute(_IN_FORCE_OF.order_by(_cc.purpose, _cc.recipient),
                                {"user_pid": user_pid})
            return [row_to_record(r._mapping) for r in rows]

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
        return _decide_for(self.policy, user_pid, purpose, record, preference,
                           categories=categories, recipient=recipient, at=when,
                           birth_date=birth_date)

    def standing(self, user_pid: str, purposes: Collection[str] | None = None) -> Standing:
        """Everything the person has decided, now, in one transaction (see
        :class:`Standing`); consents only of ``purposes`` when given."""
        now = utcnow()
        records: dict[tuple[str, str], ConsentRecord] = {}
        with self.store.read() as conn:
            preference = preferences.get_in(conn, user_pid)
            overrides = tuple(preferences.overrides_in(conn, user_pid))
            params: dict[str, Any] = {"user_pid": user_pid}
            if purposes is not None:
                params["purposes"] = list(purposes)
            for row in conn.execute(_IN_FORCE_OF if purposes is None else _IN_FORCE_FOR,
                                    params):
                latest = row_to_record(row._mapping)
                found = _as_of(conn, latest, now)
                if found is not None:
                    records[(latest.purpose, latest.recipient)] = found
        return Standing(self.policy, user_pid, now, preference, overrides, records,
                        None if purposes is None else frozenset(purposes))

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
        birth_dates: pa.Table | None = None,
    ) -> pa.Table:
        """(user_pid, purpose, recipient, allowed, reason) for every known user;
        ``birth_dates``: the policy's birth-date lookup as a table (see :mod:`bulk`)."""
        return bulk.decisions(self, purpose, categories=categories, recipient=recipient,
                              at=at, users=users, birth_dates=birth_dates)

    def allowed_users(
        self,
        purpose: str,
        *,
        categories: Sequence[str] = (),
        recipient: str | None = None,
        at: dt.datetime | None = None,
    ) -> set[str]:
        return set(bulk.allowed_users(self, purpose, categories=categories,
                                      recipient=recipient, at=at).to_pylist())

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
        """Import a consent history in one transaction, one ledger entry per batch of
        ``batch_size`` rows; returns the rows imported (see :mod:`.importer`)."""
        from profileguard.consent.importer import import_consents

        return import_consents(self, data, batch_size=batch_size, actor=actor, source=source)
