"""Test oracle shared by the consent and audit tests: the record in force per key, folded
in Python from the whole consent log (what ``consents_current`` must hold)."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from profileguard.store import tables as t
from profileguard.store.operational import OperationalStore, as_utc


def in_force_from_log(store: OperationalStore) -> dict[tuple[str, str, str], Any]:
    """(user, purpose, recipient) → the latest log row (by given_at, then id)."""
    latest: dict[tuple[str, str, str], Any] = {}
    with store.read() as conn:
        for r in conn.execute(sa.select(t.consents)):
            key = (r.user_pid, r.purpose, r.recipient)
            old = latest.get(key)
            if old is None or (as_utc(r.given_at), r.id) > (as_utc(old.given_at), old.id):
                latest[key] = r
    return latest
