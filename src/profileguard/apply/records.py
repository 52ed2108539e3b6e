"""Operational tables of the applications: campaign sends (frequency caps) and quote logs.

They live in the operational database next to consents (SQLAlchemy Core, SQLite or
PostgreSQL) under their own ``MetaData`` and are created on first use with ``checkfirst``,
so this room adds tables without a migration of the shared schema. Users appear by
pseudonymous id only.
"""

from __future__ import annotations

import weakref

import sqlalchemy as sa

from profileguard.store.operational import OperationalStore

metadata = sa.MetaData()

campaign_sends = sa.Table(
    "apply_campaign_sends",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("campaign", sa.String(128), nullable=False),
    sa.Column("user_pid", sa.String(64), nullable=False),
    sa.Column("channel", sa.String(16), nullable=False),
    sa.Column("local_day", sa.String(10), nullable=False),  # YYYY-MM-DD in the send's zone
    sa.Column("sent_at", sa.DateTime(timezone=True), nullable=False),
    sa.Index("ix_apply_campaign_sends_cap", "user_pid", "channel", "local_day"),
)

price_quotes = sa.Table(
    "apply_price_quotes",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("user_pid", sa.String(64), nullable=False, index=True),
    sa.Column("item_id", sa.String(64), nullable=False),
    sa.Column("quoted_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("bucket", sa.String(32), nullable=False),
    sa.Column("factor_key", sa.String(512), nullable=False),
    sa.Column("factors", sa.Text, nullable=False),  # canonical JSON
    sa.Column("offered", sa.Float, nullable=False),  # what the pricing function said
    sa.Column("price", sa.Float, nullable=False),  # what the guard let through
    sa.Column("reference", sa.Float, nullable=True),
    sa.Column("verdict", sa.String(16), nullable=False),  # accepted | review | refused
    sa.Column("reason", sa.Text, nullable=True),
    sa.Index("ix_apply_price_quotes_group", "item_id", "bucket", "factor_key"),
)

_ready: weakref.WeakSet[OperationalStore] = weakref.WeakSet()


def ensure_tables(store: OperationalStore) -> None:
    """Create this room's tables if missing (once per open store)."""
    if store in _ready:
        return
    with store.write() as conn:
        metadata.create_all(conn, checkfirst=True)
    _ready.add(store)
