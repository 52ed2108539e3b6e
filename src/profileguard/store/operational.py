"""The operational database: consents, requests, identity map and ledger behind one URL.

Why SQLAlchemy Core and not an ORM: every write here is a small, explicit statement whose
transaction boundaries matter (a consent change and its ledger entry commit together), and
the same code must run on SQLite (default, embedded) and PostgreSQL (production).

* SQLite is opened in WAL mode with a busy timeout and foreign keys on, and write
  transactions start with ``BEGIN IMMEDIATE`` so two processes serialize on the write lock
  instead of failing half-way ("database is locked" on upgrade from a read lock). Writers
  of a database file also take an OS lock on ``<file>.writelock`` first: SQLite's own busy
  handler polls with growing sleeps, so eight waiting processes leave the database idle
  most of the time; a blocking ``flock`` hands the lock over at once.
* The schema is versioned: ``schema_version`` holds the applied migrations and
  :data:`MIGRATIONS` is the ordered list. Each migration only creates what is missing
  (``checkfirst``) or drops what is there (``IF EXISTS``), runs inside one write
  transaction that also holds a lock (PostgreSQL: a transaction-level advisory lock;
  SQLite: the ``BEGIN IMMEDIATE`` write lock), so two
  processes opening a fresh database at once apply each migration exactly once.
* SQLite's ``synchronous`` defaults to NORMAL, the setting SQLite recommends with WAL: a
  commit is atomic and the file never corrupts, but the last commits before a power cut
  (not a process crash) may be lost. Pass ``sqlite_synchronous="FULL"`` to fsync every
  commit (about 5 ms each on a plain disk).
* The identity map links raw user ids to pseudonymous ids. The pseudonym is a keyed HMAC
  computed by a callable or key passed in; the key itself is never written here.
"""

from __future__ import annotations

import datetime as dt
import functools
import threading
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event

from profileguard.errors import ProfileguardError

try:  # POSIX; elsewhere SQLite's busy timeout alone serializes writers
    import fcntl
except ImportError:  # pragma: no cover
    fcntl = None  # type: ignore[assignment]
from profileguard.store import consents_current, keys
from profileguard.store import tables as t

#: key of the PostgreSQL advisory lock taken while migrating ("pgschema" as an int)
SCHEMA_LOCK_KEY = 0x7067736368656D61
SQLITE_BUSY_TIMEOUT_MS = 60_000
STATE_DIR = ".profileguard"
_WRITE_OPTION = "profileguard_write"

Pseudonymize = Callable[[str], str]


def default_url(workspace: str | Path) -> str:
    """The default state URL of a workspace: ``sqlite:///<workspace>/.profileguard/state.db``."""
    return f"sqlite:///{Path(workspace).resolve() / STATE_DIR / 'state.db'}"


def hmac_pseudonym(key: bytes) -> Pseudonymize:
    """The keyed pseudonym function of :mod:`profileguard.store.keys`, bound to ``key``."""
    return functools.partial(keys.pseudonym, key)


@dataclass(frozen=True)
class Migration:
    """One schema step; ``apply`` must be idempotent (create what is missing, drop what is
    there)."""

    version: int
    description: str
    apply: Callable[[sa.Connection], None]


def _create_tables(conn: sa.Connection) -> None:
    t.metadata.create_all(conn, checkfirst=True)


def _create_ledger_lookup_indexes(conn: sa.Connection) -> None:
    for index in (t.ix_ledger_hash, t.ix_ledger_prev_hash, t.ix_rights_requests_open):
        index.create(conn, checkfirst=True)


def _derive_consents_current(conn: sa.Connection) -> None:
    """Create ``consents_current`` and fill it from the consent log (one pass, any size)."""
    t.consents_current.create(conn, checkfirst=True)
    consents_current.rebuild(conn)


def _drop_consents_user_index(conn: sa.Connection) -> None:
    """The consent log's index on ``user_pid`` alone: ``ix_consents_lookup`` begins with
    that column and serves the same lookups; the second index only cost every write (about
    15 CPU s and 400 MB of writes per 10M imported decisions)."""
    conn.exec_driver_sql("DROP INDEX IF EXISTS ix_consents_user_pid")


MIGRATIONS: tuple[Migration, ...] = (
    Migration(1, "create the operational tables", _create_tables),
    Migration(2, "indexes for ledger diagnosis and the rights queue",
              _create_ledger_lookup_indexes),
    Migration(3, "campaign sends and the price-quote log of the applications",
              _create_tables),
    Migration(4, "consents_current: the consent in force per user, purpose and recipient, "
              "derived from the consent log", _derive_consents_current),
    Migration(5, "drop the consent log's index on user_pid alone (the lookup index begins "
              "with it)", _drop_consents_user_index),
)


#: seconds between the background WAL checkpoints of a server's operational store
CHECKPOINT_INTERVAL_S = 1.0


def _is_sqlite(engine: sa.Engine) -> bool:
    return engine.dialect.name == "sqlite"


def _install_sqlite_pragmas(engine: sa.Engine, synchronous: str,
                            autocheckpoint: Callable[[], bool]) -> None:
    """WAL, busy timeout, foreign keys; and let us emit BEGIN / BEGIN IMMEDIATE ourselves.
    ``autocheckpoint()`` False: commits never checkpoint the WAL (a background thread
    does, see :meth:`OperationalStore.checkpoint_in_background`)."""

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # the driver must not issue BEGIN itself
        cursor = dbapi_connection.cursor()
        cursor.execute(f"PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA journal_mode = WAL")
        cursor.execute("PRAGMA foreign_keys = ON")
        cursor.execute(f"PRAGMA synchronous = {synchronous}")
        if not autocheckpoint():
            cursor.execute("PRAGMA wal_autocheckpoint = 0")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: sa.Connection) -> None:
        write = conn.get_execution_options().get(_WRITE_OPTION, False)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")


class OperationalStore:
    """The operational database at ``url`` (any SQLAlchemy URL), migrated on open."""

    def __init__(
        self,
        url: str,
        *,
        pseudonymize: Pseudonymize | bytes | None = None,
        migrate: bool = True,
        echo: bool = False,
        sqlite_synchronous: str = "NORMAL",
    ) -> None:
        self.url = url
        if url.startswith("sqlite:///") and url != "sqlite:///:memory:":
            Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
        options: dict[str, Any] = {}
        if sa.engine.make_url(url).get_backend_name() == "postgresql":
            # each statement sees what committed before it: the ledger reads its head
            # after taking the advisory lock, which needs READ COMMITTED (the default)
            options["isolation_level"] = "READ COMMITTED"
        self.engine = sa.create_engine(url, echo=echo, **options)
        if _is_sqlite(self.engine):
            if sqlite_synchronous.upper() not in {"OFF", "NORMAL", "FULL", "EXTRA"}:
                raise ProfileguardError(
                    f"sqlite_synchronous={sqlite_synchronous!r}; use NORMAL or FULL"
                )
            _install_sqlite_pragmas(self.engine, sqlite_synchronous.upper(),
                                    lambda: self._checkpointer is None)
        self._pseudonymize: Pseudonymize | None = (
            hmac_pseudonym(pseudonymize) if isinstance(pseudonymize, bytes) else pseudonymize
        )
        self._thread_lock = threading.Lock()
        self._checkpointer: _Checkpointer | None = None
        self._lock_path: Path | None = None
        database = self.engine.url.database
        if _is_sqlite(self.engine) and database and database != ":memory:":
            self._lock_path = Path(database).with_name(Path(database).name + ".writelock")
        if migrate:
            self.migrate()

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    # -- transactions -------------------------------------------------------------------

    @contextmanager
    def read(self) -> Iterator[sa.Connection]:
        """A connection in a plain transaction (a consistent snapshot on both backends)."""
        with self.engine.connect() as conn, conn.begin():
            yield conn

    @contextmanager
    def write(self, lock_key: int | None = None) -> Iterator[sa.Connection]:
        """A write transaction that already holds the write lock.

        SQLite: ``BEGIN IMMEDIATE`` (the database write lock). PostgreSQL: a normal
        transaction, plus ``pg_advisory_xact_lock(lock_key)`` when a key is given.
        Commits on normal exit, rolls back on an exception.
        """
        with self._writer_lock(), self.engine.connect() as conn:
            conn.execution_options(**{_WRITE_OPTION: True})
            with conn.begin():
                if lock_key is not None:
                    self.lock(conn, lock_key)
                yield conn

    @contextmanager
    def _writer_lock(self) -> Iterator[None]:
        """SQLite file: one writer at a time across threads and processes (OS lock)."""
        if self._lock_path is None or fcntl is None:
            yield
            return
        with self._thread_lock, open(self._lock_path, "a+b") as handle:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle.fileno(), fcntl.LOCK_UN)

    def lock(self, conn: sa.Connection, key: int) -> None:
        """Take a transaction-scoped lock named ``key`` (no-op on SQLite: already exclusive)."""
        if self.dialect == "postgresql":
            conn.execute(sa.text("SELECT pg_advisory_xact_lock(:k)"), {"k": _signed64(key)})

    # -- schema -------------------------------------------------------------------------

    def schema_version(self) -> int:
        with self.read() as conn:
            if not sa.inspect(conn).has_table(t.schema_version.name):
                return 0
            value = conn.execute(sa.select(sa.func.max(t.schema_version.c.version))).scalar()
            return int(value or 0)

    def migrate(self) -> list[int]:
        """Apply the migrations not yet applied; returns the versions applied now."""
        applied_now: list[int] = []
        with self.write(SCHEMA_LOCK_KEY) as conn:
            t.schema_version.create(conn, checkfirst=True)
            done = {int(v) for v in conn.execute(sa.select(t.schema_version.c.version)).scalars()}
            for migration in MIGRATIONS:
                if migration.version in done:
                    continue
                migration.apply(conn)
                conn.execute(
                    t.schema_version.insert().values(
                        version=migration.version,
                        description=migration.description,
                        applied_at=utcnow(),
                    )
                )
                applied_now.append(migration.version)
        return applied_now

    # -- identity map -------------------------------------------------------------------

    def pid_of(self, user_id: str) -> str:
        """Compute the pseudonymous id of ``user_id`` without recording it."""
        if self._pseudonymize is None:
            raise ProfileguardError(
                "the operational store was opened without a pseudonymization key, so raw user "
                "ids cannot be turned into pseudonymous ids; pass the key (see "
                "PROFILEGUARD_PSEUDONYM_KEY) or use pseudonymous ids (p_…)"
            )
        return self._pseudonymize(user_id)

    def pid_for(self, user_id: str) -> str:
        """The pseudonymous id of ``user_id``, recorded in the identity map."""
        return self.register_identities([user_id])[user_id]

    def register_identities(self, user_ids: Iterable[str]) -> dict[str, str]:
        """Compute and record pids for many raw ids at once; returns raw id → pid."""
        mapping = {uid: self.pid_of(uid) for uid in dict.fromkeys(str(u) for u in user_ids)}
        if not mapping:
            return mapping
        now = utcnow()
        with self.write() as conn:
            known: set[str] = set()
            items = list(mapping.items())
            for start in range(0, len(items), 5000):
                chunk = [pid for _, pid in items[start : start + 5000]]
                known.update(
                    conn.execute(
                        sa.select(t.identity_map.c.user_pid).where(
                            t.identity_map.c.user_pid.in_(chunk)
                        )
                    ).scalars()
                )
            rows = [
                {"user_pid": pid, "user_id": uid, "created_at": now}
                for uid, pid in items
                if pid not in known
            ]
            if rows:
                conn.execute(t.identity_map.insert(), rows)
        return mapping

    def user_id_for(self, pid: str) -> str | None:
        with self.read() as conn:
            value = conn.execute(
                sa.select(t.identity_map.c.user_id).where(t.identity_map.c.user_pid == pid)
            ).scalar()
        return None if value is None else str(value)

    def resolve(self, name: str) -> str:
        """The pseudonymous id for ``name``, which is either a raw user id or a pid."""
        with self.read() as conn:
            row = conn.execute(
                sa.select(t.identity_map.c.user_pid).where(
                    sa.or_(t.identity_map.c.user_pid == name, t.identity_map.c.user_id == name)
                )
            ).first()
        if row is not None:
            return str(row[0])
        if keys.is_pseudonym(name):
            return name
        return self.pid_of(name)

    def forget_identity(self, pid: str, conn: sa.Connection | None = None) -> int:
        """Delete the identity-map row of ``pid`` (erasure); returns rows deleted."""
        stmt = t.identity_map.delete().where(t.identity_map.c.user_pid == pid)
        if conn is not None:
            return int(conn.execute(stmt).rowcount or 0)
        with self.write() as own:
            return int(own.execute(stmt).rowcount or 0)

    def checkpoint_in_background(self, interval_s: float = CHECKPOINT_INTERVAL_S) -> bool:
        """SQLite file: from now on no commit of this store checkpoints the WAL; a thread
        does, every ``interval_s`` (False, nothing done, for other databases).

        SQLite's default moves the WAL back into the database file inside the commit that
        makes it exceed 1,000 pages — with ``synchronous = NORMAL`` the only commits that
        wait for the disk (two fsyncs): for the server, a handful of ledger writes per second
        that take 10-35 ms instead of under 1, each holding the write lock every other
        worker's ledger writer then waits on. A PASSIVE checkpoint from a thread of its own
        copies what it can without blocking readers or writers, and the WAL stays small.
        """
        database = self.engine.url.database
        if not _is_sqlite(self.engine) or not database or database == ":memory:":
            return False
        if self._checkpointer is None:
            self._checkpointer = _Checkpointer(database, interval_s)
            self.engine.dispose()  # pooled connections were opened with autocheckpoint on
        return True

    def close(self) -> None:
        if self._checkpointer is not None:
            self._checkpointer.stop()
        self.engine.dispose()

    def __enter__(self) -> OperationalStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class _Checkpointer:
    """A daemon thread running ``PRAGMA wal_checkpoint(PASSIVE)`` on a connection of its
    own every ``interval`` seconds until stopped (then once more)."""

    def __init__(self, database: str, interval: float) -> None:
        self.database = database
        self.interval = interval
        self.checkpoints = 0
        self.failures = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="sqlite-checkpoint",
                                        daemon=True)
        self._thread.start()

    def _run(self) -> None:
        import sqlite3

        con = sqlite3.connect(self.database, isolation_level=None, check_same_thread=False)
        try:
            con.execute(f"PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS}")
            while True:
                stopping = self._stop.wait(self.interval)
                try:
                    con.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
                    self.checkpoints += 1
                except sqlite3.Error:  # busy or gone: the next round tries again
                    self.failures += 1
                if stopping:
                    return
        finally:
            con.close()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def as_utc(value: dt.datetime) -> dt.datetime:
    """A datetime read back from either backend, as an aware UTC datetime.

    SQLite keeps no time zone (values are written in UTC, read back naive); PostgreSQL
    returns ``timestamptz`` in the session's zone.
    """
    if value.tzinfo is None:
        return value.replace(tzinfo=dt.UTC)
    return value.astimezone(dt.UTC)


def _signed64(key: int) -> int:
    """PostgreSQL advisory keys are signed bigints."""
    key &= 0xFFFFFFFFFFFFFFFF
    return key - (1 << 64) if key >= 1 << 63 else key
