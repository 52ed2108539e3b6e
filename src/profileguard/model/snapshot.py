"""Profile snapshots: written beside the current one, switched to only when complete.

A build writes ``snap_<id>_wide`` (one row per user, one column per tag — for audience
selection), ``snap_<id>_corr`` (user, tag, value: the values people corrected — few rows)
and ``snap_<id>_long`` (user, tag, value, kind, confidence, purpose, computed_at,
valid_until — for explanations and rights). On DuckDB the long table is a VIEW over the
wide one and the corrections (ten or more long rows per user would otherwise be written
on every build — most of a build's cost); an engine without stored views (Spark) writes it
as a table. So the person-keyed rows a rights request edits are in the wide and
corrections tables (:func:`person_tables`). Only then, in one small transaction, the build
registers the snapshot in ``pg_snapshots`` and moves the ``pg_current`` pointer. A crash
or error before that leaves the previous snapshot current and readable; tables of a build
that never registered are dropped by the next build. The last N snapshots are kept.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from profileguard.store.engine import DuckDBEngine, Engine

SNAPSHOTS = "pg_snapshots"
CURRENT = "pg_current"
_SNAP_TABLE = re.compile(r"^snap_(\d+)_(wide|long|cards|corr)$")
#: a snapshot's tables, the long view first (it reads the others)
PARTS = ("long", "wide", "corr", "cards")


@dataclass(frozen=True)
class SnapshotInfo:
    id: int
    as_of: datetime
    created_at: datetime
    manifest_sha256: str
    users: int
    counts: dict[str, int]

    @property
    def wide(self) -> str:
        return f"snap_{self.id}_wide"

    @property
    def long(self) -> str:
        return f"snap_{self.id}_long"

    @property
    def cards(self) -> str:
        return f"snap_{self.id}_cards"

    @property
    def corrections(self) -> str:
        return f"snap_{self.id}_corr"


def ensure_tables(engine: Engine) -> None:
    engine.execute(f"CREATE TABLE IF NOT EXISTS {SNAPSHOTS} (id BIGINT PRIMARY KEY, "
                   "as_of TIMESTAMP, created_at TIMESTAMP, manifest_sha256 VARCHAR, "
                   "users BIGINT, counts VARCHAR)")
    engine.execute(f"CREATE TABLE IF NOT EXISTS {CURRENT} (id BIGINT)")


def next_id(engine: Engine) -> int:
    ensure_tables(engine)
    registered = engine.query_rows(f"SELECT coalesce(max(id), 0) FROM {SNAPSHOTS}")[0][0]
    on_disk = [int(m.group(1)) for t in engine.tables() if (m := _SNAP_TABLE.match(t))]
    return max([int(registered), *on_disk]) + 1


def stores_views(engine: Engine) -> bool:
    """Whether ``CREATE VIEW`` on ``engine`` outlives the session (DuckDB's does; the Spark
    engine's views are session-only, though it speaks DuckDB's SQL), i.e. whether the long
    table can be a view."""
    return isinstance(engine, DuckDBEngine)


def view_names(engine: Engine) -> set[str]:
    """Names of the stored views (from DuckDB's catalog)."""
    if not stores_views(engine):
        return set()
    return {str(r[0]) for r in engine.query_rows(
        "SELECT table_name FROM information_schema.tables WHERE table_type = 'VIEW'")}


def _drop(engine: Engine, names: list[str]) -> None:
    """Drop tables and views by name (DuckDB refuses DROP TABLE on a view and back)."""
    views = view_names(engine) if names else set()
    for name in sorted(names, key=lambda n: n not in views):  # views first
        kind = "VIEW" if name in views else "TABLE"
        engine.execute(f'DROP {kind} IF EXISTS "{name}"')


def person_tables(engine: Engine, snap: SnapshotInfo) -> list[str]:
    """The snapshot's stored tables keyed by ``user_id``: wide, corrections, and the long
    one where it is a table (on Spark, or written before the long table became a view)."""
    present = set(engine.tables())
    views = view_names(engine)
    return [t for t in (snap.wide, snap.corrections, snap.long) if t in present
            and t not in views]


def drop_orphans(engine: Engine) -> list[str]:
    """Drop snapshot tables of builds that never registered (crashed or failed)."""
    ensure_tables(engine)
    known = {int(r[0]) for r in engine.query_rows(f"SELECT id FROM {SNAPSHOTS}")}
    dropped = [t for t in engine.tables()
               if (m := _SNAP_TABLE.match(t)) and int(m.group(1)) not in known]
    _drop(engine, dropped)
    return dropped


def register(engine: Engine, snap: SnapshotInfo, keep: int) -> None:
    """Register ``snap`` and make it current atomically; then prune old snapshots."""
    with engine.transaction():
        engine.execute(f"INSERT INTO {SNAPSHOTS} VALUES (?, ?, ?, ?, ?, ?)",
                       [snap.id, snap.as_of, snap.created_at, snap.manifest_sha256, snap.users,
                        json.dumps(snap.counts)])
        engine.execute(f"DELETE FROM {CURRENT}")
        engine.execute(f"INSERT INTO {CURRENT} VALUES (?)", [snap.id])
    engine.execute("CHECKPOINT")
    prune(engine, keep)


def prune(engine: Engine, keep: int) -> None:
    ids = [int(r[0]) for r in engine.query_rows(f"SELECT id FROM {SNAPSHOTS} ORDER BY id DESC")]
    current = current_id(engine)
    for old in ids[max(keep, 1):]:
        if old == current:
            continue
        engine.execute(f"DELETE FROM {SNAPSHOTS} WHERE id = ?", [old])
        present = set(engine.tables())
        _drop(engine, [n for part in PARTS if (n := f"snap_{old}_{part}") in present])


def current_id(engine: Engine) -> int | None:
    if not engine.table_exists(CURRENT):
        return None
    rows = engine.query_rows(f"SELECT id FROM {CURRENT}")
    return int(rows[0][0]) if rows else None


def current(engine: Engine) -> SnapshotInfo | None:
    sid = current_id(engine)
    if sid is None:
        return None
    return get(engine, sid)


def get(engine: Engine, sid: int) -> SnapshotInfo | None:
    rows = engine.query_rows(f"SELECT id, as_of, created_at, manifest_sha256, users, counts "
                             f"FROM {SNAPSHOTS} WHERE id = ?", [sid])
    if not rows:
        return None
    r: Any = rows[0]
    return SnapshotInfo(int(r[0]), r[1], r[2], str(r[3]), int(r[4]), json.loads(r[5]))


def history(engine: Engine) -> list[SnapshotInfo]:
    if not engine.table_exists(SNAPSHOTS):
        return []
    ids = [int(r[0]) for r in engine.query_rows(f"SELECT id FROM {SNAPSHOTS} ORDER BY id")]
    return [s for i in ids if (s := get(engine, i)) is not None]
