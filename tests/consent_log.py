"""Test oracle shared by the consent and audit tests: the record in force per key, folded
in Python from the whole consent log (what ``consents_current`` and the book's reads must
answer). A helper, not a test: the tests that import it hold the assertions."""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa

from profileguard.consent.decisions import ConsentRecord, row_to_record
from profileguard.store import tables as t
from profileguard.store.operational import OperationalStore


def in_force_from_log(store: OperationalStore, at: dt.datetime | None = None
                      ) -> dict[tuple[str, str, str], ConsentRecord]:
    """(user, purpose, recipient) → the record in force at ``at`` (None: the latest ever):
    the latest log row given at or before it, by given_at, then id."""
    latest: dict[tuple[str, str, str], ConsentRecord] = {}
    with store.read() as conn:
        for r in conn.execute(sa.select(t.consents)):
            rec = row_to_record(r._mapping)
            key = (rec.user_pid, rec.purpose, rec.recipient)
            old = latest.get(key)
            if (at is None or rec.given_at <= at) and (
                    old is None or (rec.given_at, rec.id or 0) > (old.given_at, old.id or 0)):
                latest[key] = rec
    return latest
