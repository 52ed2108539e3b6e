"""Writing generated tables block by block: CSV, Parquet and JSON lines through Arrow.

The generator makes its data in blocks of users so a million-user shop fits in bounded
memory; each output file stays open across blocks and receives one Arrow table per block.
CSV cells are quoted only when needed, nulls are empty cells, timestamps are
``YYYY-MM-DD HH:MM:SS`` (local time) — in JSON lines too. Nothing time- or host-dependent is
written, so the same seed gives byte-identical files.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import IO, Protocol

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

_CSV_OPTIONS = pacsv.WriteOptions(include_header=True, quoting_style="needed")


class _Writer(Protocol):
    def write_table(self, table: pa.Table) -> None: ...

    def close(self) -> None: ...


class _JsonLinesWriter:
    """One JSON object per row, keys in column order, non-ASCII kept as is."""

    def __init__(self, path: Path) -> None:
        self._file: IO[str] = path.open("w", encoding="utf-8", newline="\n")

    def write_table(self, table: pa.Table) -> None:
        columns = {}
        for name, column in zip(table.column_names, table.columns, strict=True):
            if pa.types.is_timestamp(column.type):
                column = pc.strftime(column, format="%Y-%m-%d %H:%M:%S")
            elif pa.types.is_decimal(column.type):
                column = pc.cast(column, pa.string())
            columns[name] = column
        for batch in pa.table(columns).to_batches(max_chunksize=65_536):
            lines = [
                json.dumps(row, ensure_ascii=False, separators=(",", ":"))
                for row in batch.to_pylist()
            ]
            self._file.write("\n".join(lines) + "\n")

    def close(self) -> None:
        self._file.close()


class TableSink:
    """Open output files by name; append blocks; count rows per file."""

    def __init__(self, out_dir: Path) -> None:
        self.out_dir = out_dir
        self.rows: dict[str, int] = {}
        self._writers: dict[str, _Writer] = {}
        self._schemas: dict[str, pa.Schema] = {}

    def write(self, name: str, table: pa.Table) -> None:
        """Append ``table`` to the file ``name`` (its suffix picks the format)."""
        if name not in self._writers:
            self._schemas[name] = table.schema
            self._writers[name] = self._open(name, table.schema)
        table = table.cast(self._schemas[name])
        self._writers[name].write_table(table)
        self.rows[name] = self.rows.get(name, 0) + table.num_rows

    def _open(self, name: str, schema: pa.Schema) -> _Writer:
        path = self.out_dir / name
        writer: _Writer
        if name.endswith(".csv"):
            writer = pacsv.CSVWriter(str(path), schema, write_options=_CSV_OPTIONS)
            return writer
        if name.endswith(".parquet"):
            writer = pq.ParquetWriter(str(path), schema, compression="zstd")
            return writer
        if name.endswith(".jsonl"):
            return _JsonLinesWriter(path)
        raise ValueError(f"no writer for {name}")

    def close(self) -> None:
        """Flush and close every file."""
        for writer in self._writers.values():
            writer.close()
        self._writers.clear()
