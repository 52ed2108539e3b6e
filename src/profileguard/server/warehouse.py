"""The server's view of the warehouse: the DuckDB file attached read-only, scratch in memory.

DuckDB lets one process write a database file, or several processes read it. The server
runs several workers, so each opens the warehouse read-only. Some read paths still create
working tables (the audience guard table, the recommender's model-user list, the audit's
scratch lists); they land in an in-memory catalog that is searched first, so they shadow
nothing in the file and never touch it. Writes a person asks for (tag deletion, objection,
withdrawal) go to the operational store and are applied to responses at once and to the
warehouse by the next build (or by :mod:`profileguard.server.pending` at the next start).

Because the attached file cannot change, what is read from it may be kept for the
worker's life: the snapshot registry (:data:`REGISTRY`) and each person's explained tags
(:attr:`ReadOnlyWarehouse.profiles`, a bounded LRU).
"""

from __future__ import annotations

import re
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import duckdb

from profileguard.server.explained import DEFAULT_CAPACITY, ExplainedProfiles
from profileguard.store.engine import DuckDBEngine

WAREHOUSE_ALIAS = "wh"
#: the snapshot registry: read on every profile read, and fixed while the file is attached
REGISTRY = frozenset({"pg_current", "pg_snapshots"})
_FROM = re.compile(r'\b(?:FROM|JOIN)\s+"?([A-Za-z_][A-Za-z0-9_]*)', re.IGNORECASE)


class ReadOnlyWarehouse(DuckDBEngine):
    """An in-memory DuckDB with the warehouse file attached ``READ_ONLY`` behind it."""

    def __init__(self, path: str | Path, *, threads: int | None = None,
                 profile_cache: int = DEFAULT_CAPACITY) -> None:
        # not DuckDBEngine.__init__: an in-memory database refuses some global options
        self.path = str(path)
        self.profiles = ExplainedProfiles(profile_cache)
        self.con = duckdb.connect(":memory:")
        self._lock = threading.RLock()
        self._memo = {}
        self._in_file = set()
        self.con.execute("SET enable_progress_bar = false").fetchall()
        if threads:
            self.con.execute(f"SET threads = {int(threads)}").fetchall()
        quoted = str(path).replace("'", "''")
        self.con.execute(f"ATTACH '{quoted}' AS {WAREHOUSE_ALIAS} (READ_ONLY)").fetchall()
        self.con.execute(f"SET search_path = 'memory.main,{WAREHOUSE_ALIAS}.main'").fetchall()

    _memo: dict[tuple[str, tuple[Any, ...]], list[tuple[Any, ...]]]
    _in_file: set[str]

    def query_rows(self, sql: str, params: Sequence[Any] | None = None
                   ) -> list[tuple[Any, ...]]:
        """Rows; queries that read only the snapshot registry are answered from memory
        after the first time (the attached file cannot change while it is attached)."""
        names = set(_FROM.findall(sql))
        if not names or not names <= REGISTRY:
            return super().query_rows(sql, params)
        key = (sql, tuple(params or ()))
        hit = self._memo.get(key)
        if hit is None:
            hit = super().query_rows(sql, params)
            self._memo[key] = hit
        return list(hit)

    def _catalog_of(self, table: str) -> str | None:
        """The catalog that an unqualified ``table`` resolves to (memory shadows the file)."""
        rows = self.query_rows(
            "SELECT table_catalog FROM information_schema.tables WHERE table_name = ? "
            "AND table_catalog IN ('memory', ?) ORDER BY table_catalog = 'memory' DESC",
            [table, WAREHOUSE_ALIAS])
        return str(rows[0][0]) if rows else None

    def table_exists(self, table: str) -> bool:
        if table in self._in_file:  # a table of the read-only file never goes away
            return True
        catalog = self._catalog_of(table)
        if catalog == WAREHOUSE_ALIAS:
            self._in_file.add(table)
        return catalog is not None

    def tables(self) -> list[str]:
        rows = self.query_rows(
            "SELECT DISTINCT table_name FROM information_schema.tables "
            "WHERE table_catalog IN ('memory', ?) ORDER BY table_name", [WAREHOUSE_ALIAS])
        return [str(r[0]) for r in rows]

    def columns(self, table: str) -> list[str]:
        return list(self.column_types(table))

    def column_types(self, table: str) -> dict[str, str]:
        catalog = self._catalog_of(table)
        if catalog is None:
            return {}
        rows = self.query_rows(
            "SELECT column_name, data_type FROM information_schema.columns "
            "WHERE table_name = ? AND table_catalog = ? ORDER BY ordinal_position",
            [table, catalog])
        return {str(r[0]): str(r[1]) for r in rows}
