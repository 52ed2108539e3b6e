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
  ``mask``, ``mask: true``...) runs by the very function DuckDB's stage calls
  (``stage.transform_values``: ``transforms.apply_transform``, ``pii_gate.mask_undeclared``)
  but on the executors, as an Arrow UDF in the staged relation: only the transformed
  columns travel to the Python workers, once per DISTINCT value of each Arrow batch (the
  person's ids also once per worker), and the row never leaves the JVM — one pass over the
  file, no join, no shuffle. Pseudonyms are byte-identical to ``store.keys.pseudonym``.
  The key travels to the executors inside the task (never written to the warehouse);
* the file's row count is its footer's; the PI scanner's sample is its first rows, read
  from the first split; the keys that repeat (``GateSpec.duplicates``) are found by one
  aggregation before the gate runs; the raw ids of the people come to the driver as one
  distinct column, for the identity map.

Which engine holds a source's gated table is decided once, by its first ingest: a Spark
ingest claims the source in the DuckDB table ``pg_spark_sources`` BEFORE it loads (so a
kill can never leave Spark rows a build would overwrite by exporting DuckDB's table);
``build --engine spark`` reads claimed sources from the Spark warehouse and exports only
the others from DuckDB. Mixing engines for one source is refused with what to do.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from datetime import datetime
from itertools import count
from typing import TYPE_CHECKING

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from profileguard.collect.gate import typed_expr
from profileguard.collect.ingest import INGEST_FILES
from profileguard.collect.pii_gate import SAMPLE_ROWS, ColumnScan, scan_sample
from profileguard.collect.readers import ROW, SourceFile
from profileguard.collect.stage import (
    Progress,
    Staged,
    Transform,
    canonical,
    drop_order,
    pid_cache,
    plan_columns,
    transform_kind,
    transform_values,
)
from profileguard.errors import ProfileguardError
from profileguard.manifest.model import FieldDecl, Manifest, Source
from profileguard.store.engine import DuckDBEngine
from profileguard.store.engine import quote_ident as q
from profileguard.store.spark import SparkEngine
from profileguard.store.spark_types import schema_types

if TYPE_CHECKING:
    from pyspark.sql import DataFrame

#: DuckDB table: the sources whose gated table lives in the Spark warehouse
SPARK_SOURCES = "pg_spark_sources"
#: staged column types DuckDB's stage reads as text through Arrow, which Spark cannot match
_TEXT_ONLY = ("TIMESTAMP WITH TIME ZONE", "BLOB")
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


def _transform_batch(transform: Transform, key: bytes, person: bool,
                     values: pa.Array) -> pa.Array:
    """One batch of the text of column ``transform[0]`` in, its staged text out: each
    distinct value of the batch transformed once by the DuckDB stage's function."""
    encoded = pc.dictionary_encode(values)  # nulls stay in the indices: NULL out
    cache = pid_cache(key) if person else None
    return transform_values(transform, encoded.dictionary, key, cache).take(encoded.indices)


def transform_column(transform: Transform, key: bytes, person: bool
                     ) -> Callable[[pa.Array], pa.Array]:
    """Executor side, the function of an Arrow UDF: :func:`_transform_batch` on each batch,
    so both engines store the same bytes. ``person``: the column is the person's id, whose
    pseudonyms a Python worker also keeps across batches (bounded by the number of people,
    as DuckDB's stage keeps them)."""

    def run(values: pa.Array) -> pa.Array:
        return _transform_batch(transform, key, person, values)

    return run


def _footer(sf: SourceFile) -> tuple[list[str], int]:
    """The file's column names and rows, from its Parquet footer (pyarrow, no job)."""
    try:
        meta = pq.read_metadata(sf.path)
    except (pa.ArrowInvalid, OSError) as exc:
        raise ProfileguardError(f"{sf.path}: not a readable Parquet file: {exc}") from None
    return meta.schema.to_arrow_schema().names, meta.num_rows


def _raw_view(engine: SparkEngine, sf: SourceFile, names: list[str], source: Source,
              declared: dict[str, FieldDecl], keep: list[str], refused: set[str],
              name: str) -> tuple[DataFrame, dict[str, str]]:
    """``__row`` and the kept columns of the file under their canonical names, as a view;
    returns it and the column types (DuckDB spelling, as DuckDB's stage reports them)."""
    from pyspark.sql import functions as F

    found = canonical(names, source, declared, refused)
    frame = engine.spark.read.parquet(sf.path)
    cols = [(F.col(f"`{found[c]}`") if c in found else F.lit(None).cast("string")).alias(c)
            for c in keep]
    view = frame.select((F.col("_metadata.row_index") + 1).alias(ROW), *cols)
    engine.register_view(name, view)
    return view, schema_types(json.loads(view.schema.json()))


def _scan(raw: DataFrame, columns: list[str], declared: dict[str, FieldDecl]
          ) -> dict[str, ColumnScan]:
    """The PI scanner on the first rows of the file, as DuckDB's stage samples them.

    The rows with ``__row`` ≤ SAMPLE_ROWS are exactly the first ones; collected with a
    limit, Spark reads the file's first split until it has them (``ORDER BY __row`` would
    read the whole file), and they are put in order here."""
    from pyspark.sql import functions as F

    scans: dict[str, ColumnScan] = {}
    if not columns:
        return scans
    rows = sorted(raw.where(F.col(ROW) <= SAMPLE_ROWS)
                  .select(ROW, *[F.col(f"`{c}`").cast("string") for c in columns])
                  .limit(SAMPLE_ROWS).collect(), key=lambda r: int(r[0]))
    for i, col in enumerate(columns, start=1):
        scan_sample(pa.array([r[i] for r in rows], pa.string()), col, declared[col],
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
    staged = f"_stage_{label}_{serial}"
    objects: list[tuple[str, str]] = []
    try:
        names, rows = _footer(sf)
        frame, raw_types = _raw_view(engine, sf, names, source, declared, keep, refused, raw)
        objects.append(("VIEW", raw))
        odd = sorted(c for c in keep if raw_types[c] in _TEXT_ONLY)
        if odd:
            raise ProfileguardError(
                f"{sf.path}: column(s) {', '.join(odd)} are zoned timestamps or binary; "
                "ingest --engine spark reads them only as plain types: ingest this source "
                "with --engine duckdb, or write them as naive UTC timestamps / text")
        if progress:
            progress(label, rows)
        scans = _scan(frame, [c for c in keep if declared[c].type == "string" and
                              transform_kind(c, declared[c], source) == "none"], declared)
        _, types, todo = plan_columns(keep, declared, source, raw_types)
        users = (_people(engine, raw, source.user) if want_users and source.user
                 and any(col == source.user for col, _, _ in todo) else [])
        engine.register_view(staged, _transformed(frame, keep, todo, key, source.user))
        objects.insert(0, ("VIEW", staged))
        transformed = {c for c, _, _ in todo}
        duplicates = None
        if source.key and source.key in keep:
            duplicates = f"_stage_dups_{label}_{serial}"
            _find_duplicates(engine, staged if source.key in transformed else raw, source.key,
                             declared[source.key], source, types[source.key], duplicates)
            objects.append(("TABLE", duplicates))
    except BaseException:
        Staged("", 0, "", {}, objects=list(reversed(objects))).drop(engine)
        raise
    return Staged(staged, rows, raw, types, users, scans, drop_order(objects), transformed,
                  duplicates=duplicates)


def _find_duplicates(engine: SparkEngine, keys: str, key: str, decl: FieldDecl,
                     source: Source, staged_type: str, name: str) -> None:
    """The gate's repeated keys (``GateSpec.duplicates``: the values of column ``key``
    that repeat, typed, as ``__dup_key``, each with its first row ``__dup_first``) from
    ``keys`` (``__row`` and the key as staged), as the temporary table ``name``.

    The keys that repeat are few, so almost every group has one row: on Spark one
    aggregation with its partial (pre-shuffle) step skipped costs half of DuckDB's
    hash-then-exact two steps with it, which spill a hash map of every key (5M rows: 7
    against 15 CPU s)."""
    k = typed_expr(key, decl, source, staged_type)
    conf = "spark.sql.execution.bypassPartialAggregation"
    before = engine.spark.conf.get(conf, "false")
    engine.spark.conf.set(conf, "true")
    try:
        engine.execute(f"CREATE TEMP TABLE {q(name)} AS SELECT {k} AS __dup_key, "
                       f"min(__row) AS __dup_first FROM {q(keys)} GROUP BY __dup_key "
                       "HAVING count(*) > 1")
    finally:
        engine.spark.conf.set(conf, before or "false")


def _transformed(raw: DataFrame, keep: list[str], todo: list[Transform], key: bytes,
                 user: str | None) -> DataFrame:
    """The staged relation: ``raw`` with every column of ``todo`` replaced by its transform,
    an Arrow UDF over the column's text (``stage.plan_columns`` gives its types).

    Only the transformed columns travel to the Python workers and back, in Arrow batches;
    the row stays in the JVM (no join, no shuffle), so staging is one pass over the file."""
    from pyspark.sql import functions as F
    from pyspark.sql.pandas.functions import arrow_udf

    # the type-hinted form (no ``functionType``), which pyspark's stubs do not list
    udfs = {t[0]: arrow_udf(transform_column(t, key, t[0] == user),  # type: ignore[call-overload]
                            "string") for t in todo}
    return raw.select(F.col(ROW), *[
        udfs[c](F.col(f"`{c}`").cast("string")).alias(c) if c in udfs else F.col(f"`{c}`")
        for c in keep])


def _people(engine: SparkEngine, raw: str, user: str) -> list[str]:
    """The raw ids of the people in the file (non-empty), for the identity map: one
    distinct column brought to the driver."""
    ids = engine.query_arrow(f"SELECT DISTINCT CAST({q(user)} AS VARCHAR) AS v "
                             f"FROM {q(raw)} WHERE {q(user)} IS NOT NULL").column("v")
    return sorted(v for v in ids.to_pylist() if v)
