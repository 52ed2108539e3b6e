"""Readers: turn a declared source into a stream of Arrow record batches.

CSV (UTF-8 or GB18030), Parquet and JSON lines, single files or globs, and a database table
by SQLAlchemy URL. Everything is read in batches so memory stays flat for files larger than
RAM. CSV columns are read as text: typing is the gate's job, so a bad value becomes a
quarantined row with its column named instead of a reader crash. Every batch carries
``__row`` — the 1-based data row in its file (the header is not a row) — and rows the CSV
parser cannot split into the header's columns are handed back as malformed, with their line.
"""

from __future__ import annotations

import glob as globmod
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.csv as pcsv
import pyarrow.json as pjson
import pyarrow.parquet as pq

from profileguard.errors import ProfileguardError
from profileguard.manifest.model import Source

ROW = "__row"
BATCH_ROWS = 131_072


@dataclass
class Malformed:
    file: str
    line: int | None
    text: str
    reason: str


@dataclass
class SourceFile:
    """One file (or table) of a source, read as batches."""

    path: str
    batches: Iterator[pa.RecordBatch]
    malformed: list[Malformed] = field(default_factory=list)
    #: ``parquet``: a file the warehouse engine can read itself (the ingest stages it
    #: without going through ``batches``); ``arrow``: only ``batches``
    format: str = "arrow"


def expand_paths(pattern: Path) -> list[Path]:
    text = str(pattern)
    if any(ch in text for ch in "*?["):
        return [Path(p) for p in sorted(globmod.glob(text, recursive=True))]
    return [pattern]


def detect_encoding(path: Path, declared: str) -> str:
    """``utf-8`` or ``gb18030``: the declared one, or sniffed from the first 1 MB."""
    if declared != "auto":
        return declared
    with path.open("rb") as fh:
        head = fh.read(1 << 20)
    try:
        head.decode("utf-8")
        return "utf-8"
    except UnicodeDecodeError as exc:
        if exc.start > len(head) - 4:  # a character cut by the 1 MB boundary
            return "utf-8"
        return "gb18030"


def _with_rows(
    batches: Iterator[pa.RecordBatch], skipped_lines: set[int] | None = None
) -> Iterator[pa.RecordBatch]:
    """Attach ``__row`` (1-based data row); CSV rows the parser skipped keep their numbers."""
    next_row = 1
    for batch in batches:
        n = batch.num_rows
        if skipped_lines:
            # data row r sits on line r + 1; skip the rows the parser refused
            candidates = np.arange(next_row, next_row + n + len(skipped_lines), dtype=np.int64)
            bad = np.fromiter((ln - 1 for ln in skipped_lines), dtype=np.int64)
            rows = candidates[~np.isin(candidates, bad)][:n]
        else:
            rows = np.arange(next_row, next_row + n, dtype=np.int64)
        next_row = int(rows[-1]) + 1 if n else next_row
        yield batch.append_column(ROW, pa.array(rows, pa.int64()))


def _csv(path: Path, encoding: str) -> SourceFile:
    enc = detect_encoding(path, encoding)
    try:
        with path.open("r", encoding=enc, newline="") as fh:
            header_line = fh.readline()
    except UnicodeDecodeError as exc:
        raise ProfileguardError(f"{path}:1: cannot decode the header as {enc}: {exc.reason}") from None
    if not header_line.strip():
        raise ProfileguardError(f"{path}:1: empty file (a CSV source needs a header row)")
    try:
        names: dict[str, object] = next(iter(pcsv.read_csv(
            pa.py_buffer(header_line.encode("utf-8")),
            read_options=pcsv.ReadOptions(autogenerate_column_names=True),
            convert_options=pcsv.ConvertOptions(strings_can_be_null=False),
        ).to_pylist()), {})
    except pa.ArrowInvalid as exc:
        raise ProfileguardError(f"{path}:1: cannot read the header row: {exc}") from None
    header = [str(v) for v in names.values()]
    if not header or any(not h.strip() for h in header):
        raise ProfileguardError(f"{path}:1: the header row has empty column names: {header}")
    if len(set(header)) != len(header):
        dup = sorted({h for h in header if header.count(h) > 1})
        raise ProfileguardError(f"{path}:1: duplicate column names in the header: {dup}")
    malformed: list[Malformed] = []
    skipped: set[int] = set()

    def on_invalid(row: pcsv.InvalidRow) -> str:
        line = row.number
        if line is not None:
            skipped.add(int(line))
        malformed.append(Malformed(str(path), line, row.text[:500],
                                   f"expected {row.expected_columns} columns, found "
                                   f"{row.actual_columns}"))
        return "skip"

    try:
        reader = pcsv.open_csv(
            path,
            read_options=pcsv.ReadOptions(encoding=enc, use_threads=False, block_size=8 << 20),
            parse_options=pcsv.ParseOptions(invalid_row_handler=on_invalid),
            convert_options=pcsv.ConvertOptions(
                column_types={h: pa.string() for h in header}, strings_can_be_null=True,
                quoted_strings_can_be_null=False),
        )
    except (pa.ArrowInvalid, UnicodeDecodeError) as exc:
        raise ProfileguardError(f"{path}: cannot read as CSV ({enc}): {exc}") from None

    def batches() -> Iterator[pa.RecordBatch]:
        try:
            yield from reader
        except (pa.ArrowInvalid, UnicodeDecodeError) as exc:
            raise ProfileguardError(f"{path}: cannot read as CSV ({enc}): {exc}") from None

    return SourceFile(str(path), _with_rows(batches(), skipped), malformed)


def _parquet(path: Path) -> SourceFile:
    try:
        pf = pq.ParquetFile(path)
    except (pa.ArrowInvalid, OSError) as exc:
        raise ProfileguardError(f"{path}: not a readable Parquet file: {exc}") from None
    return SourceFile(str(path), _with_rows(pf.iter_batches(batch_size=BATCH_ROWS)),
                      format="parquet")


def _jsonl(path: Path) -> SourceFile:
    try:
        reader = pjson.open_json(path, read_options=pjson.ReadOptions(block_size=8 << 20))
    except (pa.ArrowInvalid, OSError) as exc:
        raise ProfileguardError(f"{path}: not readable as JSON lines: {exc}") from None

    def batches() -> Iterator[pa.RecordBatch]:
        try:
            yield from reader
        except pa.ArrowInvalid as exc:
            raise ProfileguardError(f"{path}: not readable as JSON lines: {exc}") from None

    return SourceFile(str(path), _with_rows(batches()))


def _table(source: Source) -> SourceFile:
    import sqlalchemy as sa

    assert source.url and source.table
    engine = sa.create_engine(source.url)
    tbl = sa.Table(source.table, sa.MetaData(), autoload_with=engine)

    def batches() -> Iterator[pa.RecordBatch]:
        with engine.connect() as conn:
            result = conn.execution_options(stream_results=True).execute(sa.select(tbl))
            cols = list(result.keys())
            while chunk := result.fetchmany(50_000):
                yield pa.record_batch(
                    [pa.array([None if r[i] is None else str(r[i]) for r in chunk], pa.string())
                     for i in range(len(cols))], names=cols)
        engine.dispose()

    return SourceFile(f"{source.url.split('@')[-1]}#{source.table}", _with_rows(batches()))


def open_source(source: Source, name: str, root: Path) -> list[SourceFile]:
    """The files of a declared source (a glob may match several), each as a batch stream."""
    if source.format == "table":
        return [_table(source)]
    if not source.path:
        raise ProfileguardError(f"source {name!r}: no `path` declared")
    pattern = Path(source.path)
    if not pattern.is_absolute():
        pattern = root / pattern
    paths = expand_paths(pattern)
    missing = [p for p in paths if not p.is_file()]
    if not paths or missing:
        raise ProfileguardError(f"source {name!r}: no file matches {pattern}")
    readers = {"csv": lambda p: _csv(p, source.encoding), "parquet": _parquet, "jsonl": _jsonl}
    return [readers[source.format](p) for p in paths]
