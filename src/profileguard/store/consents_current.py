"""``consents_current``: the consent record in force per user × purpose × recipient.

The consent log (``consents``) is append-only and stays the source of truth: every row is
pinned by a ledger entry (one per change, or a SHA-256 digest per import batch), so
``profileguard ledger verify`` proves it unaltered. Questions about *everyone's* current
state (the audit's coverage per purpose, separate consents per recipient, notice versions)
would otherwise scan and sort the whole log, ~10 rows a user. This table answers them with
a plain aggregate over one row per user × purpose × recipient.

It is DERIVED, never written on its own:

* :func:`put` (``ConsentBook.record``) and :func:`fold` (the bulk importer) run in the
  same transaction as the log append, so the log and this table commit or roll back
  together;
* the merge is "keep the later record" — later ``given_at``, then higher ``consents.id``,
  the same order every reader of the log uses — so folding a log row twice, or two writers
  folding at once on PostgreSQL (``ON CONFLICT`` waits for the other's row), still ends
  with the record in force;
* :func:`rebuild` recomputes it from the log (migration 4 does this once for an existing
  store; run it again after anyone edits ``consents`` by hand, e.g. a restore);
* erasure deletes a person's rows here together with their log rows.

The table holds what the audit and :func:`~profileguard.consent.decisions.decide` read; the
full record (surface, clicks, source) stays in the log row ``consent_id`` points to.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from profileguard.errors import ProfileguardError
from profileguard.store import tables as t

KEYS = ("user_pid", "purpose", "recipient")
VALUES = ("status", "consent_type", "notice_version", "pre_ticked", "bundled", "given_at")


def fold(conn: sa.Connection, first_id: int) -> None:
    """Merge the log rows with ``id >= first_id`` into the table.

    Call it in the transaction that appended those rows. Rows another transaction
    committed meanwhile (PostgreSQL) are merged again, which changes nothing.
    """
    _merge(conn, [t.consents.c.id >= first_id])


def put(conn: sa.Connection, consent_id: int, record: Mapping[str, Any]) -> None:
    """Merge one just-appended log row (its id and values) — :func:`fold` without reading
    the log back, for the one-record-at-a-time path."""
    row = {k: record[k] for k in (*KEYS, *VALUES)}
    conn.execute(_upsert(conn.dialect.name, None), {**row, "consent_id": consent_id})


def rebuild(conn: sa.Connection) -> int:
    """Recompute the whole table from the log; returns its rows (keys ever decided on).

    The secondary index is dropped while the table fills and built once afterwards, in
    one sorted pass, instead of being updated row by row.
    """
    indexes = list(t.consents_current.indexes)
    for index in indexes:
        index.drop(conn, checkfirst=True)
    conn.execute(sa.delete(t.consents_current))
    _merge(conn, [])
    for index in indexes:
        index.create(conn)
    count = sa.select(sa.func.count()).select_from(t.consents_current)
    return int(conn.execute(count).scalar_one())


def _latest_in(where: list[sa.ColumnElement[bool]]) -> sa.Select[Any]:
    """The latest log record per key among the rows matching ``where``."""
    c = t.consents.c
    rank = sa.func.row_number().over(
        partition_by=(c.user_pid, c.purpose, c.recipient),
        order_by=(c.given_at.desc(), c.id.desc())).label("rank_")
    inner = sa.select(*(c[k] for k in KEYS), c.id.label("consent_id"),
                      *(c[v] for v in VALUES), rank).where(*where).subquery()
    # the outer WHERE also settles SQLite's INSERT … SELECT … ON CONFLICT parsing ambiguity
    return sa.select(*(inner.c[k] for k in (*KEYS, "consent_id", *VALUES))).where(
        inner.c.rank_ == 1)


def _merge(conn: sa.Connection, where: list[sa.ColumnElement[bool]]) -> None:
    conn.execute(_upsert(conn.dialect.name, _latest_in(where)))


#: the single-row upsert per dialect, built once (its SQL is then cached by SQLAlchemy)
_SINGLE: dict[str, Any] = {}


def _upsert(dialect: str, source: sa.Select[Any] | None) -> Any:
    """``INSERT … ON CONFLICT DO UPDATE … WHERE later``: from ``source``, or one row of
    bound values when ``source`` is None."""
    if source is None and dialect in _SINGLE:
        return _SINGLE[dialect]
    if dialect == "sqlite":
        stmt: Any = sqlite.insert(t.consents_current)
    elif dialect == "postgresql":
        stmt = postgresql.insert(t.consents_current)
    else:
        raise ProfileguardError(f"consents_current: the {dialect!r} database is not supported "
                                "(use SQLite or PostgreSQL)")
    if source is not None:
        stmt = stmt.from_select((*KEYS, "consent_id", *VALUES), source)
    cur = t.consents_current.c
    new = stmt.excluded
    later = sa.or_(new.given_at > cur.given_at,
                   sa.and_(new.given_at == cur.given_at, new.consent_id > cur.consent_id))
    stmt = stmt.on_conflict_do_update(
        index_elements=[cur[k] for k in KEYS],
        set_={name: new[name] for name in ("consent_id", *VALUES)},
        where=later)
    if source is None:
        _SINGLE[dialect] = stmt
    return stmt


def last_log_id(conn: sa.Connection) -> int:
    """The highest ``consents.id`` this transaction sees (0 for an empty log)."""
    return int(conn.execute(sa.select(sa.func.max(t.consents.c.id))).scalar() or 0)
