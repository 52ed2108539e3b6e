"""Benchmark workloads: cached demo data and manifest variants that point at it.

The demo generator writes users/items/orders as CSV and/or Parquet, events as Parquet and
quotes as both. A benchmark needs the same sources in one format, so this module

- generates the demo shop once per (purpose, size) under ``benchmarks/data/<name>-<users>/``
  and reuses it while ``generated.json`` says it holds that many users in those formats;
- writes ``events.csv`` from ``events.parquet`` with DuckDB's COPY when a CSV run needs it
  (the generator has no CSV events);
- writes a variant of the compliant demo manifest whose sources read those files, with the
  sources a run leaves out removed together with their fields.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import datetime
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

AS_OF = datetime(2026, 11, 1)
SEED = 7
#: sources every benchmark run ingests, the same in CSV and Parquet runs
SOURCES = ("users", "items", "orders", "events", "quotes")


def demo_data(folder: Path, users: int, formats: Iterable[str]) -> dict[str, Any]:
    """The generated shop in ``folder/data`` (made when missing); its generate summary."""
    wanted = sorted(set(formats))
    marker = folder / "generated.json"
    if marker.exists():
        summary: dict[str, Any] = json.loads(marker.read_text())
        have = set(summary.get("formats", ["parquet"]))
        if summary.get("users") == users and set(wanted) <= have:
            return summary
    from profileguard.demo.generate import generate

    s = generate(folder / "data", users=users, seed=SEED, formats=wanted, as_of=AS_OF)
    summary = s.to_dict()
    summary["formats"] = wanted
    folder.mkdir(parents=True, exist_ok=True)
    marker.write_text(json.dumps(summary))
    return summary


def events_csv(data: Path) -> Path:
    """``events.csv`` beside ``events.parquet`` (written once, by DuckDB)."""
    target = data / "events.csv"
    if target.exists() and target.stat().st_mtime >= (data / "events.parquet").stat().st_mtime:
        return target
    import duckdb

    tmp = target.with_suffix(".csv.tmp")
    con = duckdb.connect()
    try:
        con.execute(f"COPY (SELECT * FROM read_parquet('{data / 'events.parquet'}')) "
                    f"TO '{tmp}' (HEADER, DELIMITER ',')").fetchall()
    finally:
        con.close()
    tmp.replace(target)
    return target


def source_files(data: Path, fmt: str, sources: Iterable[str] = SOURCES) -> dict[str, Path]:
    """The file each source reads in format ``fmt`` (CSV events are made when missing)."""
    files = {}
    for name in sources:
        path = data / f"{name}.{fmt}"
        if name == "events" and fmt == "csv":
            path = events_csv(data)
        if not path.exists():
            raise FileNotFoundError(f"{path}: not generated (formats of {data.parent.name}?)")
        files[name] = path
    return files


def write_manifest(target: Path, files: dict[str, Path]) -> Path:
    """The compliant demo manifest with exactly ``files`` as its sources, at ``target``."""
    text = resources.files("profileguard.demo").joinpath("manifests", "profileguard.yaml")
    doc: dict[str, Any] = yaml.safe_load(text.read_text("utf-8"))
    sources: dict[str, Any] = doc["sources"]
    for name in list(sources):
        if name not in files:
            del sources[name]
            doc["fields"].pop(name, None)
            continue
        path = files[name]
        sources[name]["format"] = path.suffix.lstrip(".")
        sources[name]["path"] = str(path.resolve())
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(yaml.safe_dump(doc, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return target


def row_counts(files: dict[str, Path]) -> dict[str, int]:
    """Data rows per source file (DuckDB counts; CSV header excluded)."""
    import duckdb

    con = duckdb.connect()
    try:
        out = {}
        for name, path in files.items():
            reader = "read_parquet" if path.suffix == ".parquet" else "read_csv"
            extra = ", all_varchar = true" if reader == "read_csv" else ""
            out[name] = int(con.execute(
                f"SELECT count(*) FROM {reader}('{path}'{extra})").fetchall()[0][0])
        return out
    finally:
        con.close()
