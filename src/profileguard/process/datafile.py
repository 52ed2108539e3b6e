"""Read and write the tabular files the process commands work on: CSV, Parquet, JSON lines.

The format follows the file extension (``.csv``, ``.parquet``/``.pq``, ``.jsonl``/
``.ndjson``/``.json``); everything comes back as an Arrow table.
"""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.json as pajson
import pyarrow.parquet as pq

from profileguard.errors import ProfileguardError

FORMATS = {
    ".csv": "csv",
    ".parquet": "parquet",
    ".pq": "parquet",
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".json": "jsonl",
}


def file_format(path: str | Path) -> str:
    suffix = Path(path).suffix.lower()
    if suffix not in FORMATS:
        raise ProfileguardError(
            f"{path}: unknown file type {suffix!r}; allowed: {', '.join(sorted(FORMATS))}"
        )
    return FORMATS[suffix]


def read_table(path: str | Path) -> pa.Table:
    """Read CSV, Parquet or JSON lines into an Arrow table."""
    p = Path(path)
    kind = file_format(p)
    if not p.is_file():
        raise ProfileguardError(f"{p}: no such file")
    try:
        if kind == "csv":
            return pacsv.read_csv(p)
        if kind == "parquet":
            return pq.read_table(p)
        return pajson.read_json(p)
    except (pa.ArrowInvalid, OSError) as exc:
        raise ProfileguardError(f"{p}: cannot read as {kind}: {exc}") from exc


def write_table(table: pa.Table, path: str | Path) -> None:
    """Write an Arrow table as CSV, Parquet or JSON lines (by the extension of ``path``)."""
    p = Path(path)
    kind = file_format(p)
    p.parent.mkdir(parents=True, exist_ok=True)
    if kind == "csv":
        pacsv.write_csv(table, p)
    elif kind == "parquet":
        pq.write_table(table, p)
    else:
        with p.open("w", encoding="utf-8") as fh:
            for row in table.to_pylist():
                fh.write(json.dumps(row, ensure_ascii=False, default=str) + "\n")
