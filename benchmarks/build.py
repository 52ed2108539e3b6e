"""Benchmark: the profile build against its floor (one DuckDB query) and against pandas.

Data: the demo shop generated as Parquet into ``benchmarks/data/build-<users>/`` (reused
when present; 1M users is ~50M events and ~2.9M orders) and ingested ONCE through the
real ingestion (gate, pseudonyms) into that folder's workspace — cached too. Then, each in
its own subprocess (wall time and peak RSS are its own):

- **build**: ``model.build.build`` — every demo tag of the compliant manifest (14
  descriptive in one fused GROUP BY plan per source, then the derived R/F/M scores and RFM
  segment),
  consent and overrides applied, wide and long snapshot tables written and registered.
  Decisions are constructed directly, not read from an imported consent log: every user is
  allowed every purpose the tags serve (the worst case — nobody's tags are removed), no
  objectors, no overrides. Every statement the build sends to the engine is timed, so the
  step table shows where the time goes (a view's work shows in the statement reading it).
- **floor**: ONE DuckDB statement over the same Parquet files computing count(*) and a sum
  per user for each source (users: city_tier; orders: paid_amount; events: dwell_ms), into a
  table; and, for reference, the same statement over the ingested warehouse tables.
- **pandas**: ``build_pandas.build_tags`` — the same tags the straightforward pandas way,
  on all users, or on the first ``--pandas-users`` users extrapolated linearly (labelled).

Targets: build ≤ 2.0× the floor; build ≥ 10× faster than pandas. Each contender reports wall
and CPU seconds (its process, every thread): on a shared machine the wall clock measures
the neighbours too, so ratios are given for both.

    .venv/bin/python benchmarks/build.py --users 100000
    .venv/bin/python benchmarks/build.py --users 1000000 [--pandas-users 200000]
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

SOURCES = ("users", "orders", "events")
NAN = float("nan")
SUM_OF = {"users": "CAST(city_tier AS BIGINT)",
          "orders": "TRY_CAST(paid_amount AS DECIMAL(18,2))", "events": "dwell_ms"}
FLOOR_TARGET, PANDAS_TARGET = 2.0, 10.0


def cpu_s() -> float:
    """CPU seconds of this process so far, all threads (DuckDB's workers included)."""
    return time.process_time()


def floor_sql(relations: dict[str, str], user: str = "user_id") -> str:
    parts = [f"SELECT '{s}' AS source, {user} AS user_id, count(*) AS n, sum({SUM_OF[s]}) AS amount "
             f"FROM {rel} GROUP BY {user}" for s, rel in relations.items()]
    return " UNION ALL ".join(parts)


# -- children --------------------------------------------------------------------------


def _child_ingest(manifest: Path) -> None:
    from profileguard.collect.ingest import ingest
    from profileguard.pipeline.services import open_services

    for sub in (".profileguard", ".profileguard-secrets"):
        shutil.rmtree(manifest.parent / sub, ignore_errors=True)
    with open_services(manifest) as svc:
        started = time.perf_counter()
        report = ingest(svc.engine, svc.manifest, svc.ws.root, svc.ws.key, now=workload.AS_OF)
        seconds = time.perf_counter() - started
        svc.engine.execute("CHECKPOINT")
    common.child_main({"seconds": seconds, "rows_in": report.rows_in, "loaded": report.loaded,
                       "quarantined": sum(report.quarantined.values()),
                       "reconciles": report.reconciles, "method": "ingest"})


def _child_load(manifest: Path) -> None:
    """The warehouse tables straight from Parquet by DuckDB: declared types, ids hashed to
    pseudonym-shaped text in SQL, no gate (``--load duckdb``, for sizes the real ingestion
    cannot reach in the time at hand)."""
    from profileguard.collect.gate import SQL_TYPES
    from profileguard.collect.ingest import ensure_system_tables, ensure_target, stored_fields
    from profileguard.pipeline.services import open_services

    for sub in (".profileguard", ".profileguard-secrets"):
        shutil.rmtree(manifest.parent / sub, ignore_errors=True)
    rows = 0
    with open_services(manifest) as svc:
        engine, m = svc.engine, svc.manifest
        started = time.perf_counter()
        ensure_system_tables(engine)
        for name, src in m.sources.items():
            fields = stored_fields(m, name)
            ensure_target(engine, name, fields)
            path = Path(src.path or "")
            present = {r[0] for r in engine.query_rows(
                f"DESCRIBE SELECT * FROM read_parquet('{path}')")}
            exprs = []
            for col, decl in fields.items():
                if col not in present:
                    exprs.append("NULL")
                elif col == src.user or decl.transform == "pseudonymize":
                    exprs.append(f"'p_' || left(sha256('k' || CAST(\"{col}\" AS VARCHAR)), 26)")
                else:
                    exprs.append(f"TRY_CAST(\"{col}\" AS {SQL_TYPES[decl.type]})")
            # the gate's missing_key rule, so that keyless dirty rows do not become a user
            keys = [c for c in (src.key, src.user) if c and c in present]
            where = " AND ".join(f"NULLIF(trim(CAST(\"{c}\" AS VARCHAR)), '') IS NOT NULL"
                                 for c in keys) or "TRUE"
            engine.execute(f'INSERT INTO "{name}" SELECT {", ".join(exprs)}, 0 '
                           f"FROM read_parquet('{path}') WHERE {where}")
            rows += int(engine.query_rows(f'SELECT count(*) FROM "{name}"')[0][0])
        engine.execute("CHECKPOINT")
        seconds = time.perf_counter() - started
    common.child_main({"seconds": seconds, "rows_in": rows, "loaded": rows, "quarantined": 0,
                       "reconciles": True, "method": "duckdb"})


def _child_build(manifest: Path) -> None:
    from profileguard.model.build import Decisions, build, plan_steps
    from profileguard.pipeline.services import open_services

    svc = open_services(manifest)
    engine, m = svc.engine, svc.manifest
    started = time.perf_counter()
    purposes = sorted({t.tag.purpose for t in svc.catalog.buildable})
    values = ", ".join(f"('{p}')" for p in purposes)
    allowed = engine.query_arrow(
        f"SELECT u.user_id AS user_pid, p.purpose FROM (SELECT DISTINCT user_id FROM users) u "
        f"CROSS JOIN (VALUES {values}) p(purpose)")
    empty = Decisions.empty()
    decisions = Decisions(allowed, empty.objectors, empty.overrides)
    decisions_s = time.perf_counter() - started
    steps = plan_steps(m, svc.catalog, workload.AS_OF)
    step_of = {f"_b_{i}": f"plan {s.name}" for i, s in
               enumerate(s for s in steps if s.kind == "descriptive")}
    timings: dict[str, float] = defaultdict(float)
    cpu: dict[str, float] = defaultdict(float)

    def timed(fn: Any) -> Any:
        def run(sql: str, *args: Any, **kwargs: Any) -> Any:
            t0, c0 = time.perf_counter(), cpu_s()
            try:
                return fn(sql, *args, **kwargs)
            finally:
                label = common.statement_label(sql)
                for table, step in step_of.items():
                    if label == f"write {table}":
                        label = step
                timings[label] += time.perf_counter() - t0
                cpu[label] += cpu_s() - c0
        return run

    def timed_load(table: str, data: Any, mode: Any = "append") -> int:
        t0, c0 = time.perf_counter(), cpu_s()
        try:
            return load(table, data, mode)
        finally:
            timings[f"load {table}"] += time.perf_counter() - t0
            cpu[f"load {table}"] += cpu_s() - c0

    load = engine.load_arrow
    engine.execute = timed(engine.execute)  # type: ignore[method-assign]
    engine.query_rows = timed(engine.query_rows)  # type: ignore[method-assign]
    engine.load_arrow = timed_load  # type: ignore[method-assign]
    started, cpu0 = time.perf_counter(), cpu_s()
    report = build(engine, m, manifest_sha256=svc.ws.loaded.sha256, as_of=workload.AS_OF,
                   decisions=decisions, keep=1)
    seconds, cpu_seconds = time.perf_counter() - started, cpu_s() - cpu0
    step_times = dict(timings)
    long_rows = int(engine.query_rows(f"SELECT count(*) FROM snap_{report.snapshot.id}_long")[0][0]
                    ) if report.snapshot else 0
    kinds = {k: sum(1 for t in svc.catalog.buildable if t.tag.kind == k
                    and t.name in report.coverage) for k in ("descriptive", "derived", "predictive")}
    payload = {"seconds": seconds, "cpu_s": cpu_seconds, "step_cpu": dict(cpu),
               "decisions_s": decisions_s, "users": report.users,
               "coverage": report.coverage, "long_rows": long_rows, "kinds": kinds,
               "tags": len(report.coverage), "refused": len(report.refusals),
               "steps": step_times, "plan": [s.name for s in steps]}
    svc.close()
    common.child_main(payload)


def _child_floor(files: dict[str, str], warehouse: str | None, where: Path) -> None:
    import duckdb

    out: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(dir=where) as tmp:
        con = duckdb.connect(str(Path(tmp) / "floor.duckdb"))
        sql = floor_sql({s: f"read_parquet('{p}')" for s, p in files.items()})
        t0, c0 = time.perf_counter(), cpu_s()
        con.execute(f"CREATE TABLE floor AS {sql}").fetchall()
        out["seconds"], out["cpu_s"] = time.perf_counter() - t0, cpu_s() - c0
        out["rows"] = int(con.execute("SELECT count(*) FROM floor").fetchall()[0][0])
        if warehouse:
            con.execute(f"ATTACH '{warehouse}' AS wh (READ_ONLY)").fetchall()
            sql = floor_sql({s: f"wh.main.{s}" for s in files})
            t0, c0 = time.perf_counter(), cpu_s()
            con.execute(f"CREATE TABLE floor_wh AS {sql}").fetchall()
            out["warehouse_seconds"] = time.perf_counter() - t0
            out["warehouse_cpu_s"] = cpu_s() - c0
        con.close()
    common.child_main(out)


def _child_pandas(files: dict[str, str]) -> None:
    import build_pandas

    t0, c0 = time.perf_counter(), cpu_s()
    wide = build_pandas.build_tags({k: Path(v) for k, v in files.items()}, workload.AS_OF)
    seconds, cpu_seconds = time.perf_counter() - t0, cpu_s() - c0
    common.child_main({"seconds": seconds, "cpu_s": cpu_seconds, "users": len(wide),
                       "coverage": {c: int(wide[c].notna().sum()) for c in wide.columns}})


def pandas_sample(folder: Path, files: dict[str, Path], users: int) -> dict[str, Path]:
    """Every row of the shop's first ``users`` users, one Parquet per source (cached; written
    by DuckDB so that sampling does not count towards the pandas contender's memory)."""
    import duckdb

    out = folder / f"pandas-sample-{users}"
    target = {name: out / path.name for name, path in files.items()}
    if all(p.exists() for p in target.values()):
        return target
    out.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect()
    try:
        con.execute(f"CREATE TEMP TABLE keep AS SELECT user_id FROM read_parquet("
                    f"'{files['users']}') LIMIT {users}").fetchall()
        for name, path in files.items():
            tmp = target[name].with_suffix(".tmp")
            con.execute(f"COPY (SELECT * FROM read_parquet('{path}') WHERE user_id IN "
                        f"(SELECT user_id FROM keep)) TO '{tmp}' (FORMAT parquet)").fetchall()
            tmp.replace(target[name])
    finally:
        con.close()
    return target


# -- the run ---------------------------------------------------------------------------


def _prepare(args: argparse.Namespace) -> tuple[Path, dict[str, Path], dict[str, Any]]:
    folder = args.data / f"build-{args.users}"
    t0 = time.perf_counter()
    gen = workload.demo_data(folder, args.users, ["parquet"])
    print(f"data: {folder} ready in {time.perf_counter() - t0:.1f} s "
          f"({gen['files'].get('events.parquet', 0):,} events, "
          f"{gen['files'].get('orders.parquet', 0):,} orders)", file=sys.stderr)
    files = workload.source_files(folder / "data", "parquet", SOURCES)
    manifest = workload.write_manifest(folder / "profileguard.yaml", files)
    marker = folder / "ingested.json"
    if not marker.exists() or json.loads(marker.read_text()).get("method", "ingest") != args.load:
        print(f"loading the warehouse ({args.load}; cached afterwards) …", file=sys.stderr)
        child = "ingest" if args.load == "ingest" else "load"
        res = common.run_child("ingest", [common.python(), str(Path(__file__).resolve()),
                                          "--child", child, "--manifest", str(manifest)])
        if not res.ok:
            raise SystemExit(f"ingest failed: {res.error}")
        marker.write_text(json.dumps({**res.payload, "peak_mb": res.peak_mb}))
    ingested: dict[str, Any] = json.loads(marker.read_text())
    return manifest, files, {"generated": gen, "ingested": ingested}


def _run(args: argparse.Namespace) -> int:
    manifest, files, facts = _prepare(args)
    me = str(Path(__file__).resolve())
    sample = min(args.pandas_users or args.users, args.users)
    fjson = json.dumps({k: str(v) for k, v in files.items()})
    warehouse = manifest.parent / ".profileguard" / "warehouse.duckdb"
    b = common.run_child("build", [common.python(), me, "--child", "build",
                                   "--manifest", str(manifest)], timeout=args.timeout)
    f = common.run_child("floor", [common.python(), me, "--child", "floor", "--files", fjson,
                                   "--warehouse", str(warehouse), "--manifest", str(manifest)],
                         timeout=args.timeout)
    pfiles = files if sample >= args.users else pandas_sample(manifest.parent, files, sample)
    pjson = json.dumps({k: str(v) for k, v in pfiles.items()})
    p = (common.run_child("pandas", [common.python(), me, "--child", "pandas", "--files", pjson],
                          timeout=args.timeout)
         if not args.skip_pandas else common.ChildResult("pandas", False, error="skipped"))
    gen, ing = facts["generated"]["files"], facts["ingested"]
    table = common.ResultTable(
        title=f"build — {args.users:,} users",
        command=f"python benchmarks/build.py --users {args.users}"
                + (f" --pandas-users {sample}" if sample < args.users else ""),
        headers=["contender", "what", "wall s", "CPU s", "× floor (wall)", "× floor (CPU)",
                 "peak MB"])
    floor_s, floor_cpu = f.payload.get("seconds", NAN), f.payload.get("cpu_s", NAN)
    build_s, build_cpu = b.payload.get("seconds", NAN), b.payload.get("cpu_s", NAN)

    def ratios(wall: float, cpu: float) -> tuple[str, str]:
        return common.fmt_ratio(wall / floor_s), common.fmt_ratio(cpu / floor_cpu)

    if b.ok:
        kinds = b.payload["kinds"]
        table.add("profileguard build", f"{b.payload['tags']} tags ({kinds['descriptive']} "
                  f"descriptive + {kinds['derived']} derived), "
                  f"{b.payload['users']:,} users, {b.payload['long_rows']:,} long rows",
                  build_s, build_cpu, *ratios(build_s, build_cpu), b.peak_mb)
    if f.ok:
        table.add("floor (DuckDB)", "count(*) + sum per user per source, over the Parquet",
                  floor_s, floor_cpu, "1.00×", "1.00×", f.peak_mb)
        if "warehouse_seconds" in f.payload:
            w, wc = f.payload["warehouse_seconds"], f.payload.get("warehouse_cpu_s", NAN)
            table.add("floor (DuckDB)", "same query over the ingested warehouse tables", w, wc,
                      *ratios(w, wc), "")
    if p.ok:
        scale = args.users / sample
        pandas_s, pandas_cpu = p.payload["seconds"] * scale, p.payload.get("cpu_s", NAN) * scale
        label = (f"all {p.payload['users']:,} users" if sample >= args.users else
                 f"EXTRAPOLATED linearly ×{scale:g} from {sample:,} users "
                 f"({p.payload['seconds']:.1f} s)")
        table.add("pandas", label, pandas_s, pandas_cpu, *ratios(pandas_s, pandas_cpu), p.peak_mb)
        for what, speedup in (("wall", pandas_s / build_s), ("CPU", pandas_cpu / build_cpu)):
            verdict = "meets" if speedup >= PANDAS_TARGET else "MISSES"
            table.notes.append(f"build is {speedup:.1f}× faster than pandas in {what} time — "
                               f"{verdict} the target ≥ {PANDAS_TARGET:g}×")
    elif args.skip_pandas:
        table.notes.append("pandas: skipped (--skip-pandas)")
    for res in (b, f, p):
        if not res.ok and res.error != "skipped":
            table.notes.append(f"{res.name}: {res.error}")
    if b.ok and f.ok:
        for what, ratio in (("wall", build_s / floor_s), ("CPU", build_cpu / floor_cpu)):
            verdict = "meets" if ratio <= FLOOR_TARGET else "MISSES"
            table.notes.append(f"build / floor = {ratio:.2f} in {what} time — {verdict} the "
                               f"target ≤ {FLOOR_TARGET:g}×")
    how = ("ingested once through profileguard's ingestion" if ing.get("method", "ingest") == "ingest" else
           "NOT ingested: loaded by DuckDB straight from the Parquet (declared types, ids "
           "hashed in SQL, rows without key dropped, no other gate rule; --load duckdb)")
    table.notes.append(
        f"data: {gen.get('users.parquet', 0):,} users, {gen.get('orders.parquet', 0):,} orders, "
        f"{gen.get('events.parquet', 0):,} events (Parquet, seed {workload.SEED}); {how} "
        f"in {ing['seconds']:.0f} s ({ing['rows_in']:,} rows in, {ing['loaded']:,} loaded, "
        f"{ing['quarantined']:,} quarantined; peak {ing['peak_mb']:,.0f} MB), cached")
    table.notes.append("decisions constructed directly: every user allowed every tag purpose, "
                       "no objectors, no overrides (worst case); made in "
                       f"{b.payload.get('decisions_s', float('nan')):.1f} s, not counted")
    table.emit(None if args.no_append else args.results)
    if b.ok:
        steps = common.ResultTable(
            title=f"build steps — {args.users:,} users", command=table.command,
            headers=["statement(s)", "wall s", "CPU s", "share of build (wall)",
                     "× floor (wall)"])
        step_cpu = b.payload.get("step_cpu", {})
        for label, s in sorted(b.payload["steps"].items(), key=lambda kv: -kv[1]):
            if s >= 0.005 * build_s:
                steps.add(label, s, step_cpu.get(label, NAN), f"{s / build_s:.0%}",
                          common.fmt_ratio(s / floor_s))
        rest = build_s - sum(b.payload["steps"].values())
        rest_cpu = build_cpu - sum(step_cpu.values())
        steps.add("(python: catalog, planning, sqlglot)", rest, rest_cpu,
                  f"{rest / build_s:.0%}", "")
        steps.notes.append("on DuckDB what is read once (a source's plan, the joined values, "
                           "the derived tags, the decisions per person) is a TEMP view: its "
                           "time is in the statement that reads it, finally `write snap_wide`")
        steps.emit(None if args.no_append else args.results)
    return 0 if (b.ok and f.ok and (p.ok or args.skip_pandas)) else 1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--users", type=int, default=100_000)
    parser.add_argument("--pandas-users", type=int, default=0,
                        help="run pandas on the first N users and extrapolate (0 = all)")
    parser.add_argument("--skip-pandas", action="store_true")
    parser.add_argument("--load", choices=["ingest", "duckdb"], default="ingest",
                        help="fill the warehouse once through profileguard's ingestion (default) "
                             "or by DuckDB straight from the Parquet (labelled in the results)")
    parser.add_argument("--results", type=Path, default=common.RESULTS,
                        help="Markdown file to append the tables to")
    parser.add_argument("--no-append", action="store_true", help="do not write the results file")
    parser.add_argument("--data", type=Path, default=common.DATA,
                        help="folder for the cached data and workspaces")
    parser.add_argument("--quick", action="store_true", help="the default size (for run_all)")
    parser.add_argument("--timeout", type=float, default=7200.0)
    parser.add_argument("--child", choices=["ingest", "load", "build", "floor", "pandas"],
                        help=argparse.SUPPRESS)
    parser.add_argument("--manifest", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--files", help=argparse.SUPPRESS)
    parser.add_argument("--warehouse", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child == "ingest":
        _child_ingest(args.manifest)
    elif args.child == "load":
        _child_load(args.manifest)
    elif args.child == "build":
        _child_build(args.manifest)
    elif args.child == "floor":
        _child_floor(json.loads(args.files), args.warehouse, args.manifest.parent)
    elif args.child == "pandas":
        _child_pandas(json.loads(args.files))
    else:
        return _run(args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
