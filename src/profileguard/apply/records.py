"""Operational tables of the applications: campaign sends (frequency caps) and quote logs.

They live in the operational database next to consents (SQLAlchemy Core, SQLite or
PostgreSQL), declared in :mod:`profileguard.store.tables` and created by migration 3.
Users appear by pseudonymous id only.
"""

from __future__ import annotations

import weakref

from profileguard.store import tables as t
from profileguard.store.operational import OperationalStore

# the tables are part of the shared schema (store/tables.py, migration 3) so that erasure
# and its verification reach them like every other operational table
campaign_sends = t.apply_campaign_sends
price_quotes = t.apply_price_quotes

_ready: weakref.WeakSet[OperationalStore] = weakref.WeakSet()


def ensure_tables(store: OperationalStore) -> None:
    """Create this room's tables if missing (once per open store)."""
    if store in _ready:
        return
    with store.write() as conn:
        for table in (campaign_sends, price_quotes):
            table.create(conn, checkfirst=True)
    _ready.add(store)
