"""Operational tables only the server uses, created beside the shared ones on start.

* ``api_key_purposes``: the purposes a merchant key is authorized for (the "reasonable
  use" duty: a merchant reads its customers' profiles only for what it was granted).
* ``audience_requests``: audience exports asked for by one staff member and approved (or
  rejected) by another before the file is written.
"""

from __future__ import annotations

import sqlalchemy as sa

from profileguard.store.operational import OperationalStore

metadata = sa.MetaData()

api_key_purposes = sa.Table(
    "api_key_purposes",
    metadata,
    sa.Column("key_id", sa.Integer, nullable=False, index=True),
    sa.Column("purpose", sa.String(64), nullable=False),
    sa.PrimaryKeyConstraint("key_id", "purpose"),
)

audience_requests = sa.Table(
    "audience_requests",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("expression", sa.Text, nullable=False),
    sa.Column("purpose", sa.String(64), nullable=False),
    sa.Column("recipient", sa.String(128), nullable=False),
    sa.Column("state", sa.String(16), nullable=False),  # pending | approved | rejected
    sa.Column("requested_by", sa.Integer, nullable=False),
    sa.Column("decided_by", sa.Integer, nullable=True),
    sa.Column("reason", sa.Text, nullable=True),
    sa.Column("export_id", sa.Integer, nullable=True),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
)


def ensure_tables(store: OperationalStore) -> None:
    with store.write() as conn:
        metadata.create_all(conn, checkfirst=True)
