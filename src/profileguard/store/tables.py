"""The operational database's tables (SQLAlchemy Core), one ``MetaData`` for all rooms.

The operational store keeps what people decided and asked for — consents, objections,
tag corrections, rights requests — plus the identity map and the ledger. Users appear
here by their pseudonymous id (``user_pid``); the raw id lives only in ``identity_map``,
so erasure removes one row there and the rest of the history stays unlinkable.
"""

from __future__ import annotations

import sqlalchemy as sa

metadata = sa.MetaData()

schema_version = sa.Table(
    "schema_version",
    metadata,
    sa.Column("version", sa.Integer, primary_key=True),
    sa.Column("description", sa.String(200), nullable=False),
    sa.Column("applied_at", sa.DateTime(timezone=True), nullable=False),
)

identity_map = sa.Table(
    "identity_map",
    metadata,
    sa.Column("user_pid", sa.String(64), primary_key=True),
    sa.Column("user_id", sa.String(128), nullable=False, unique=True),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
)

consents = sa.Table(
    "consents",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    # no index of its own: ix_consents_lookup begins with it
    sa.Column("user_pid", sa.String(64), nullable=False),
    sa.Column("purpose", sa.String(64), nullable=False),
    # '' when the consent is not about a recipient (third party / cross-border)
    sa.Column("recipient", sa.String(128), nullable=False, server_default=""),
    sa.Column("status", sa.String(16), nullable=False),  # granted | refused | withdrawn
    sa.Column("consent_type", sa.String(16), nullable=False),  # general|separate|explicit|guardian
    sa.Column("notice_version", sa.String(32), nullable=True),
    sa.Column("surface", sa.String(64), nullable=True),
    sa.Column("pre_ticked", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("bundled", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("clicks_to_give", sa.Integer, nullable=True),
    sa.Column("clicks_to_withdraw", sa.Integer, nullable=True),
    sa.Column("source", sa.String(64), nullable=False, server_default="api"),
    sa.Column("given_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
    sa.Index("ix_consents_lookup", "user_pid", "purpose", "recipient", "given_at"),
)

preferences = sa.Table(
    "preferences",
    metadata,
    sa.Column("user_pid", sa.String(64), primary_key=True),
    # objected to profiling (PIPL 44, GDPR 21): no tags, no personalization, out of audiences
    sa.Column("objected", sa.Boolean, nullable=False, server_default=sa.false()),
    # chose the option not targeting personal characteristics (PIPL 24, ALG 17, ECL 18)
    sa.Column("non_personalized", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
)

tag_overrides = sa.Table(
    "tag_overrides",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("user_pid", sa.String(64), nullable=False, index=True),
    sa.Column("tag", sa.String(64), nullable=False),
    sa.Column("action", sa.String(16), nullable=False),  # correct | delete
    sa.Column("value", sa.Text, nullable=True),
    sa.Column("reason", sa.Text, nullable=True),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    # an override is retired (not deleted) when the person withdraws it
    sa.Column("active", sa.Boolean, nullable=False, server_default=sa.true()),
)

rights_requests = sa.Table(
    "rights_requests",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("user_pid", sa.String(64), nullable=False, index=True),
    sa.Column("kind", sa.String(32), nullable=False),
    sa.Column("state", sa.String(16), nullable=False),
    sa.Column("jurisdiction", sa.String(8), nullable=False),
    sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("deadline", sa.DateTime(timezone=True), nullable=False),
    sa.Column("extended_until", sa.DateTime(timezone=True), nullable=True),
    sa.Column("extension_notice", sa.Text, nullable=True),
    sa.Column("refusal_reason", sa.Text, nullable=True),
    sa.Column("details", sa.JSON, nullable=True),
    sa.Column("result", sa.JSON, nullable=True),
    sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("completed_at", sa.DateTime(timezone=True), nullable=True),
)

tombstones = sa.Table(
    "tombstones",
    metadata,
    sa.Column("user_pid", sa.String(64), primary_key=True),
    sa.Column("erased_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("request_id", sa.Integer, nullable=True),
)

exports = sa.Table(
    "exports",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("kind", sa.String(32), nullable=False),  # audience | subject_export | release
    sa.Column("recipient", sa.String(128), nullable=True),
    sa.Column("purpose", sa.String(64), nullable=True),
    sa.Column("path", sa.Text, nullable=False),
    sa.Column("rows", sa.Integer, nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
)

export_members = sa.Table(
    "export_members",
    metadata,
    sa.Column("export_id", sa.Integer, sa.ForeignKey("exports.id"), nullable=False),
    sa.Column("user_pid", sa.String(64), nullable=False, index=True),
    sa.PrimaryKeyConstraint("export_id", "user_pid"),
)

ledger = sa.Table(
    "ledger",
    metadata,
    sa.Column("seq", sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True,
              autoincrement=False),
    sa.Column("ts", sa.String(40), nullable=False),  # ISO 8601 UTC, part of the hashed entry
    sa.Column("kind", sa.String(64), nullable=False),
    sa.Column("actor", sa.String(128), nullable=False),
    sa.Column("subject", sa.String(64), nullable=True),  # pseudonymous id, never a raw identifier
    sa.Column("payload", sa.Text, nullable=False),  # canonical JSON
    sa.Column("prev_hash", sa.String(64), nullable=False),
    sa.Column("hash", sa.String(64), nullable=False),
)

api_keys = sa.Table(
    "api_keys",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("name", sa.String(128), nullable=False),
    sa.Column("role", sa.String(32), nullable=False),
    sa.Column("shop_id", sa.String(64), nullable=True),
    sa.Column("key_hash", sa.String(128), nullable=False, unique=True),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
)

incidents = sa.Table(
    "incidents",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("title", sa.Text, nullable=False),
    sa.Column("state", sa.String(16), nullable=False),
    sa.Column("detected_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("record", sa.JSON, nullable=False),
    sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
)

complaints = sa.Table(
    "complaints",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("user_pid", sa.String(64), nullable=False, index=True),
    sa.Column("kind", sa.String(32), nullable=False),  # wrong_tag | unfair_price | unwanted_marketing
    sa.Column("text", sa.Text, nullable=False),
    sa.Column("state", sa.String(16), nullable=False),
    sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("deadline", sa.DateTime(timezone=True), nullable=False),
    sa.Column("resolution", sa.Text, nullable=True),
)

# -- added by the consent/rights/ledger work (migration 2 creates these on older databases) --

#: find an entry by its hash / its successor by prev_hash when diagnosing a broken chain
ix_ledger_hash = sa.Index("ix_ledger_hash", ledger.c.hash)
ix_ledger_prev_hash = sa.Index("ix_ledger_prev_hash", ledger.c.prev_hash)
#: the rights queue: open requests by state and deadline (overdue query)
ix_rights_requests_open = sa.Index(
    "ix_rights_requests_open", rights_requests.c.state, rights_requests.c.deadline
)

# -- applications (apply/records.py): frequency caps and the quote log ----------------

apply_campaign_sends = sa.Table(
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

apply_price_quotes = sa.Table(
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

# -- derived: the consent record in force (migration 4; store/consents_current.py) -------

#: One row per user × purpose × recipient: the log record in force (latest ``given_at``,
#: then highest ``consents.id``). DERIVED from ``consents``, which stays the tamper-evident
#: source of truth (its rows are pinned by the ledger); this table is written in the same
#: transaction as every log append and can be rebuilt from the log at any time
#: (:func:`profileguard.store.consents_current.rebuild`).
consents_current = sa.Table(
    "consents_current",
    metadata,
    sa.Column("user_pid", sa.String(64), nullable=False),
    sa.Column("purpose", sa.String(64), nullable=False),
    sa.Column("recipient", sa.String(128), nullable=False),
    sa.Column("consent_id", sa.Integer, nullable=False),  # consents.id of the record in force
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("consent_type", sa.String(16), nullable=False),
    sa.Column("notice_version", sa.String(32), nullable=True),
    sa.Column("pre_ticked", sa.Boolean, nullable=False),
    sa.Column("bundled", sa.Boolean, nullable=False),
    sa.Column("given_at", sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint("user_pid", "purpose", "recipient"),
    # covering: the audit's GROUP BY walks it in order (no sort), bulk decisions read one
    # purpose × recipient range of it without touching the table
    sa.Index("ix_consents_current_facts", "purpose", "recipient", "status", "consent_type",
             "pre_ticked", "bundled", "notice_version", "given_at", "user_pid"),
)
