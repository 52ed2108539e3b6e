"""The Spark engine: the build's DuckDB SQL transpiled by sqlglot and run on a SparkSession.

``SparkEngine`` implements the :class:`~profileguard.store.engine.Engine` protocol, so the
profile build runs unchanged on a Spark cluster (``--engine spark``). Each statement is
parsed as DuckDB SQL, its ``?`` parameters become literals in the tree
(``spark_sql.parse``), and it is rendered as Spark SQL (``spark_sql.to_spark``).

Spark SQL over plain Parquet lacks what the build relies on, so the engine supplies it
over the versioned warehouse of ``spark_catalog``:

* ``CREATE [OR REPLACE] TABLE x AS q`` runs ``q``, writes a new Parquet version of ``x``
  and switches ``x``'s pointer atomically; ``CREATE TABLE x (col type, ...)`` writes an
  empty version (constraints such as PRIMARY KEY are not enforced).
* ``INSERT INTO x VALUES/SELECT`` writes the new rows (cast to ``x``'s column types) as
  the next version, beside hard links to the previous version's files: old ∪ rows.
* ``DELETE FROM x WHERE c`` writes the rows where ``c`` is not true as the next version.
* ``CREATE TEMP TABLE`` keeps the table in a folder of this engine only, never in the
  pointer file; it is deleted on ``close`` (or, after a kill, when the warehouse is
  next opened).
* ``CREATE [TEMP] VIEW x AS q`` (and ``register_view``) names a query in this engine's
  session only — never written, never in the pointer file; how ingestion stages a file.
* ``DROP TABLE [IF EXISTS] x`` removes the pointer (``DROP VIEW`` the session view); ``CHECKPOINT`` is a no-op (every
  write is already on disk when the statement returns).
* ``transaction()`` buffers the pointer switches of all statements and publishes them
  with one atomic rename at the end; on an exception none is published and the new
  versions are deleted. Atomic: which versions are current. Not atomic: nothing else
  (there is nothing else — a version folder is never modified once written).

``map_arrow`` runs a Python function over a table's Arrow batches on the executors
(``DataFrame.mapInArrow``) into a temporary table — how predictive tags are scored.

Tables are registered in the engine's own Spark session (``newSession``: temporary
views of one engine never clash with another's) as views over their current version.
Reads return Arrow (``DataFrame.toArrow``); ``load_arrow`` goes through
``spark.createDataFrame`` with Arrow enabled, a reader in chunks so it is never whole in
memory. Timestamps are ``TIMESTAMP_NTZ`` and the session time zone UTC, matching
DuckDB's ``TIMESTAMP`` without time zone.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pyarrow as pa
from sqlglot import exp

from profileguard.errors import ProfileguardError
from profileguard.store.engine import WriteMode
from profileguard.store.spark_catalog import SparkCatalog, TableEntry
from profileguard.store.spark_sql import parse, referenced_tables, table_name, to_spark
from profileguard.store.spark_types import schema_types

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

MASTER_ENV = "PROFILEGUARD_SPARK_MASTER"
DEFAULT_MASTER = "local[*]"
LOAD_CHUNK_ROWS = 500_000

#: per-session settings every SparkEngine applies (see the module docstring for why)
SESSION_CONF = {
    "spark.sql.session.timeZone": "UTC",
    "spark.sql.timestampType": "TIMESTAMP_NTZ",
    "spark.sql.execution.arrow.pyspark.enabled": "true",
    "spark.sql.execution.arrow.pyspark.fallback.enabled": "false",
    "spark.sql.jsonGenerator.ignoreNullFields": "false",
    "spark.sql.parquet.inferTimestampNTZ.enabled": "true",
}


def spark_master(override: str | None = None) -> str:
    """The master URL: the option, else ``PROFILEGUARD_SPARK_MASTER``, else ``local[*]``."""
    return override or os.environ.get(MASTER_ENV) or DEFAULT_MASTER


def base_session(master: str, shuffle_partitions: int | None = None,
                 conf: Mapping[str, str] | None = None) -> SparkSession:
    """The process's SparkSession (created once; later calls reuse it whatever ``master``).

    ``conf`` adds settings (e.g. for tiny test data, ``spark.sql.adaptive.enabled=false``);
    ``spark.sql.*`` ones set here are inherited by every engine's session."""
    try:
        from pyspark.sql import SparkSession
    except ImportError:
        raise ProfileguardError("--engine spark needs pyspark: pip install 'profileguard[spark]'"
                                ) from None
    partitions = shuffle_partitions or int(os.environ.get("PROFILEGUARD_SPARK_PARTITIONS", "8"))
    # Python workers (mapInArrow scoring) run this interpreter, where profileguard is
    # installed, unless the deployment names another (docs/deploy.md)
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    builder = (SparkSession.builder.master(master).appName("profileguard")
               .config("spark.ui.enabled", "false")
               .config("spark.ui.showConsoleProgress", "false")
               .config("spark.sql.shuffle.partitions", str(partitions))
               .config("spark.driver.extraJavaOptions", "-Dderby.system.home=/tmp"))
    for key, value in (conf or {}).items():
        builder = builder.config(key, value)
    try:
        session: SparkSession = builder.getOrCreate()
    except Exception as err:  # the JVM failed to start: no Java, bad master URL
        raise ProfileguardError(f"cannot start Spark with master {master!r}: {err}; "
                                "allowed: local[N], local[*], spark://host:port, yarn") from None
    session.sparkContext.setLogLevel(os.environ.get("PROFILEGUARD_SPARK_LOG_LEVEL", "ERROR"))
    return session


class SparkEngine:
    """An analytical engine over a versioned Parquet warehouse folder, run by Spark."""

    dialect = "duckdb"  # the SQL it accepts; it runs Spark SQL underneath

    def __init__(self, warehouse: str | Path, *, master: str | None = None,
                 session: SparkSession | None = None) -> None:
        base = session or base_session(spark_master(master))
        self.spark: SparkSession = base.newSession()
        self.spark.conf.set("spark.sql.shuffle.partitions",
                            base.conf.get("spark.sql.shuffle.partitions") or "8")
        for key, value in SESSION_CONF.items():
            self.spark.conf.set(key, value)
        self.catalog = SparkCatalog(warehouse)
        self._views: dict[str, str] = {}
        self._session_views: set[str] = set()
        self._lock = threading.RLock()

    # -- the Engine protocol -------------------------------------------------------------
    def execute(self, sql: str, params: Sequence[Any] | None = None) -> None:
        with self._lock:
            for statement in parse(sql, params):
                self._run(statement)

    def query_arrow(self, sql: str, params: Sequence[Any] | None = None) -> pa.Table:
        with self._lock:
            statements = parse(sql, params)
            if len(statements) != 1 or not isinstance(statements[0], exp.Query):
                raise ProfileguardError(f"Spark engine: query_arrow needs one SELECT: {sql[:200]}")
            return _plain_strings(self._frame(statements[0]).toArrow())

    def query_rows(self, sql: str, params: Sequence[Any] | None = None) -> list[tuple[Any, ...]]:
        table = self.query_arrow(sql, params)
        columns = [c.to_pylist() for c in table.columns]
        return list(zip(*columns, strict=True)) if columns else []

    def load_arrow(self, table: str, data: pa.Table | pa.RecordBatchReader,
                   mode: WriteMode = "append", *, temporary: bool = False) -> int:
        """Write Arrow data into ``table`` as a new version; returns rows written.

        ``temporary`` makes a table of this engine only (as ``CREATE TEMP TABLE``)."""
        with self._lock:
            old = self.catalog.get(table)
            if mode == "create" and old is not None:
                raise ProfileguardError(f"Spark engine: table {table!r} already exists")
            base = old if mode == "append" else None
            if base is not None and base.temporary != temporary:
                raise ProfileguardError(f"Spark engine: cannot append to {table!r}: it is "
                                        f"{'' if base.temporary else 'not '}temporary")
            written = 0
            version, path = self.catalog.new_location(table, temporary=temporary)
            frames = 0
            for chunk in _chunks(data):
                frame = self.spark.createDataFrame(chunk)
                if base is not None:
                    frame = self._conform(frame, base, by_name=True)
                frame.write.mode("append").parquet(str(path))
                written += chunk.num_rows
                frames += 1
            schema = base.schema if base is not None else None
            if frames == 0 and schema is None:
                empty = self.spark.createDataFrame(data.schema.empty_table())
                empty.write.mode("append").parquet(str(path))
                schema = json.loads(empty.schema.json())
            elif schema is None:
                schema = _parquet_schema(path)
            path.mkdir(parents=True, exist_ok=True)
            if base is not None:
                _link_files(self.catalog.location(base), path)
            self.catalog.put(table, version, schema, temporary=temporary)
            return written

    def map_arrow(self, source: str, target: str,
                  fn: Callable[[Iterator[pa.RecordBatch]], Iterator[pa.RecordBatch]],
                  schema: pa.Schema) -> None:
        """Write ``fn`` applied to ``source``'s Arrow batches as the temporary table ``target``.

        ``fn`` runs on the executors through ``DataFrame.mapInArrow`` (one call per
        partition, its batches streamed), so no row passes through the driver. It is
        pickled: a module-level function, or a ``functools.partial`` of one over picklable
        data. ``schema`` is what ``fn`` yields (names and Arrow types)."""
        from pyspark.sql.pandas.types import from_arrow_schema

        with self._lock:
            frame = self._frame(exp.select(exp.Star()).from_(exp.to_table(source)))
            mapped = frame.mapInArrow(fn, from_arrow_schema(schema))
            try:
                self._write(target, mapped, temporary=True)
            except Exception as err:
                if type(err).__name__ != "PythonException":
                    raise
                lines = [x for x in str(err).splitlines() if x.strip()]
                raise ProfileguardError(f"Spark engine: scoring {source} into {target} failed "
                                        f"on an executor: {lines[-1] if lines else err}"
                                        ) from None

    def adopt_parquet(self, table: str, write: Callable[[Path], None]) -> None:
        """Make Parquet files written by ``write(folder)`` (e.g. DuckDB's COPY) the next
        version of ``table``; its schema is read from the files."""
        with self._lock:
            version, path = self.catalog.new_location(table)
            path.mkdir(parents=True)
            write(path)
            schema = _parquet_schema(path)
            self.catalog.put(table, version, schema)

    def register_view(self, name: str, frame: DataFrame) -> None:
        """Name ``frame`` in this engine's session (as ``CREATE TEMP VIEW``; not stored)."""
        with self._lock:
            frame.createOrReplaceTempView(name)
            self._session_views.add(name.lower())

    def table_exists(self, table: str) -> bool:
        self.catalog.refresh()
        return self.catalog.get(table) is not None

    def tables(self) -> list[str]:
        self.catalog.refresh()
        return self.catalog.names()

    def columns(self, table: str) -> list[str]:
        return list(self.column_types(table))

    def column_types(self, table: str) -> dict[str, str]:
        """Column name → type in DuckDB spelling (``VARCHAR``, ``DECIMAL(18,2)``, ...)."""
        self.catalog.refresh()
        entry = self.catalog.get(table)
        return schema_types(entry.schema) if entry is not None else {}

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """Pointer switches inside commit together (one rename) or not at all."""
        with self._lock, self.catalog.transaction():
            yield

    def close(self) -> None:
        with self._lock:
            for name in [*self._views, *self._session_views]:
                self.spark.catalog.dropTempView(name)
            self._views.clear()
            self._session_views.clear()
            self.catalog.close()

    def __enter__(self) -> SparkEngine:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- statements ----------------------------------------------------------------------
    def _run(self, statement: exp.Expr) -> None:
        if isinstance(statement, exp.Create):
            self._create(statement)
        elif isinstance(statement, exp.Insert):
            self._insert(statement)
        elif isinstance(statement, exp.Delete):
            self._delete(statement)
        elif isinstance(statement, exp.Drop):
            self._drop(statement)
        elif isinstance(statement, exp.Query):
            self._frame(statement)  # analysed (names and types checked), not collected
        elif _is_checkpoint(statement):
            return
        else:
            raise ProfileguardError(f"Spark engine: statement not supported: "
                                    f"{statement.sql(dialect='duckdb')[:200]} (allowed: SELECT, "
                                    "CREATE TABLE [AS], INSERT, DELETE, DROP TABLE, CHECKPOINT)")

    def _create(self, statement: exp.Create) -> None:
        kind = str(statement.args.get("kind") or "").upper()
        if kind == "VIEW" and isinstance(statement.expression, exp.Query):
            self.register_view(table_name(statement.this), self._frame(statement.expression))
            return
        if kind != "TABLE":
            raise ProfileguardError(f"Spark engine: CREATE {kind} is not supported "
                                    "(allowed: CREATE [OR REPLACE] TABLE, CREATE VIEW AS)")
        name = table_name(statement.this)
        if self.catalog.get(name) is not None and not statement.args.get("replace"):
            if statement.args.get("exists"):
                return
            raise ProfileguardError(f"Spark engine: table {name!r} already exists "
                                    "(use CREATE OR REPLACE TABLE or IF NOT EXISTS)")
        props = statement.args.get("properties")
        temporary = props is not None and any(
            isinstance(p, exp.TemporaryProperty) for p in props.expressions)
        query = statement.expression
        if isinstance(query, exp.Query):
            frame = self._frame(query)
        elif isinstance(statement.this, exp.Schema):
            ddl = ", ".join(_column_ddl(c) for c in statement.this.expressions
                            if isinstance(c, exp.ColumnDef))
            frame = self.spark.createDataFrame([], ddl)
        else:
            raise ProfileguardError(f"Spark engine: CREATE TABLE {name} needs AS SELECT or columns")
        self._write(name, frame, temporary=temporary)

    def _insert(self, statement: exp.Insert) -> None:
        target = statement.this
        name = table_name(target)
        entry = self._entry(name)
        source = statement.expression
        if isinstance(source, exp.Values):
            source = exp.select(exp.Star()).from_(source.copy())
        if not isinstance(source, exp.Query):
            raise ProfileguardError("Spark engine: INSERT needs VALUES or a SELECT")
        rows = self._frame(source)
        if isinstance(target, exp.Schema):
            names = [c.name for c in target.expressions]
            rows = rows.toDF(*names)
            rows = self._conform(rows, entry, by_name=True)
        else:
            rows = self._conform(rows, entry, by_name=bool(statement.args.get("by_name")))
        version, path = self.catalog.new_location(name, temporary=entry.temporary)
        rows.write.mode("append").parquet(str(path))
        _link_files(self.catalog.location(entry), path)
        self.catalog.put(entry.name, version, entry.schema, temporary=entry.temporary)

    def _delete(self, statement: exp.Delete) -> None:
        name = table_name(statement.this)
        entry = self._entry(name)
        where = statement.args.get("where")
        keep = exp.select(exp.Star()).from_(exp.to_table(name))
        if where is not None:
            condition = exp.Coalesce(this=exp.Paren(this=where.this.copy()),
                                     expressions=[exp.false()])
            keep = keep.where(exp.not_(condition))
        else:
            keep = keep.where(exp.false())
        self._write(entry.name, self._frame(keep), schema=entry.schema,
                    temporary=entry.temporary)

    def _drop(self, statement: exp.Drop) -> None:
        kind = str(statement.args.get("kind") or "").upper()
        tables = statement.args.get("tables") or [statement.this]
        if kind == "VIEW":
            for view in (table_name(t).lower() for t in tables):
                self._session_views.discard(view)
                self.spark.catalog.dropTempView(view)
            return
        if kind != "TABLE":
            raise ProfileguardError(f"Spark engine: DROP {kind} is not supported")
        for table in tables:
            self._drop_one(table_name(table), if_exists=bool(statement.args.get("exists")))

    def _drop_one(self, name: str, *, if_exists: bool) -> None:
        if self.catalog.get(name) is None:
            if if_exists:
                return
            raise ProfileguardError(f"Spark engine: table {name!r} does not exist")
        self.catalog.drop(name)
        self._forget(name)

    # -- helpers -------------------------------------------------------------------------
    def _entry(self, name: str) -> TableEntry:
        entry = self.catalog.get(name)
        if entry is None:
            raise ProfileguardError(f"Spark engine: table {name!r} does not exist "
                                    f"(tables: {', '.join(self.catalog.names()) or 'none'})")
        return entry

    def _frame(self, query: exp.Expr) -> DataFrame:
        self.catalog.refresh()
        types: dict[str, set[str]] = {}
        for name in referenced_tables(query):
            self._register(name)
            entry = self.catalog.get(name)
            for column, kind in (schema_types(entry.schema) if entry else {}).items():
                types.setdefault(column.lower(), set()).add(kind)
        doubles = {c for c, kinds in types.items() if kinds <= {"DOUBLE", "FLOAT"}}
        sql = to_spark(query, doubles)
        try:
            return self.spark.sql(sql)
        except Exception as err:
            if type(err).__name__ not in {"AnalysisException", "ParseException"}:
                raise
            raise ProfileguardError(f"Spark engine: {str(err).splitlines()[0]} in: {sql[:400]}"
                                    ) from None

    def _register(self, key: str) -> None:
        entry = self.catalog.get(key)
        if entry is None:
            self._forget(key)
            return
        if self._views.get(key) == entry.version:
            return
        from pyspark.sql.types import StructType

        schema = StructType.fromJson(entry.schema)
        frame = self.spark.read.schema(schema).parquet(str(self.catalog.location(entry)))
        frame.createOrReplaceTempView(key)
        self._views[key] = entry.version

    def _forget(self, name: str) -> None:
        if self._views.pop(name.lower(), None) is not None:
            self.spark.catalog.dropTempView(name.lower())

    def _write(self, name: str, frame: DataFrame, schema: dict[str, Any] | None = None,
               *, temporary: bool = False) -> None:
        version, path = self.catalog.new_location(name, temporary=temporary)
        frame.write.mode("errorifexists").parquet(str(path))
        self.catalog.put(name, version, schema or json.loads(frame.schema.json()),
                         temporary=temporary)

    def _conform(self, frame: DataFrame, entry: TableEntry, *, by_name: bool) -> DataFrame:
        """``frame`` with ``entry``'s columns, in order and types (missing ones NULL)."""
        from pyspark.sql import functions as F
        from pyspark.sql.types import StructType

        fields = StructType.fromJson(entry.schema).fields
        if not by_name:
            if len(frame.columns) != len(fields):
                raise ProfileguardError(f"Spark engine: table {entry.name!r} has {len(fields)} "
                                        f"columns but {len(frame.columns)} values were supplied")
            frame = frame.toDF(*(f.name for f in fields))
        have = {c.lower(): c for c in frame.columns}
        extra = set(have) - {f.name.lower() for f in fields}
        if extra:
            raise ProfileguardError(f"Spark engine: table {entry.name!r} has no column(s) "
                                    f"{', '.join(sorted(extra))}")
        return frame.select(*[
            (F.col(f"`{have[f.name.lower()]}`") if f.name.lower() in have else F.lit(None))
            .cast(f.dataType).alias(f.name) for f in fields])


def _parquet_schema(folder: Path) -> dict[str, Any]:
    """Spark schema JSON of the Parquet files in ``folder``, read from a footer by pyarrow
    (no Spark job); naive timestamps become TIMESTAMP_NTZ."""
    import pyarrow.parquet as pq
    from pyspark.sql.pandas.types import from_arrow_schema

    files = sorted(folder.glob("*.parquet"))
    if not files:
        raise ProfileguardError(f"Spark engine: no Parquet files were written to {folder}")
    schema: dict[str, Any] = from_arrow_schema(pq.read_schema(files[0])).jsonValue()
    return schema


def _plain_strings(table: pa.Table) -> pa.Table:
    """Arrow from Spark may use large_string; DuckDB hands out string — match it."""
    fields = [pa.field(f.name, pa.string(), f.nullable) if pa.types.is_large_string(f.type)
              else f for f in table.schema]
    return table.cast(pa.schema(fields)) if fields != list(table.schema) else table


def _chunks(data: pa.Table | pa.RecordBatchReader) -> Iterator[pa.Table]:
    if isinstance(data, pa.Table):
        if data.num_rows:
            for start in range(0, data.num_rows, LOAD_CHUNK_ROWS):
                yield data.slice(start, LOAD_CHUNK_ROWS)
        return
    batches: list[pa.RecordBatch] = []
    rows = 0
    for batch in data:
        batches.append(batch)
        rows += batch.num_rows
        if rows >= LOAD_CHUNK_ROWS:
            yield pa.Table.from_batches(batches, data.schema)
            batches, rows = [], 0
    if rows:
        yield pa.Table.from_batches(batches, data.schema)


def _link_files(source: Path, target: Path) -> None:
    """Add ``source``'s Parquet files to ``target`` (hard links; copies across devices)."""
    for file in source.glob("*.parquet"):
        dest = target / file.name  # part names carry a unique id: no clash
        try:
            os.link(file, dest)
        except OSError:
            shutil.copy2(file, dest)


def _column_ddl(column: exp.ColumnDef) -> str:
    kind = column.args.get("kind")
    if kind is None:
        raise ProfileguardError(f"Spark engine: column {column.name!r} needs a type")
    spark_type = "STRING" if kind.this == exp.DataType.Type.JSON else kind.sql(dialect="spark")
    return f"`{column.name}` {spark_type}"


def _is_checkpoint(statement: exp.Expr) -> bool:
    """DuckDB's CHECKPOINT (flush the WAL) — sqlglot reads the bare keyword as a column."""
    text = statement.name if isinstance(statement, exp.Column | exp.Command) else ""
    return text.upper() == "CHECKPOINT"
