"""The analytical engine: a thin interface over the warehouse, DuckDB by default.

Everything above ``store`` talks to the warehouse through :class:`Engine`, so the same
plans run on Spark later (``--engine spark``): SQL is produced through sqlglot for the
engine's ``dialect`` and results come back as Arrow tables.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from typing import Any, Literal, Protocol, runtime_checkable

import duckdb
import pyarrow as pa

from profileguard.errors import ProfileguardError

WriteMode = Literal["append", "replace", "create"]


@runtime_checkable
class Engine(Protocol):
    """What the rest of profileguard needs from an analytical engine."""

    #: sqlglot dialect name of the SQL this engine runs ("duckdb", "spark")
    dialect: str

    def execute(self, sql: str, params: Sequence[Any] | None = None) -> None: ...

    def query_arrow(self, sql: str, params: Sequence[Any] | None = None) -> pa.Table: ...

    def query_rows(self, sql: str, params: Sequence[Any] | None = None
                   ) -> list[tuple[Any, ...]]: ...

    def load_arrow(
        self, table: str, data: pa.Table | pa.RecordBatchReader, mode: WriteMode = "append"
    ) -> int: ...

    def table_exists(self, table: str) -> bool: ...

    def tables(self) -> list[str]: ...

    def columns(self, table: str) -> list[str]: ...

    def column_types(self, table: str) -> dict[str, str]: ...

    def transaction(self) -> AbstractContextManager[None]: ...

    def close(self) -> None: ...


def quote_ident(name: str) -> str:
    """Quote an identifier for DuckDB / ANSI SQL."""
    return '"' + name.replace('"', '""') + '"'


def _counting(reader: pa.RecordBatchReader, counter: list[int]) -> Iterator[pa.RecordBatch]:
    for batch in reader:
        counter[0] += batch.num_rows
        yield batch


def _params(params: Sequence[Any] | None) -> list[Any] | None:
    return list(params) if params is not None else None


MEMORY_LIMIT_ENV = "PROFILEGUARD_DUCKDB_MEMORY_LIMIT"
THREADS_ENV = "PROFILEGUARD_DUCKDB_THREADS"


def _env_int(name: str) -> int | None:
    raw = os.environ.get(name, "").strip()
    if not raw:
        return None
    try:
        value = int(raw)
    except ValueError:
        raise ProfileguardError(f"{name}={raw!r}: expected a whole number of threads") from None
    if value < 1:
        raise ProfileguardError(f"{name}={raw!r}: expected at least 1 thread")
    return value


class DuckDBEngine:
    """DuckDB, embedded: one database file per workspace (or ``:memory:``)."""

    dialect = "duckdb"

    def __init__(
        self,
        path: str | Path = ":memory:",
        *,
        read_only: bool = False,
        threads: int | None = None,
        memory_limit: str | None = None,
    ) -> None:
        self.path = str(path)
        config: dict[str, Any] = {}
        threads = threads or _env_int(THREADS_ENV)
        memory_limit = memory_limit or os.environ.get(MEMORY_LIMIT_ENV) or None
        if threads:
            config["threads"] = threads
        if memory_limit:
            config["memory_limit"] = memory_limit
        self.con = duckdb.connect(self.path, read_only=read_only, config=config)
        self.con.execute("SET enable_progress_bar = false").fetchall()  # clean --format json
        self._lock = threading.RLock()

    def execute(self, sql: str, params: Sequence[Any] | None = None) -> None:
        with self._lock:
            self.con.execute(sql, _params(params)).fetchall()

    def query_arrow(self, sql: str, params: Sequence[Any] | None = None) -> pa.Table:
        with self._lock:
            rel = self.con.sql(sql, params=_params(params))
            if rel is None:
                return pa.table({})
            table: pa.Table = rel.to_arrow_table()
            return table

    def query_rows(self, sql: str, params: Sequence[Any] | None = None) -> list[tuple[Any, ...]]:
        with self._lock:
            rows: list[tuple[Any, ...]] = self.con.execute(sql, _params(params)).fetchall()
            return rows

    def load_arrow(
        self, table: str, data: pa.Table | pa.RecordBatchReader, mode: WriteMode = "append"
    ) -> int:
        """Write Arrow data into ``table`` (streamed for readers); returns rows written."""
        name = quote_ident(table)
        counted = [0]
        source: pa.Table | pa.RecordBatchReader
        if isinstance(data, pa.RecordBatchReader):
            source = pa.RecordBatchReader.from_batches(data.schema, _counting(data, counted))
        else:
            source = data
            counted[0] = data.num_rows
        with self._lock:
            exists = self.table_exists(table)
            view = f"__pg_load_{threading.get_ident()}"
            self.con.register(view, source)
            try:
                if mode == "replace":
                    sql = f"CREATE OR REPLACE TABLE {name} AS SELECT * FROM {view}"
                elif mode == "create" or not exists:
                    sql = f"CREATE TABLE {name} AS SELECT * FROM {view}"
                else:
                    sql = f"INSERT INTO {name} BY NAME SELECT * FROM {view}"
                self.con.execute(sql).fetchall()
            finally:
                self.con.unregister(view)
        return counted[0]

    def register_arrow(self, name: str, data: pa.Table | pa.RecordBatchReader) -> None:
        """Expose Arrow data as a view ``name`` (a reader is consumed by the first scan)."""
        with self._lock:
            self.con.register(name, data)

    def unregister_arrow(self, name: str) -> None:
        with self._lock:
            self.con.unregister(name)

    def table_exists(self, table: str) -> bool:
        rows = self.query_rows(
            "SELECT count(*) FROM information_schema.tables WHERE table_name = ?", [table]
        )
        return bool(rows and rows[0][0])

    def tables(self) -> list[str]:
        rows = self.query_rows(
            "SELECT table_name FROM information_schema.tables ORDER BY table_name"
        )
        return [str(r[0]) for r in rows]

    def columns(self, table: str) -> list[str]:
        rows = self.query_rows(
            "SELECT column_name FROM information_schema.columns WHERE table_name = ? "
            "ORDER BY ordinal_position",
            [table],
        )
        return [str(r[0]) for r in rows]

    def column_types(self, table: str) -> dict[str, str]:
        """Column name → SQL type (DuckDB spelling, e.g. ``VARCHAR``, ``DECIMAL(18,2)``)."""
        rows = self.query_rows(
            "SELECT column_name, data_type FROM information_schema.columns WHERE table_name = ? "
            "ORDER BY ordinal_position", [table])
        return {str(r[0]): str(r[1]) for r in rows}

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """All statements inside commit together or not at all."""
        with self._lock:
            self.con.execute("BEGIN TRANSACTION").fetchall()
            try:
                yield
            except BaseException:
                self.con.execute("ROLLBACK").fetchall()
                raise
            self.con.execute("COMMIT").fetchall()

    def executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> None:
        with self._lock:
            self.con.executemany(sql, [list(r) for r in rows])

    def close(self) -> None:
        with self._lock:
            self.con.close()

    def __enter__(self) -> DuckDBEngine:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
