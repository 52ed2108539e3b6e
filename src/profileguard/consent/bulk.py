"""Consent decisions for every user at once, for builds and audiences.

One SQL query fetches the record in force per user (from ``consents_current``, or, for a
moment before the latest records, a window function over the history, on SQLite and
PostgreSQL alike), then each row goes through the same :func:`decide` as a
single check, so bulk and single answers cannot drift apart. The result is an Arrow
table, loaded into the analytical engine in one call (no row-by-row inserts).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import pyarrow as pa
import sqlalchemy as sa

from profileguard.consent import preferences
from profileguard.consent.decisions import ConsentRecord, decide, record_key, row_to_record
from profileguard.store import tables as t
from profileguard.store.engine import Engine
from profileguard.store.operational import as_utc, utcnow

if TYPE_CHECKING:
    from profileguard.consent.book import ConsentBook

SCHEMA = pa.schema(
    [
        ("user_pid", pa.string()),
        ("purpose", pa.string()),
        ("recipient", pa.string()),
        ("allowed", pa.bool_()),
        ("reason", pa.string()),
    ]
)


#: the record fields :func:`decide` reads (plus the day it was given, for the reason)
_DecisionInputs = tuple[str, str, str | None, bool, bool, str]


def latest_records(
    conn: sa.Connection, purpose: str, recipient_key: str, at: dt.datetime
) -> dict[str, ConsentRecord]:
    """The record in force at ``at`` for every user with one, for one purpose × recipient."""
    stmt = _latest_stmt(sa.select(t.consents), purpose, recipient_key, at)
    result = conn.execution_options(yield_per=50_000).execute(stmt)
    return {str(r.user_pid): row_to_record(r._mapping) for r in result}


def _latest_stmt(
    columns: sa.Select[Any], purpose: str, recipient_key: str, at: dt.datetime
) -> sa.Select[Any]:
    c = t.consents.c
    rank = sa.func.row_number().over(
        partition_by=c.user_pid, order_by=(c.given_at.desc(), c.id.desc())
    ).label("rank_")
    inner = (
        columns.add_columns(rank)
        .where(c.purpose == purpose, c.recipient == recipient_key, c.given_at <= at)
        .subquery()
    )
    return sa.select(*[col for col in inner.c if col.name != "rank_"]).where(inner.c.rank_ == 1)


def _latest_inputs(
    conn: sa.Connection, purpose: str, recipient_key: str, at: dt.datetime
) -> dict[str, _DecisionInputs]:
    """Like :func:`latest_records` but only what :func:`decide` reads, without the ORM-ish
    datetime parsing per row (SQLite hands back text; PostgreSQL a datetime).

    Read from ``consents_current`` (one row per user, no sort of the history) unless a
    record in force there was given after ``at``: then the record in force *at* ``at`` may
    be an older one, and the log is ranked as of ``at`` instead.
    """
    cc = t.consents_current.c
    later = conn.execute(sa.select(cc.user_pid).where(
        cc.purpose == purpose, cc.recipient == recipient_key, cc.given_at > at).limit(1)).first()
    stmt: sa.Select[Any]
    if later is None:
        stmt = sa.select(cc.user_pid, cc.status, cc.consent_type, cc.notice_version,
                         cc.pre_ticked, cc.bundled,
                         sa.type_coerce(cc.given_at, sa.String).label("given_raw")).where(
            cc.purpose == purpose, cc.recipient == recipient_key)
    else:
        c = t.consents.c
        stmt = _latest_stmt(
            sa.select(c.user_pid, c.status, c.consent_type, c.notice_version, c.pre_ticked,
                      c.bundled, sa.type_coerce(c.given_at, sa.String).label("given_raw")),
            purpose, recipient_key, at)
    result = conn.execution_options(yield_per=50_000).execute(stmt)
    days: dict[Any, str] = {}
    out: dict[str, _DecisionInputs] = {}
    for user, status, ctype, notice, ticked, bundled, given in result:
        day = days.get(given)
        if day is None:
            day = days[given] = _utc_day(given)
        out[str(user)] = (str(status), str(ctype), notice, bool(ticked), bool(bundled), day)
    return out


def _utc_day(value: Any) -> str:
    if isinstance(value, dt.datetime):
        return as_utc(value).date().isoformat()
    return str(value)[:10]  # SQLite stores UTC as 'YYYY-MM-DD HH:MM:SS.ffffff'


def _record_from_inputs(user: str, purpose: str, key: str, inputs: _DecisionInputs
                        ) -> ConsentRecord:
    status, ctype, notice, ticked, bundled, day = inputs
    given = dt.datetime.fromisoformat(day).replace(tzinfo=dt.UTC)
    return ConsentRecord(None, user, purpose, key, status, ctype, notice, None, ticked, bundled,
                         None, None, "", given, given)


def known_users(conn: sa.Connection) -> list[str]:
    """Every user the operational store knows: identity map, consents, preferences.

    Consenting users are read from ``consents_current`` (a row per user × purpose ×
    recipient, one per key of the log) rather than from every record of the log.
    """
    users = sa.union(
        sa.select(t.identity_map.c.user_pid),
        sa.select(t.consents_current.c.user_pid),
        sa.select(t.preferences.c.user_pid),
    ).subquery()
    return [str(u) for u in conn.execute(sa.select(users.c[0]).order_by(users.c[0])).scalars()]


def decisions(
    book: ConsentBook,
    purpose: str,
    *,
    categories: Sequence[str] = (),
    recipient: str | None = None,
    at: dt.datetime | None = None,
    users: Iterable[str] | None = None,
    only_recorded: bool = False,
) -> pa.Table:
    """(user_pid, purpose, recipient, allowed, reason) per user; default deny."""
    when = as_utc(at) if at else utcnow()
    key = record_key(book.policy, recipient)
    with book.store.read() as conn:
        records = _latest_inputs(conn, purpose, key, when)
        prefs = preferences.all_preferences(conn)
        if users is not None:
            universe = list(dict.fromkeys(users))
        elif only_recorded:
            universe = sorted(records)
        else:
            universe = known_users(conn)
    birth_of = book.policy.birth_date_of
    cats = tuple(categories)
    allowed: list[bool] = []
    reasons: list[str] = []
    # decide() reads only these inputs, so users with equal inputs get equal decisions:
    # evaluate each distinct combination once
    cache: dict[tuple[Any, ...], tuple[bool, str]] = {}
    for user in universe:
        inputs = records.get(user)
        pref = prefs.get(user)
        birth = birth_of(user) if birth_of else None
        memo = (inputs, pref, birth)
        hit = cache.get(memo)
        if hit is None:
            record = None if inputs is None else _record_from_inputs(user, purpose, key, inputs)
            d = decide(book.policy, purpose, record, categories=cats, recipient=recipient,
                       preference=pref, birth_date=birth, at=when)
            hit = cache[memo] = (d.allowed, d.reason)
        allowed.append(hit[0])
        reasons.append(hit[1])
    n = len(universe)
    return pa.table(
        [
            pa.array(universe, pa.string()),
            pa.array([purpose] * n, pa.string()),
            pa.array([recipient or ""] * n, pa.string()),
            pa.array(allowed, pa.bool_()),
            pa.array(reasons, pa.string()),
        ],
        schema=SCHEMA,
    )


def export_to_engine(
    book: ConsentBook,
    engine: Engine,
    table_name: str,
    purposes: Sequence[str],
    *,
    categories: Mapping[str, Sequence[str]] | None = None,
    recipients: Mapping[str, Sequence[str]] | None = None,
    at: dt.datetime | None = None,
) -> int:
    """Replace ``table_name`` in the engine with the decisions for ``purposes``.

    One row per known user × purpose (recipient ``''``), plus one per user × purpose ×
    recipient listed in ``recipients[purpose]``. ``categories[purpose]`` are the categories
    the use involves (for the separate-consent and notice-version rules).
    """
    when = as_utc(at) if at else utcnow()
    with book.store.read() as conn:
        universe = known_users(conn)
    parts: list[pa.Table] = []
    for purpose in purposes:
        cats = tuple((categories or {}).get(purpose, ()))
        for recipient in (None, *(recipients or {}).get(purpose, ())):
            parts.append(decisions(book, purpose, categories=cats, recipient=recipient,
                                   at=when, users=universe))
    table = pa.concat_tables(parts) if parts else SCHEMA.empty_table()
    return engine.load_arrow(table_name, table, mode="replace")
