"""``profileguard scan PATH``: find personal information in a CSV, Parquet or JSON-lines file.

The file is read in Arrow record batches (CSV columns as text, so leading zeros and 19-digit
card numbers survive; UTF-8, falling back to GB18030 when the first megabyte is not UTF-8)
and handed to :class:`profileguard.collect.scanner.TableScanner`. ``--sample N`` scans only
the first N data rows (``--random`` draws N rows at random instead, which reads the whole
file). ``--format json`` prints ``{"rows", "columns": [...]}`` and, with ``--findings``,
``"findings": [...]`` — one record per entity with its 0-based data row and character
offsets into the cell.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Annotated

import pyarrow as pa
import pyarrow.csv as pcsv
import pyarrow.json as pjson
import pyarrow.parquet as pq
import typer
from rich.console import Console
from rich.table import Table

from profileguard.collect.scanner import (
    DEFAULT_THRESHOLD,
    ScanReport,
    scan_batches,
    scan_table,
)
from profileguard.errors import ProfileguardError

BATCH_ROWS = 65_536
_CSV = {".csv", ".tsv", ".txt"}
_PARQUET = {".parquet", ".pq"}
_JSONL = {".jsonl", ".ndjson", ".json"}
_MAX_FINDINGS_SHOWN = 200


def csv_encoding(path: Path) -> str:
    """``utf-8`` when the first megabyte decodes as UTF-8, otherwise ``gb18030``."""
    with path.open("rb") as fh:
        head = fh.read(1 << 20)
    try:
        head.decode("utf-8")
    except UnicodeDecodeError as exc:
        # a multi-byte character cut at the 1 MB boundary is not an encoding error
        if exc.start < len(head) - 3:
            return "gb18030"
    return "utf-8"


def _csv_batches(path: Path) -> Iterator[pa.RecordBatch]:
    encoding = csv_encoding(path)
    delimiter = "\t" if path.suffix.lower() == ".tsv" else ","
    read = pcsv.ReadOptions(encoding=encoding, block_size=1 << 22)
    parse = pcsv.ParseOptions(delimiter=delimiter)
    with pcsv.open_csv(path, read_options=read, parse_options=parse) as probe:
        names = probe.schema.names
    convert = pcsv.ConvertOptions(column_types={n: pa.string() for n in names})
    with pcsv.open_csv(path, read_options=read, parse_options=parse,
                       convert_options=convert) as reader:
        yield from _at_least_one(reader, reader.schema)


def _parquet_batches(path: Path) -> Iterator[pa.RecordBatch]:
    pf = pq.ParquetFile(path)
    yield from _at_least_one(pf.iter_batches(batch_size=BATCH_ROWS), pf.schema_arrow)


def _at_least_one(batches: Iterable[pa.RecordBatch], schema: pa.Schema) -> Iterator[pa.RecordBatch]:
    """The batches, or one empty batch when there are none, so a header-only file still
    lists its columns."""
    empty = True
    for batch in batches:
        empty = False
        yield batch
    if empty:
        yield pa.RecordBatch.from_pylist([], schema=schema)


def _jsonl_batches(path: Path) -> Iterator[pa.RecordBatch]:
    with pjson.open_json(path, read_options=pjson.ReadOptions(block_size=1 << 22)) as reader:
        yield from reader


def read_batches(path: Path) -> Iterator[pa.RecordBatch]:
    """Record batches of a CSV / TSV, Parquet or JSON-lines file, chosen by suffix."""
    suffix = path.suffix.lower()
    if suffix in _CSV:
        return _csv_batches(path)
    if suffix in _PARQUET:
        return _parquet_batches(path)
    if suffix in _JSONL:
        return _jsonl_batches(path)
    allowed = ", ".join(sorted(_CSV | _PARQUET | _JSONL))
    raise ProfileguardError(f"{path}: unknown file type {suffix or '(none)'!r}; allowed: {allowed}")


def scan_path(
    path: Path,
    *,
    sample: int | None = None,
    random_sample: bool = False,
    seed: int = 0,
    threshold: float = DEFAULT_THRESHOLD,
    findings: bool = False,
    manifest: Path | None = None,
) -> ScanReport:
    """Scan one file, or the files of a workspace source named ``path``; any read failure
    becomes a ProfileguardError naming the file."""
    if sample is not None and sample < 1:
        raise ProfileguardError(f"--sample must be a positive number of rows, got {sample}")
    batches = _reading(path) if path.is_file() else _source_batches(str(path), manifest)
    if random_sample and sample is not None:
        table = pa.Table.from_batches(list(batches))
        return scan_table(table, sample=sample, random_sample=True, seed=seed,
                          threshold=threshold, findings=findings)
    return scan_batches(batches, sample=sample, threshold=threshold, findings=findings)


def _source_batches(name: str, manifest: Path | None) -> Iterator[pa.RecordBatch]:
    """The batches of a declared source of the workspace (as read: no gate, no renames)."""
    from profileguard.collect.readers import ROW, open_source
    from profileguard.manifest import find_manifest, load_manifest

    found = manifest or find_manifest()
    loaded = load_manifest(found) if found is not None else None
    if loaded is None or name not in loaded.manifest.sources:
        known = sorted(loaded.manifest.sources) if loaded else []
        raise ProfileguardError(
            f"{name}: no such file, and not a source of the workspace manifest"
            + (f" (sources: {', '.join(known)})" if known else " (no profileguard.yaml found)"))
    for sf in open_source(loaded.manifest.sources[name], name, loaded.root):
        for batch in sf.batches:
            keep = [i for i, n in enumerate(batch.schema.names) if n != ROW]
            yield pa.RecordBatch.from_arrays([batch.column(i) for i in keep],
                                             names=[batch.schema.names[i] for i in keep])


def _reading(path: Path) -> Iterator[pa.RecordBatch]:
    """``read_batches`` with every read failure turned into a ProfileguardError."""
    try:
        yield from read_batches(path)
    except (pa.ArrowInvalid, pa.ArrowTypeError, OSError, UnicodeError) as exc:
        raise ProfileguardError(f"{path}: cannot be read as {path.suffix} ({exc})") from exc


def _print_table(report: ScanReport, console: Console) -> None:
    table = Table(title=f"Personal information found ({report.rows} rows scanned)")
    for head in ("column", "type", "rows", "share", "entities", "example", "suggested category"):
        table.add_column(head)
    for col in report.columns:
        if not col.types:
            table.add_row(col.name, "[dim]—[/]" if col.scanned else "[dim]not scanned[/]",
                          "", "", "", "", "")
            continue
        for i, t in enumerate(col.types):
            table.add_row(col.name if i == 0 else "", t.type, str(t.rows), f"{t.share:.1%}",
                          str(t.count), t.example, t.category)
    console.print(table)
    if report.findings is not None:
        found = Table(title=f"Findings ({len(report.findings)})")
        for head in ("row", "column", "type", "start", "end", "score"):
            found.add_column(head)
        for f in report.findings[:_MAX_FINDINGS_SHOWN]:
            found.add_row(str(f.row), f.column, f.type, str(f.start), str(f.end), f"{f.score:.2f}")
        console.print(found)
        if len(report.findings) > _MAX_FINDINGS_SHOWN:
            console.print(f"… {len(report.findings) - _MAX_FINDINGS_SHOWN} more; use --format json")


def register(app: typer.Typer) -> None:
    @app.command("scan")
    def scan(
        path: Annotated[Path, typer.Argument(help="CSV (UTF-8 or GB18030), Parquet or JSON-lines file, or the name of a workspace source")],
        manifest: Annotated[Path | None, typer.Option("--manifest", "-m", help="workspace for a source name (default: here or nearest parent)")] = None,
        fmt: Annotated[str, typer.Option("--format", help="table or json")] = "table",
        findings: Annotated[bool, typer.Option("--findings", help="list every entity found")] = False,
        sample: Annotated[int | None, typer.Option("--sample", help="scan only N rows")] = None,
        random_sample: Annotated[bool, typer.Option("--random", help="with --sample: random rows")] = False,
        seed: Annotated[int, typer.Option("--seed", help="random seed for --random")] = 0,
        threshold: Annotated[float, typer.Option("--threshold", help="minimum score 0–1")] = DEFAULT_THRESHOLD,
    ) -> None:
        """Find personal information (phones, ids, cards, addresses …) column by column."""
        if fmt not in ("table", "json"):
            raise ProfileguardError(f"--format {fmt!r} is not allowed; use table or json")
        if not 0.0 <= threshold <= 1.0:
            raise ProfileguardError(f"--threshold must be between 0 and 1, got {threshold}")
        report = scan_path(path, sample=sample, random_sample=random_sample, seed=seed,
                           threshold=threshold, findings=findings, manifest=manifest)
        if fmt == "json":
            typer.echo(json.dumps(report.to_dict(), ensure_ascii=False))
        else:
            _print_table(report, Console())
