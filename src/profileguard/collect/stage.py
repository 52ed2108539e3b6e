"""Staging one file in DuckDB before the gate: renamed, refused, sampled and transformed.

A Parquet file is read by DuckDB itself (native column types, ``file_row_number`` for
``__row``); CSV, JSON lines and database tables arrive as Arrow batches of text from
:mod:`profileguard.collect.readers`, kept as one Arrow table that DuckDB scans in place
(files up to ``IN_MEMORY_TEXT_BYTES``) or copied into a temporary table once. Either
way the result is a relation of the kept declared columns under their canonical names
plus ``__row``; columns the manifest does not declare are reported as refused and never
reach it.

The declared transforms (the person's id always pseudonymized, ``pseudonymize``, ``mask``,
``truncate_ip``, ``hash``, ``generalize_*``, and ``mask: true`` masking of undeclared
personal information) are functions of one value, so each runs once per DISTINCT value of
its column in the whole file, in Python, and its result is joined back in SQL. They run on
a worker thread while DuckDB (which releases the GIL) works beside them: reading the next
column's distinct values, finding the repeated keys for the gate's duplicate check, and —
for the columns the gate only carries (not the key, the person, the time, typed or mapped
columns: :func:`~profileguard.collect.gate.gate_reads`), which are staged as read —
classifying the file; the ingest joins their stored values in when it loads the clean rows.
The scanner for undeclared personal information reads the first rows of the file, each
distinct value once.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from itertools import count
from pathlib import Path
from typing import Any, Protocol

import duckdb
import pyarrow as pa

from profileguard.collect.gate import duplicates_sql, gate_reads
from profileguard.collect.pii_gate import SAMPLE_ROWS, ColumnScan, mask_undeclared, scan_sample
from profileguard.collect.readers import ROW, SourceFile
from profileguard.collect.transforms import apply_transform
from profileguard.manifest.model import FieldDecl, Source
from profileguard.store.engine import DuckDBEngine, Engine
from profileguard.store.engine import quote_ident as q

Progress = Callable[[str, int], None]
#: pseudonyms of person ids seen in this process, per key (bounded by the number of people)
_PID_CACHE: dict[bytes, dict[str, str]] = {}


def pid_cache(key: bytes) -> dict[str, str]:
    """The pseudonyms of person ids this process has computed under ``key``, kept across
    files and batches by both stages (DuckDB's here; Spark's in each Python worker)."""
    return _PID_CACHE.setdefault(key, {})

_SERIAL = count(1)
#: a text file up to this size is staged as an Arrow table held in memory (about the file's
#: size; scanned by DuckDB in place, freed when the file is done); a larger one, or a
#: database table, is streamed into a DuckDB temporary table, which spills to disk under
#: DuckDB's memory limit. Copying text into DuckDB's storage costs more CPU than parsing it.
IN_MEMORY_TEXT_BYTES = 1 << 30
#: the kind of a staged object that is an Arrow table registered with DuckDB
ARROW = "ARROW"


@dataclass
class Staged:
    """A staged file: ``relation`` holds ``__row`` and the kept columns, transformed (but
    the ``late`` ones, as read until :meth:`finish`)."""

    relation: str
    rows: int
    #: ``__row`` and the untransformed columns as read: cheaper for the gate's key checks
    raw: str
    #: DuckDB type of each staged column (``VARCHAR`` for text and transformed columns)
    types: dict[str, str]
    #: raw ids of the people in the file (non-empty), for the identity map
    users: list[str] = field(default_factory=list)
    scans: dict[str, ColumnScan] = field(default_factory=dict)
    #: temporary views and tables to drop once the file is done (dropped in this order)
    objects: list[tuple[str, str]] = field(default_factory=list)
    #: columns whose staged values differ from the file's (transformed or masked)
    transformed: set[str] = field(default_factory=set)
    #: the gate's repeated keys (:func:`~profileguard.collect.gate.duplicates_sql`), when
    #: the stage found them while the transforms ran
    duplicates: str | None = None
    #: ``__row`` and the primary key as staged, when the key is transformed: the file with
    #: only the key's mapping joined
    key_view: str | None = None
    #: transformed columns the gate only carries (not in
    #: :func:`~profileguard.collect.gate.gate_reads`), staged in ``relation`` as read (as
    #: text) while their transforms still run: :meth:`finish` waits for them
    late: list[str] = field(default_factory=list)
    #: the transforms of the ``late`` columns, until :meth:`finish`
    pending: LateTransforms | None = None
    #: the staged relation is cheap to read again (DuckDB's stage: a view over the Parquet
    #: file, an Arrow table in memory or a temporary table): the gate then keeps only the
    #: rows that fail, reading only the columns it checks, and the clean rows load straight
    #: from the staged relation (:func:`~profileguard.collect.ingest.ingest_file`)
    rescan: bool = False

    def finish(self) -> LateMappings | None:
        """Wait for the transforms of the ``late`` columns: their mappings, and the staged
        relation with every transform joined (None when there are no late columns)."""
        if self.pending is None:
            return None
        done, self.pending = self.pending.finish(), None
        self.objects = drop_order(self.objects + done.objects)
        return done

    def keys(self, column: str | None) -> str | None:
        """A relation with ``__row`` and ``column`` as staged that is cheaper to read than
        ``relation`` (the gate's key checks read it): ``raw`` when the column is staged as
        read, ``key_view`` when it is the transformed key, else None."""
        if not column:
            return None
        return self.raw if column not in self.transformed else self.key_view

    def drop(self, engine: Engine) -> None:
        if self.pending is not None:
            self.pending.close()
        for kind, name in self.objects:
            if kind == ARROW:
                if isinstance(engine, DuckDBEngine):  # only DuckDB's stage registers Arrow
                    engine.unregister_arrow(name)
            else:
                engine.execute(f"DROP {kind} IF EXISTS {q(name)}")


class Stager(Protocol):
    """Stages one file in an engine (``stage_file`` for DuckDB; the Spark engine has its own)."""

    def __call__(self, engine: Any, sf: SourceFile, source: Source,
                 declared: dict[str, FieldDecl], key: bytes, refused: set[str], *,
                 progress: Progress | None = None, label: str = "",
                 want_users: bool = False) -> Staged: ...


def transform_kind(column: str, decl: FieldDecl, source: Source) -> str:
    """The transform a column gets at ingest: the person's id is always pseudonymized."""
    return "pseudonymize" if column == source.user else decl.transform


#: a column staged through a per-distinct-value mapping: (column, transform kind, its
#: declaration when it is text masked as undeclared PI — ``mask: true`` — else None)
Transform = tuple[str, str, FieldDecl | None]


def plan_columns(keep: list[str], declared: dict[str, FieldDecl], source: Source,
                 raw_types: dict[str, str]) -> tuple[list[str], dict[str, str], list[Transform]]:
    """The staged relation of every engine: its select list over the raw columns ``s``
    (``s.<column>`` for a column stored as read, ``m<i>.out`` for the i-th transformed one,
    whose mapping the engine joins as ``m<i>``), the staged types, and the transforms."""
    select: list[str] = [f"s.{ROW}"]
    types: dict[str, str] = {}
    todo: list[Transform] = []
    for col in keep:
        decl = declared[col]
        kind = transform_kind(col, decl, source)
        masked = kind == "none" and decl.type == "string" and decl.mask
        if kind == "none" and not masked:
            select.append(f"s.{q(col)}")
            types[col] = raw_types[col]
            continue
        select.append(f"m{len(todo)}.out AS {q(col)}")
        types[col] = "VARCHAR"
        todo.append((col, kind, decl if masked else None))
    return select, types, todo


def transform_values(transform: Transform, values: pa.Array, key: bytes,
                     cache: dict[str, str] | None = None) -> pa.Array:
    """The staged text of distinct ``values`` of one transformed column (both engines call
    this, so both store the same bytes)."""
    column, kind, masked = transform
    if masked is not None:
        return mask_undeclared(values, column, masked).cast(pa.string())
    return apply_transform(kind, values, key, cache).cast(pa.string())


def _lit(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def canonical(names: list[str], source: Source, declared: dict[str, FieldDecl],
               refused: set[str]) -> dict[str, str]:
    """Canonical name → the file's column holding it (the first, if renames collide)."""
    found: dict[str, str] = {}
    for raw in names:
        if raw == ROW:
            continue
        name = source.columns.get(raw, raw)
        if name not in declared:
            refused.add(name)
        found.setdefault(name, raw)
    return found


def _stage_parquet(engine: DuckDBEngine, sf: SourceFile, source: Source,
                   declared: dict[str, FieldDecl], keep: list[str], refused: set[str],
                   name: str) -> bool:
    """A view over the file read by DuckDB; False (nothing done) if it cannot number rows."""
    try:
        described = engine.query_rows(f"DESCRIBE SELECT * FROM read_parquet({_lit(sf.path)})")
    except duckdb.Error:  # Arrow opened it: let the Arrow path read it or say what is wrong
        return False
    names = [str(r[0]) for r in described]
    if "file_row_number" in names:  # the name DuckDB gives the row numbers is taken
        return False
    # a zoned timestamp's text depends on DuckDB's session time zone, and bytes have no
    # text at all: such files keep the Arrow path (text as Arrow renders it)
    if any("WITH TIME ZONE" in str(r[1]) or str(r[1]) == "BLOB" for r in described):
        return False
    found = canonical(names, source, declared, refused)
    cols = [f"{q(found[c])} AS {q(c)}" if c in found else f"CAST(NULL AS VARCHAR) AS {q(c)}"
            for c in keep]
    engine.execute(
        f"CREATE TEMP VIEW {q(name)} AS SELECT file_row_number + 1 AS {ROW}"
        f"{''.join(', ' + c for c in cols)} "
        f"FROM read_parquet({_lit(sf.path)}, file_row_number = true)")
    return True


def _text_batches(batches: Iterator[pa.RecordBatch], source: Source,
                  declared: dict[str, FieldDecl], keep: list[str], refused: set[str],
                  progress: Progress | None, label: str) -> Iterator[pa.RecordBatch]:
    schema = pa.schema([pa.field(c, pa.string()) for c in keep] + [pa.field(ROW, pa.int64())])
    for batch in batches:
        found = canonical(batch.schema.names, source, declared, refused)
        arrays: list[pa.Array] = []
        for col in keep:
            if col in found:
                arr = batch.column(batch.schema.get_field_index(found[col]))
                if not pa.types.is_string(arr.type):
                    arr = arr.cast(pa.string())
                arrays.append(arr)
            else:
                arrays.append(pa.nulls(batch.num_rows, pa.string()))
        arrays.append(batch.column(batch.schema.get_field_index(ROW)))
        if progress:
            progress(label, batch.num_rows)
        yield pa.RecordBatch.from_arrays(arrays, schema=schema)


def _stage_text(engine: DuckDBEngine, sf: SourceFile, source: Source,
                declared: dict[str, FieldDecl], keep: list[str], refused: set[str],
                progress: Progress | None, label: str, name: str) -> str:
    """Stage a text file as ``name``; returns the kind of object made (ARROW or TABLE)."""
    schema = pa.schema([pa.field(c, pa.string()) for c in keep] + [pa.field(ROW, pa.int64())])
    batches = _text_batches(sf.batches, source, declared, keep, refused, progress, label)
    path = Path(sf.path)
    if path.is_file() and path.stat().st_size <= IN_MEMORY_TEXT_BYTES:
        engine.register_arrow(name, pa.Table.from_batches(batches, schema))
        return ARROW
    reader = pa.RecordBatchReader.from_batches(schema, batches)
    view = f"_pg_stage_src_{name}"
    engine.register_arrow(view, reader)
    try:
        engine.execute(f"CREATE TEMP TABLE {q(name)} AS SELECT * FROM {q(view)}")
    finally:
        engine.unregister_arrow(view)
    return "TABLE"


def _scan(engine: DuckDBEngine, relation: str, columns: list[str],
          declared: dict[str, FieldDecl], gaps: int) -> dict[str, ColumnScan]:
    """Scan the first rows of each column for personal information it does not declare.

    ``__row`` counts up from 1, skipping only the ``gaps`` malformed lines of the file, so
    the first rows all have ``__row`` ≤ SAMPLE_ROWS + gaps: filtering on that first spares
    sorting the whole file for them."""
    scans: dict[str, ColumnScan] = {}
    if not columns:
        return scans
    sample = engine.query_arrow(
        f"SELECT {', '.join(f'CAST({q(c)} AS VARCHAR) AS {q(c)}' for c in columns)} "
        f"FROM {q(relation)} WHERE {ROW} <= {SAMPLE_ROWS + gaps} ORDER BY {ROW} "
        f"LIMIT {SAMPLE_ROWS}")
    for col in columns:
        values = sample.column(col).combine_chunks()
        scan_sample(values, col, declared[col], scans.setdefault(col, ColumnScan()))
    return scans


def stage_file(engine: DuckDBEngine, sf: SourceFile, source: Source,
               declared: dict[str, FieldDecl], key: bytes, refused: set[str], *,
               progress: Progress | None = None, label: str = "",
               want_users: bool = False) -> Staged:
    """Stage ``sf``: the kept declared columns, transformed, as ``Staged.relation``."""
    serial = next(_SERIAL)
    keep = [c for c, d in declared.items() if d.transform != "drop"]
    raw = f"_stage_raw_{label}_{serial}"
    native = sf.format == "parquet" and not any(ch in sf.path for ch in "*?[{")
    objects: list[tuple[str, str]] = []
    try:
        native = native and _stage_parquet(engine, sf, source, declared, keep, refused, raw)
        if native:
            objects.append(("VIEW", raw))
        else:
            objects.append((_stage_text(engine, sf, source, declared, keep, refused, progress,
                                        label, raw), raw))
        rows = int(engine.query_rows(f"SELECT count(*) FROM {q(raw)}")[0][0])
        if native and progress:
            progress(label, rows)
        raw_types = {str(r[0]): str(r[1]) for r in engine.query_rows(f"DESCRIBE {q(raw)}")}
        scanned = [c for c in keep if transform_kind(c, declared[c], source) == "none"
                   and declared[c].type == "string"]
        scans = _scan(engine, raw, scanned, declared, len(sf.malformed))
        select, types, todo = plan_columns(keep, declared, source, raw_types)
        reads = gate_reads(source, {c: declared[c] for c in keep})
        transforms = Transforms(engine, raw, todo, key, source.user, f"{label}_{serial}")
        try:
            # columns the gate only carries are staged as read: their transforms may still
            # run while it classifies the file (``Staged.finish`` waits for them)
            late = [i for i, (col, _, _) in enumerate(todo) if col not in reads]
            early = [i for i in range(len(todo)) if i not in late]
            users = transforms.start(early + late, want_users)
            duplicates = _find_duplicates(engine, raw, source, declared, raw_types, todo,
                                          f"_stage_dups_{label}_{serial}", objects)
            joins = [transforms.mapping(i, objects) for i in early]
            as_read = {f"m{i}.out AS {q(todo[i][0])}": f"CAST(s.{q(todo[i][0])} AS VARCHAR) "
                       f"AS {q(todo[i][0])}" for i in late}
            staged = staged_view(engine, f"_stage_{label}_{serial}", raw,
                                 [as_read.get(c, c) for c in select], joins, objects)
            key_view = next((staged_view(engine, f"_stage_keys_{label}_{serial}", raw,
                                         [f"s.{ROW}", f"m{i}.out AS {q(todo[i][0])}"],
                                         [transforms.joins[i]], objects)
                             for i in early if todo[i][0] == source.key), None)
        except BaseException:
            transforms.close()
            raise
        pending = LateTransforms(transforms, late, f"_stage_full_{label}_{serial}", select)
        if not late:
            transforms.close()
    except BaseException:
        Staged("", 0, "", {}, objects=list(reversed(objects))).drop(engine)
        raise
    return Staged(staged, rows, raw, types, users, scans, drop_order(objects),
                  {c for c, _, _ in todo}, duplicates, key_view, [todo[i][0] for i in late],
                  pending if late else None, rescan=True)


def _find_duplicates(engine: DuckDBEngine, raw: str, source: Source,
                     declared: dict[str, FieldDecl], raw_types: dict[str, str],
                     todo: list[Transform], name: str, objects: list[tuple[str, str]]
                     ) -> str | None:
    """The gate's repeated keys as the temporary table ``name`` (recorded in ``objects``),
    when the gate reads them from the key as read: DuckDB work that needs no transform, done
    while the transforms run. None when the key is transformed, absent or not kept."""
    key = source.key
    if not todo or not key or key not in declared or declared[key].transform == "drop" or any(
            col == key for col, _, _ in todo):
        return None
    engine.execute(f"CREATE TEMP TABLE {q(name)} AS "
                   + duplicates_sql(key, declared[key], source, raw_types[key], raw))
    objects.append(("TABLE", name))
    return name


class Transforms:
    """The per-distinct-value transforms of one file's columns (``todo``), run in Python on
    one worker thread while the calling thread keeps DuckDB busy (it releases the GIL)."""

    def __init__(self, engine: DuckDBEngine, raw: str, todo: list[Transform], key: bytes,
                 person: str | None, name: str) -> None:
        self.engine, self.raw, self.todo, self.key = engine, raw, todo, key
        self.person, self.name = person, name
        self.worker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="pg-stage-transform")
        self.jobs: dict[int, tuple[pa.Array, Future[pa.Array]]] = {}
        #: per transform done: the join of its mapping table that brings it to the file ``s``
        self.joins: dict[int, str] = {}

    def start(self, order: list[int], want_users: bool) -> list[str]:
        """Read the distinct values of each column (in ``order``) and queue its transform;
        returns the raw ids of the people (``want_users``), if their column is among them."""
        users: list[str] = []
        for i in order:
            col = self.todo[i][0]
            distinct = self.engine.query_arrow(
                f"SELECT DISTINCT CAST({q(col)} AS VARCHAR) AS v FROM {q(self.raw)} "
                f"WHERE {q(col)} IS NOT NULL").column("v").combine_chunks()
            cache = pid_cache(self.key) if col == self.person else None
            self.jobs[i] = (distinct, self.worker.submit(transform_values, self.todo[i],
                                                         distinct, self.key, cache))
            if col == self.person and want_users:
                users = sorted(v for v in distinct.to_pylist() if v)
        return users

    def mapping(self, i: int, objects: list[tuple[str, str]]) -> str:
        """Wait for the transform of column ``i``; its mapping as a temporary table
        (recorded in ``objects``); returns the join ``m<i>`` that brings it to the file."""
        distinct, out = self.jobs[i]
        col = self.todo[i][0]
        table = f"_stage_map_{self.name}_{i}"
        view = f"{table}_src"
        self.engine.register_arrow(view, pa.table({"v": distinct, "out": out.result()}))
        try:
            self.engine.execute(f"CREATE TEMP TABLE {q(table)} AS SELECT * FROM {q(view)}")
        finally:
            self.engine.unregister_arrow(view)
        objects.append(("TABLE", table))
        self.joins[i] = f"LEFT JOIN {q(table)} m{i} ON m{i}.v = CAST(s.{q(col)} AS VARCHAR)"
        return self.joins[i]

    def close(self) -> None:
        self.worker.shutdown(wait=True, cancel_futures=True)


@dataclass(frozen=True)
class LateMappings:
    """The stored values of a file's late columns, once their transforms are done."""

    #: the staged relation with every transform joined (the row as staged, column by column)
    relation: str
    objects: list[tuple[str, str]]


@dataclass
class LateTransforms:
    """The transforms of the late columns (``late``: their indices in ``transforms.todo``),
    still running when the stage returned."""

    transforms: Transforms
    late: list[int]
    #: the name of the staged relation with every transform joined, and its select list
    name: str
    select: list[str]

    def finish(self) -> LateMappings:
        objects: list[tuple[str, str]] = []
        try:
            for i in self.late:
                self.transforms.mapping(i, objects)
            t = self.transforms
            full = staged_view(t.engine, self.name, t.raw, self.select,
                               [t.joins[i] for i in range(len(t.todo))], objects)
        finally:
            self.close()
        return LateMappings(full, objects)

    def close(self) -> None:
        self.transforms.close()


def staged_view(engine: Engine, name: str, raw: str, select: list[str], joins: list[str],
                objects: list[tuple[str, str]]) -> str:
    """A staged relation on DuckDB: ``select`` (from :func:`plan_columns`) over the raw file
    with the transforms' mappings joined, as the temporary view ``name``, recorded in
    ``objects``."""
    engine.execute(f"CREATE TEMP VIEW {q(name)} AS SELECT {', '.join(select)} "
                   f"FROM {q(raw)} s {' '.join(joins)}")
    objects.insert(0, ("VIEW", name))
    return name


def drop_order(objects: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """Views first (they depend on the tables and Arrow data), then the tables, then the
    data."""
    return sorted(objects, key=lambda o: (o[0] != "VIEW", o[0] == ARROW))
