"""Bulk import of a consent history from an Arrow table (e.g. the demo's consents.csv).

Columns: ``user_id`` (raw; pseudonymized through the store's key and recorded in the
identity map) or ``user_pid``, ``purpose``, ``recipient``, ``status``, ``consent_type``,
``notice_version``, ``surface``, ``pre_ticked``, ``bundled``, ``clicks_to_give``,
``clicks_to_withdraw``, ``ts``. Only ``purpose``, ``status`` and ``ts`` plus one id column
are required.

Rows are read in batches, checked and converted column by column
(:mod:`profileguard.consent.import_rows`). Each batch gets ONE ledger entry
(``consent.import``) holding the row count, the first and last row numbers and the SHA-256
of the batch's canonical JSON: a per-row entry for millions of historic rows would make
the ledger as large as the table without proving more, since the digest pins every row.
Changes made one at a time (API, CLI, privacy center) get one entry each.

The whole import is ONE write transaction. Per batch, its raw ids go into the identity
map (one HMAC per distinct id) and its rows into the log set-wise (SQLite: one
``executemany`` of plain values; PostgreSQL: ``COPY``). After the last batch all the new
rows are folded into ``consents_current`` in one statement (derived; see
:mod:`profileguard.store.consents_current`) and the batches' ledger entries are chained.
So an import commits whole or not at all: a bad row stops it with its row number and
leaves nothing behind (a re-run does not duplicate the batches before it).

On PostgreSQL other writers go on meanwhile (the ledger's chain lock is taken only for the
final append). On SQLite the import holds the write lock throughout, and one at least as
large as the log it lands in drops the secondary indexes of ``consents`` and
``consents_current`` and builds each once at the end: one sorted pass instead of millions
of random inserts, each dirtying a page. Readers keep seeing the previous state, indexes
included, until the commit (WAL).
"""

from __future__ import annotations

import hashlib
import io
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from profileguard.consent import import_rows
from profileguard.errors import ProfileguardError
from profileguard.store import consents_current
from profileguard.store import tables as t
from profileguard.store.operational import utcnow

if TYPE_CHECKING:
    from profileguard.consent.book import ConsentBook
    from profileguard.store.operational import OperationalStore

REQUIRED = ("purpose", "status", "ts")
#: SQLite page cache while the batches load (KiB): the identity map's indexes take random
#: inserts; the log itself only grows at its end
SQLITE_LOAD_CACHE_KIB = 256 * 1024


def import_consents(
    book: ConsentBook,
    data: pa.Table,
    *,
    batch_size: int = 20_000,
    actor: str = "import",
    source: str = "import",
) -> int:
    """Insert every row of ``data`` into the consent history; returns rows imported."""
    names = set(data.column_names)
    missing = [c for c in REQUIRED if c not in names]
    id_column = "user_pid" if "user_pid" in names else "user_id"
    if id_column not in names:
        missing.insert(0, "user_id or user_pid")
    if missing:
        raise ProfileguardError(f"consent import: missing column(s) {', '.join(missing)}; "
                                f"found {', '.join(data.column_names)}")
    if batch_size < 1:
        raise ProfileguardError(f"consent import: batch_size={batch_size}; use 1 or more")
    if data.num_rows == 0:
        return 0
    entries: list[tuple[str, str, str | None, Mapping[str, Any]]] = []
    identities = _Identities(book.store)
    with book.store.write() as conn:
        first_id = consents_current.last_log_id(conn) + 1
        built_after = _drop_indexes(conn) if (conn.dialect.name == "sqlite"
                                              and data.num_rows >= first_id - 1) else []
        with _sqlite_cache(conn, SQLITE_LOAD_CACHE_KIB):
            for start in range(0, data.num_rows, batch_size):
                chunk = data.slice(start, batch_size)
                rows, ids = import_rows.log_rows(chunk, id_column, start + 1, source)
                if id_column == "user_id":
                    rows = rows.set_column(0, "user_pid", identities.pids(conn, ids))
                entries.append(("consent.import", actor, None, _entry(rows, start, source)))
                _append(conn, rows)
        consents_current.fold(conn, first_id)
        for index in built_after:
            index.create(conn)
        for entry in book.ledger.append_many(conn, entries):
            if isinstance(entry, ProfileguardError):
                raise entry
    return int(data.num_rows)


def _entry(rows: pa.Table, start: int, source: str) -> dict[str, Any]:
    """The ledger payload of one batch: where it is in the input and its digest."""
    text = import_rows.canonical_json(rows)  # hashed as Arrow holds it, not copied
    counts = pc.value_counts(rows.column("status").combine_chunks())
    statuses = dict(zip(counts.field("values").to_pylist(),
                        counts.field("counts").to_pylist(), strict=True))
    return {"rows": rows.num_rows, "first_row": start + 1, "last_row": start + rows.num_rows,
            "sha256": hashlib.sha256(text).hexdigest(),
            "statuses": dict(sorted(statuses.items())), "source": source}


def _drop_indexes(conn: sa.Connection) -> list[sa.Index]:
    """Drop the secondary indexes of the log and of ``consents_current``; returns them, to
    be built after the load (a failure rolls the drop back with the rest)."""
    indexes = [*t.consents.indexes, *t.consents_current.indexes]
    for index in indexes:
        index.drop(conn, checkfirst=True)
    return indexes


@contextmanager
def _sqlite_cache(conn: sa.Connection, kib: int) -> Iterator[None]:
    """On SQLite, a page cache of ``kib`` for the block, then the connection's own again
    (SQLite's sorts, the fold's and the index builds', run faster with the small one)."""
    if conn.dialect.name != "sqlite":
        yield
        return
    previous = int(conn.exec_driver_sql("PRAGMA cache_size").scalar_one())
    conn.exec_driver_sql(f"PRAGMA cache_size = -{kib}")
    try:
        yield
    finally:
        conn.exec_driver_sql(f"PRAGMA cache_size = {previous}")


class _Identities:
    """Pids of raw ids, each distinct id of a batch recorded in the identity map unless the
    previous batch had it (a person's records are mostly near each other in a log; the map
    ignores an id it already holds)."""

    def __init__(self, store: OperationalStore) -> None:
        self.store = store
        self.recent: dict[str, str] = {}

    def pids(self, conn: sa.Connection, user_ids: pa.Array) -> pa.Array:
        """The pids of ``user_ids`` (text, no nulls), one per row."""
        encoded = pc.dictionary_encode(user_ids)
        raw: list[str] = encoded.dictionary.to_pylist()
        known = self.recent
        pids = [known.get(uid) or self.store.pid_of(uid) for uid in raw]
        created = _bound(conn, t.identity_map.c.created_at, [utcnow()])[0]
        stmt = _insert(conn, t.identity_map).on_conflict_do_nothing(
            index_elements=["user_pid"])
        new = [(pid, uid, created) for pid, uid in zip(pids, raw, strict=True)
               if uid not in known]
        if new:
            _executemany(conn, stmt, ("user_pid", "user_id", "created_at"), new)
        self.recent = dict(zip(raw, pids, strict=True))
        return pa.array(pids, pa.string()).take(encoded.indices)


def _insert(conn: sa.Connection, table: sa.Table) -> Any:
    """The dialect's INSERT (with ``ON CONFLICT``)."""
    if conn.dialect.name == "sqlite":
        return sqlite.insert(table)
    if conn.dialect.name == "postgresql":
        return postgresql.insert(table)
    raise ProfileguardError(f"consent import: the {conn.dialect.name!r} database is not "
                            "supported (use SQLite or PostgreSQL)")


def _executemany(conn: sa.Connection, stmt: Any, columns: Sequence[str],
                 rows: Iterable[tuple[Any, ...]]) -> None:
    """``stmt`` once per row of values the driver takes as they are (see :func:`_bound`),
    without SQLAlchemy's per-row parameter processing. With positional parameters (SQLite)
    the rows go to the driver's cursor as they come: an iterator is never materialized
    (``zip`` then reuses one tuple for every row)."""
    compiled = stmt.compile(dialect=conn.dialect, column_keys=list(columns))
    if compiled.positional:
        order = [columns.index(name) for name in compiled.positiontup or ()]
        if order != list(range(len(columns))):
            rows = (tuple(row[i] for i in order) for row in rows)
        driver = conn.connection.driver_connection  # inside this transaction
        cursor = driver.cursor()  # type: ignore[union-attr]
        try:
            cursor.executemany(str(compiled), rows)
        finally:
            cursor.close()
        return
    conn.exec_driver_sql(str(compiled), [dict(zip(columns, row, strict=True)) for row in rows])


def _bound(conn: sa.Connection, column: sa.Column[Any], values: list[Any]) -> list[Any]:
    """``values`` of ``column`` as SQLAlchemy hands them to the driver."""
    process = column.type.dialect_impl(conn.dialect).bind_processor(conn.dialect)
    return values if process is None else [process(v) for v in values]


#: the log columns an import writes, in table order
_LOG = [c.name for c in t.consents.columns if c.name != "id"]


def _append(conn: sa.Connection, rows: pa.Table) -> None:
    """Append ``rows`` (:data:`import_rows.LOG_COLUMNS`) to the log, stamped as recorded
    now: PostgreSQL ``COPY`` of Arrow's CSV; SQLite ``executemany`` of plain values, times
    in the text form SQLAlchemy stores."""
    rows = rows.append_column("recorded_at", pa.repeat(pa.scalar(utcnow(), import_rows.UTC_US),
                                                      rows.num_rows)).select(_LOG)
    if conn.dialect.name == "postgresql":
        out = io.BytesIO()
        pacsv.write_csv(rows, out, pacsv.WriteOptions(include_header=False))
        driver = conn.connection.driver_connection  # psycopg's, inside this transaction
        with driver.cursor() as cursor, cursor.copy(  # type: ignore[union-attr]
                f"COPY {t.consents.name} ({', '.join(_LOG)}) FROM STDIN (FORMAT csv)") as copy:
            copy.write(out.getbuffer())
        return
    columns = [_sqlite_values(rows.column(name).combine_chunks()) for name in _LOG]
    _executemany(conn, _insert(conn, t.consents), _LOG, zip(*columns, strict=True))


def _sqlite_values(arr: pa.Array) -> list[Any]:
    """A column as SQLite stores it: times as the text SQLAlchemy writes, booleans as 0/1
    (a Python bool would take the driver's slower adapter path), the rest as is."""
    if pa.types.is_timestamp(arr.type):
        arr = import_rows.utc_text(arr)
    elif pa.types.is_boolean(arr.type):
        arr = arr.cast(pa.int8())
    return arr.to_pylist()  # type: ignore[no-any-return]
