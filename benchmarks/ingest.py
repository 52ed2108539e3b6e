"""Benchmark: ingestion rows/s (CSV and Parquet) against DuckDB reading the same files.

The demo shop (default 20,000 users, ~1M events) is generated once into
``benchmarks/data/ingest-<users>/`` as CSV and Parquet (events are written to CSV from the
Parquet by DuckDB, since the generator makes them in Parquet only). The same five sources
(users, items, orders, events, quotes) are then ingested in each format by:

- **profileguard**: ``collect.ingest.ingest`` with the compliant demo manifest pointed at the
  files — staging (Parquet read by DuckDB itself, CSV through Arrow batches), renaming,
  refusing undeclared columns, pseudonymizing ids and truncating IPs once per distinct
  value, the gate (typing, keys, duplicates, time checks), quarantine and the ingest
  ledger, into a fresh workspace DuckDB file;
- **the floor**: DuckDB alone, ``CREATE TABLE t AS SELECT * FROM read_csv(...)`` /
  ``read_parquet(...)`` of the same files into a fresh DuckDB file.

Each contender runs in its own subprocess (peak RSS and CPU time are its own). The ratio is
profileguard rows/s ÷ DuckDB rows/s (wall); the target is ≥ 0.5. On a loaded machine wall
time swings with the neighbours, so the CPU seconds of each contender (all its threads) and
their ratio are reported beside it. ``--profile`` runs the
profileguard ingest once more under cProfile and prints where the time goes.

    .venv/bin/python benchmarks/ingest.py [--users 20000] [--formats csv,parquet] [--profile]
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

import common
import workload

TARGET = 0.5


def _child_profileguard(manifest: Path, profile: bool) -> None:
    import profileguard.cli  # noqa: F401  the modules `profileguard ingest` has loaded (pandas too)
    from profileguard.collect.ingest import ingest
    from profileguard.pipeline.services import open_services

    for sub in (".profileguard", ".profileguard-secrets"):
        shutil.rmtree(manifest.parent / sub, ignore_errors=True)
    svc = open_services(manifest)
    engine = svc.engine
    per: dict[str, dict[str, float]] = {}
    profiler = None
    statements: dict[str, float] = defaultdict(float)
    if profile:
        import cProfile

        def timed(plain: Any) -> Any:
            def run(sql: str, params: Any = None) -> Any:
                t0 = time.perf_counter()
                try:
                    return plain(sql, params)
                finally:
                    statements[common.statement_label(sql)] += time.perf_counter() - t0
            return run

        engine.execute = timed(engine.execute)  # type: ignore[method-assign]
        engine.query_rows = timed(engine.query_rows)  # type: ignore[method-assign]
        profiler = cProfile.Profile()
        profiler.enable()
    for name in svc.manifest.sources:
        started, cpu = time.perf_counter(), time.process_time()
        report = ingest(engine, svc.manifest, svc.ws.root, svc.ws.key, sources=[name],
                        now=workload.AS_OF)
        per[name] = {"seconds": time.perf_counter() - started,
                     "cpu": time.process_time() - cpu, "rows": report.rows_in,
                     "loaded": report.loaded, "quarantined": sum(report.quarantined.values()),
                     "reconciles": report.reconciles}
    if profiler is not None:
        import pstats

        profiler.disable()
        print("\nstatements (wall s; writing a _stage_raw_ table includes reading a CSV file "
              "through the Arrow reader; a Parquet file is read inside the _classified_ "
              "statement):", file=sys.stderr)
        for label, secs in sorted(statements.items(), key=lambda kv: -kv[1])[:15]:
            print(f"  {secs:8.2f}  {label}", file=sys.stderr)
        stats = pstats.Stats(profiler, stream=sys.stderr)
        stats.sort_stats("tottime").print_stats(15)
        stats.sort_stats("cumulative").print_stats(25)
    svc.close()
    common.child_main({"sources": per})


def _child_duckdb(files: dict[str, str], where: Path) -> None:
    import duckdb

    where.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=where) as tmp:  # same disk as the workspace
        con = duckdb.connect(str(Path(tmp) / "floor.duckdb"))
        per: dict[str, dict[str, float]] = {}
        for name, path in files.items():
            reader = (f"read_parquet('{path}')" if path.endswith(".parquet")
                      else f"read_csv('{path}', ignore_errors = true)")
            started, cpu = time.perf_counter(), time.process_time()
            con.execute(f'CREATE TABLE "{name}" AS SELECT * FROM {reader}').fetchall()
            rows = int(con.execute(f'SELECT count(*) FROM "{name}"').fetchall()[0][0])
            per[name] = {"seconds": time.perf_counter() - started,
                         "cpu": time.process_time() - cpu, "rows": rows}
        con.close()
    common.child_main({"sources": per})


def _run(args: argparse.Namespace) -> int:
    folder = args.data / f"ingest-{args.users}"
    formats = [f.strip() for f in args.formats.split(",") if f.strip()]
    started = time.perf_counter()
    summary = workload.demo_data(folder, args.users, ["csv", "parquet"])
    print(f"data: {folder} ({summary['files'].get('events.parquet', 0):,} events; "
          f"ready in {time.perf_counter() - started:.1f} s)", file=sys.stderr)
    table = common.ResultTable(
        title=f"ingest — {args.users:,} users",
        command=f"python benchmarks/ingest.py --users {args.users} --formats {args.formats}",
        headers=["format", "source", "rows", "profileguard s", "profileguard rows/s",
                 "DuckDB s", "DuckDB rows/s", "ratio", "CPU s pg / DuckDB", "CPU ratio",
                 "peak MB pg / DuckDB"])
    me = str(Path(__file__).resolve())
    failed = False
    for fmt in formats:
        files = workload.source_files(folder / "data", fmt)
        manifest = workload.write_manifest(folder / fmt / "profileguard.yaml", files)
        pg = common.run_child(f"profileguard {fmt}", [common.python(), me, "--child", "pg",
                                                      "--manifest", str(manifest)],
                              timeout=args.timeout)
        db = common.run_child(f"duckdb {fmt}", [common.python(), me, "--child", "duckdb",
                                                "--manifest", str(manifest),
                                                "--files", json.dumps({k: str(v) for k, v
                                                                       in files.items()})],
                              timeout=args.timeout)
        for res in (pg, db):
            if not res.ok:
                failed = True
                table.notes.append(f"{res.name} failed: {res.error}")
        if not (pg.ok and db.ok):
            continue
        totals = {"pg_s": 0.0, "db_s": 0.0, "pg_rows": 0, "db_rows": 0, "pg_cpu": 0.0,
                  "db_cpu": 0.0}
        for name in files:
            p, d = pg.payload["sources"][name], db.payload["sources"][name]
            p_rate, d_rate = p["rows"] / p["seconds"], d["rows"] / d["seconds"]
            table.add(fmt, name, int(p["rows"]), p["seconds"], p_rate, d["seconds"], d_rate,
                      common.fmt_ratio(p_rate / d_rate), f"{p['cpu']:.2f} / {d['cpu']:.2f}",
                      common.fmt_ratio(d["cpu"] / p["cpu"] * p["rows"] / d["rows"]), "")
            if not p["reconciles"]:
                table.notes.append(f"{fmt} {name}: rows in ≠ loaded + quarantined")
            totals["pg_s"] += p["seconds"]
            totals["db_s"] += d["seconds"]
            totals["pg_rows"] += p["rows"]
            totals["db_rows"] += d["rows"]
            totals["pg_cpu"] += p["cpu"]
            totals["db_cpu"] += d["cpu"]
        p_rate = totals["pg_rows"] / totals["pg_s"]
        d_rate = totals["db_rows"] / totals["db_s"]
        ratio = p_rate / d_rate
        cpu_ratio = (totals["db_cpu"] / totals["pg_cpu"]) * (totals["pg_rows"] / totals["db_rows"])
        table.add(f"**{fmt}**", "**all**", int(totals["pg_rows"]), totals["pg_s"], p_rate,
                  totals["db_s"], d_rate, common.fmt_ratio(ratio),
                  f"{totals['pg_cpu']:.2f} / {totals['db_cpu']:.2f}",
                  common.fmt_ratio(cpu_ratio), f"{pg.peak_mb:,.0f} / {db.peak_mb:,.0f}")
        verdict = "meets" if ratio >= TARGET else "MISSES"
        table.notes.append(f"{fmt}: ratio {ratio:.2f} {verdict} the target ≥ {TARGET} of DuckDB "
                           f"alone (by CPU seconds, which load distorts less: {cpu_ratio:.2f})")
    table.notes.append("rows = data rows read (profileguard: loaded + quarantined; DuckDB: rows "
                       "in its table); each contender in its own subprocess, fresh DuckDB file; "
                       "CPU s = the subprocess's CPU time (all threads) for the source, after "
                       "the modules the `profileguard ingest` command loads are imported (so "
                       "pyarrow's one-time pandas import is not charged to the first source); CPU "
                       "ratio = rows per CPU second, profileguard ÷ DuckDB; peak = the "
                       "subprocess's max RSS")
    table.emit(None if args.no_append else args.results)
    if args.profile:
        files = workload.source_files(folder / "data", formats[0])
        manifest = workload.write_manifest(folder / formats[0] / "profileguard.yaml", files)
        import subprocess

        subprocess.run([common.python(), me, "--child", "pg", "--manifest", str(manifest),
                        "--profile"], check=False, stdout=subprocess.DEVNULL)
    return 1 if failed else 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--users", type=int, default=20_000)
    parser.add_argument("--formats", default="csv,parquet")
    parser.add_argument("--results", type=Path, default=common.RESULTS,
                        help="Markdown file to append the table to")
    parser.add_argument("--no-append", action="store_true", help="do not write the results file")
    parser.add_argument("--data", type=Path, default=common.DATA,
                        help="folder for the cached data and workspaces")
    parser.add_argument("--profile", action="store_true",
                        help="after the run, profile the profileguard ingest (first format) "
                             "with cProfile; the statistics go to stderr")
    parser.add_argument("--quick", action="store_true", help="the default size (for run_all)")
    parser.add_argument("--timeout", type=float, default=3600.0)
    parser.add_argument("--child", choices=["pg", "duckdb"], help=argparse.SUPPRESS)
    parser.add_argument("--manifest", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--files", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child == "pg":
        _child_profileguard(args.manifest, args.profile)
        return 0
    if args.child == "duckdb":
        _child_duckdb(json.loads(args.files), args.manifest.parent)
        return 0
    return _run(args)


if __name__ == "__main__":
    sys.exit(main())
