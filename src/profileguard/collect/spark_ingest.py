"""Ingesting Parquet sources on the Spark engine: the same gate, run where the data is.

``profileguard ingest --engine spark`` runs :func:`profileguard.collect.ingest.ingest`
unchanged — digest ledger, ``classify_sql`` transpiled to Spark SQL, the four loads in one
catalog transaction, reconciliation — with :func:`spark_stage` in place of DuckDB's
``stage_file``. Staging keeps the DuckDB stage's meaning:

* the file is read by Spark in place; its footer (read by pyarrow, no job) names the
  columns, which are renamed (``columns:``) and refused when undeclared exactly as on
  DuckDB (``stage.canonical``); ``__row`` is Spark's Parquet ``row_index`` + 1, the
  1-based row DuckDB's ``file_row_number + 1`` gives;
* every transform (the person's id always pseudonymized, ``pseudonymize``, ``truncate_ip``,
  ``mask``, ``mask: true``...) runs once per DISTINCT value of its column, by the very
  function DuckDB's stage calls (``transforms.apply_transform``, ``pii_gate.mask_undeclared``),
  but on the executors — the distinct values of all of a file's transformed columns in
  one table, one ``mapInArrow`` job (``SparkEngine.map_arrow``) — and is joined back in
  SQL, so pseudonyms are byte-identical to ``store.keys.pseudonym``. The key travels to
  the executors inside the task (never written to the warehouse).

Which engine holds a source's gated table is decided once, by its first ingest: a Spark
ingest claims the source in the DuckDB table ``pg_spark_sources`` BEFORE it loads (so a
kill can never leave Spark rows a build would overwrite by exporting DuckDB's table);
``build --engine spark`` reads claimed sources from the Spark warehouse and exports only
the others from DuckDB. Mixing engines for one source is refused with what to do.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Iterable, Iterator
from datetime import datetime
from itertools import count

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from profileguard.collect.ingest import INGEST_FILES
from profileguard.collect.pii_gate import SAMPLE_ROWS, ColumnScan, scan_sample
from profileguard.collect.readers import ROW, SourceFile
from profileguard.collect.stage import (
    Progress,
    Staged,
    Transform,
    canonical,
    drop_order,
    plan_columns,
    staged_view,
    transform_kind,
    transform_values,
)
from profileguard.errors import ProfileguardError
from profileguard.manifest.model import FieldDecl, Manifest, Source
from profileguard.store.engine import DuckDBEngine
from profileguard.store.engine import quote_ident as q
from profileguard.store.spark import SparkEngine
from profileguard.store.spark_types import schema_types

#: DuckDB table: the sources whose gated table lives in the Spark warehouse
SPARK_SOURCES = "pg_spark_sources"
#: staged column types DuckDB's stage reads as text through Arrow, which Spark cannot match
_TEXT_ONLY = ("TIMESTAMP WITH TIME ZONE", "BLOB")
_MAPPED = pa.schema([pa.field("c", pa.int32()), pa.field("v", pa.string()),
                     pa.field("out", pa.string())])
_SERIAL = count(1)


def require_parquet(manifest: Manifest, names: Iterable[str]) -> None:
    """Refuse, naming them, sources Spark ingestion cannot read."""
    other = {n: manifest.sources[n].format for n in names
             if n in manifest.sources and manifest.sources[n].format != "parquet"}
    if other:
        listed = ", ".join(f"{n} ({fmt})" for n, fmt in sorted(other.items()))
        raise ProfileguardError(
            f"ingest --engine spark reads Parquet sources only; not Parquet: {listed}. "
            "Ingest them with --engine duckdb (select sources with --source), or convert "
            "the files to Parquet and declare `format: parquet`")


def spark_sources(duck: DuckDBEngine) -> set[str]:
    """Sources claimed by a Spark ingest (their gated tables live in the Spark warehouse)."""
    if not duck.table_exists(SPARK_SOURCES):
        return set()
    return {str(r[0]) for r in duck.query_rows(f"SELECT source FROM {SPARK_SOURCES}")}


def duckdb_sources(duck: DuckDBEngine) -> set[str]:
    """Sources with files ingested on DuckDB."""
    if not duck.table_exists(INGEST_FILES):
        return set()
    return {str(r[0]) for r in duck.query_rows(f"SELECT DISTINCT source FROM {INGEST_FILES}")}


def claim_for_spark(duck: DuckDBEngine, names: Iterable[str], now: datetime) -> None:
    """Record that ``names`` are ingested on Spark; refuse any already ingested on DuckDB."""
    wanted = set(names)
    taken = sorted(wanted & duckdb_sources(duck))
    if taken:
        raise ProfileguardError(
            f"source(s) {', '.join(taken)} were ingested with --engine duckdb; a source keeps "
            "the engine of its first ingest (docs/deploy.md, 'Ingesting on Spark'): ingest "
            "them with --engine duckdb, or start a fresh workspace to move them to Spark")
    duck.execute(f"CREATE TABLE IF NOT EXISTS {SPARK_SOURCES} (source VARCHAR, "
                 "claimed_at TIMESTAMP)")
    for name in sorted(wanted - spark_sources(duck)):
        duck.execute(f"INSERT INTO {SPARK_SOURCES} VALUES (?, ?)", [name, now])


def refuse_spark_sources(duck: DuckDBEngine, names: Iterable[str]) -> None:
    """A DuckDB ingest of a source claimed by Spark would load rows no Spark build reads."""
    taken = sorted(set(names) & spark_sources(duck))
    if taken:
        raise ProfileguardError(
            f"source(s) {', '.join(taken)} are ingested with --engine spark (their tables live "
            "in .profileguard/spark-warehouse/): ingest them with --engine spark")


def transform_batches(todo: tuple[Transform, ...], key: bytes,
                      batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
    """Executor side: distinct values ``v`` of column number ``c`` in, ``(c, v, out)`` out —
    the DuckDB stage's per-value functions, so both engines store the same bytes."""
    for batch in batches:
        codes, values = batch.column(0), batch.column(1).cast(pa.string())
        for code in pc.unique(codes).to_pylist():
            mine = pc.equal(codes, code)
            some = values.filter(mine)
            out = transform_values(todo[code], some, key)
            yield pa.RecordBatch.from_arrays([codes.filter(mine), some, out],
                                             schema=_MAPPED)


def _raw_view(engine: SparkEngine, sf: SourceFile, source: Source,
              declared: dict[str, FieldDecl], keep: list[str], refused: set[str],
              name: str) -> dict[str, str]:
    """``__row`` and the kept columns of the file under their canonical names, as a view;
    returns the column types (DuckDB spelling, as DuckDB's stage reports them)."""
    from pyspark.sql import functions as F

    try:
        names = pq.read_schema(sf.path).names
    except (pa.ArrowInvalid, OSError) as exc:
        raise ProfileguardError(f"{sf.path}: not a readable Parquet file: {exc}") from None
    found = canonical(names, source, declared, refused)
    frame = engine.spark.read.parquet(sf.path)
    cols = [(F.col(f"`{found[c]}`") if c in found else F.lit(None).cast("string")).alias(c)
            for c in keep]
    view = frame.select((F.col("_metadata.row_index") + 1).alias(ROW), *cols)
    engine.register_view(name, view)
    return schema_types(json.loads(view.schema.json()))


def _scan(engine: SparkEngine, raw: str, columns: list[str], declared: dict[str, FieldDecl]
          ) -> dict[str, ColumnScan]:
    """The PI scanner on the first rows of the file, as DuckDB's stage samples them."""
    scans: dict[str, ColumnScan] = {}
    if not columns:
        return scans
    sample = engine.query_arrow(
        f"SELECT {', '.join(f'CAST({q(c)} AS VARCHAR) AS {q(c)}' for c in columns)} "
        f"FROM {q(raw)} ORDER BY {ROW} LIMIT {SAMPLE_ROWS}")
    for col in columns:
        scan_sample(sample.column(col).combine_chunks(), col, declared[col],
                    scans.setdefault(col, ColumnScan()))
    return scans


def spark_stage(engine: SparkEngine, sf: SourceFile, source: Source,
                declared: dict[str, FieldDecl], key: bytes, refused: set[str], *,
                progress: Progress | None = None, label: str = "",
                want_users: bool = False) -> Staged:
    """Stage a Parquet file on Spark: what ``stage.stage_file`` gives DuckDB's gate."""
    if sf.format != "parquet":
        raise ProfileguardError(f"{sf.path}: ingest --engine spark reads Parquet files only")
    serial = next(_SERIAL)
    keep = [c for c, d in declared.items() if d.transform != "drop"]
    raw = f"_stage_raw_{label}_{serial}"
    objects: list[tuple[str, str]] = []
    try:
        raw_types = _raw_view(engine, sf, source, declared, keep, refused, raw)
        objects.append(("VIEW", raw))
        odd = sorted(c for c in keep if raw_types[c] in _TEXT_ONLY)
        if odd:
            raise ProfileguardError(
                f"{sf.path}: column(s) {', '.join(odd)} are zoned timestamps or binary; "
                "ingest --engine spark reads them only as plain types: ingest this source "
                "with --engine duckdb, or write them as naive UTC timestamps / text")
        rows = int(engine.query_rows(f"SELECT count(*) FROM {q(raw)}")[0][0])
        if progress:
            progress(label, rows)
        scans = _scan(engine, raw, [c for c in keep if declared[c].type == "string" and
                                    transform_kind(c, declared[c], source) == "none"], declared)
        select, types, todo = plan_columns(keep, declared, source, raw_types)
        joins, users = _transform(engine, raw, todo, key, f"{label}_{serial}", objects,
                                  source.user if want_users else None)
        staged = staged_view(engine, f"_stage_{label}_{serial}", raw, select, joins, objects)
    except BaseException:
        Staged("", 0, "", {}, objects=list(reversed(objects))).drop(engine)
        raise
    return Staged(staged, rows, raw, types, users, scans, drop_order(objects),
                  {c for c, _, _ in todo})


def _transform(engine: SparkEngine, raw: str, todo: list[Transform], key: bytes, name: str,
               objects: list[tuple[str, str]], user: str | None) -> tuple[list[str], list[str]]:
    """The distinct values of every column in ``todo`` (one table), transformed by ONE
    ``mapInArrow`` job; returns the joins ``m<i>`` that bring them back, and the raw ids of
    column ``user`` (for the identity map) if it is among them."""
    if not todo:
        return [], []
    distinct, mapping = f"_stage_distinct_{name}", f"_stage_map_{name}"
    engine.execute(f"CREATE TEMP TABLE {q(distinct)} AS " + " UNION ALL ".join(
        f"SELECT DISTINCT CAST({i} AS INTEGER) AS c, CAST({q(col)} AS VARCHAR) AS v "
        f"FROM {q(raw)} WHERE {q(col)} IS NOT NULL" for i, (col, _, _) in enumerate(todo)))
    objects.append(("TABLE", distinct))
    users: list[str] = []
    code = next((i for i, (col, _, _) in enumerate(todo) if col == user), None)
    if code is not None:
        users = sorted(v for v in engine.query_arrow(
            f"SELECT v FROM {q(distinct)} WHERE c = {code}").column("v").to_pylist() if v)
    engine.map_arrow(distinct, mapping, functools.partial(transform_batches, tuple(todo), key),
                     _MAPPED)
    objects.append(("TABLE", mapping))
    joins = [f"LEFT JOIN (SELECT v, out FROM {q(mapping)} WHERE c = {i}) m{i} "
             f"ON m{i}.v = CAST(s.{q(col)} AS VARCHAR)" for i, (col, _, _) in enumerate(todo)]
    return joins, users
