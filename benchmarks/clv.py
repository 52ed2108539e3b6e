"""Benchmark: customer value (RFM summary + BG/NBD & Gamma-Gamma fit + scoring) vs lifetimes.

A synthetic transaction log (default 10M transactions, 1M customers, one year of days) is
written to Parquet once; then each implementation runs in its own subprocess so that
its wall time and peak resident memory (``ru_maxrss`` from ``wait4``) are measured alone:

- profileguard: DuckDB (default settings, plus ``allocator_background_threads``) reads the
  Parquet and computes the summary in SQL (``model.predictive.summary``), then numpy/SciPy fit BG/NBD and Gamma-Gamma and score
  every customer (expected purchases in 90 days, P(alive), 12-month CLV). It runs twice:
  with the summary in ``--partitions`` customer partitions (less memory) and in one;
- lifetimes 0.11.3 (archived): pandas reads the Parquet,
  ``summary_data_from_transaction_data``, ``BetaGeoFitter``, ``GammaGammaFitter`` and the
  same three scores. If it cannot be imported, or exceeds ``--timeout``, the table says so.

Prints a table and appends it, dated, with the machine, to ``benchmarks/RESULTS.md``.

    python benchmarks/clv.py --transactions 1000000 --customers 100000
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "RESULTS.md"
START = dt.date(2024, 1, 1)
CALIBRATION_DAYS = 272  # ~39 weeks, as in CDNOW
HORIZON_DAYS = 365
STAGES = ("summary", "fit", "score")


def generate(path: Path, transactions: int, customers: int, seed: int = 0) -> None:
    """A log with heterogeneous buying rates and dropout (one row per transaction)."""
    rng = np.random.default_rng(seed)
    first = rng.integers(0, 180, customers)
    lifetime = rng.exponential(200.0, customers)
    end = np.minimum(first + lifetime, HORIZON_DAYS - 1).astype(np.int64)
    weight = rng.gamma(0.5, 1.0, customers) * (end - first + 1)
    extra = rng.multinomial(transactions - customers, weight / weight.sum())
    counts = extra + 1
    cust = np.repeat(np.arange(customers, dtype=np.int64), counts)
    lo = np.repeat(first, counts)
    hi = np.repeat(end, counts)
    day = lo + np.floor(rng.random(len(cust)) * (hi - lo + 1)).astype(np.int64)
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
    day[starts] = first  # each customer's first transaction is on their first day
    spend = np.repeat(rng.lognormal(3.0, 0.5, customers), counts)
    amount = np.round(spend * rng.gamma(4.0, 0.25, len(cust)), 2)
    dates = np.datetime64(START.isoformat()) + day.astype("timedelta64[D]")
    table = pa.table({"customer_id": cust, "order_date": dates, "amount": amount})
    pq.write_table(table, path, row_group_size=1_000_000)


def run_profileguard(data: Path, cal: dt.date, partitions: int, threads: int) -> dict[str, Any]:
    from profileguard.model.predictive.clv import fit_customer_value
    from profileguard.model.predictive.summary import rfm_summary
    from profileguard.store.engine import DuckDBEngine

    spill = tempfile.mkdtemp(prefix="pg_clv_spill_")  # DuckDB's temp files, if it spills
    clock = Clock()
    try:
        with DuckDBEngine(threads=threads or None) as engine:
            engine.execute(f"SET temp_directory = '{spill}'")
            # purge freed memory in the background (jemalloc), so the partitions' working
            # memory is given back between them
            engine.execute("SET allocator_background_threads = true")
            engine.execute(f"CREATE VIEW tx AS SELECT * FROM read_parquet('{data}')")
            summary = rfm_summary(
                engine,
                "tx",
                customer="customer_id",
                date="order_date",
                amount="amount",
                calibration_end=cal,
                partitions=partitions,
            )
    finally:
        shutil.rmtree(spill, ignore_errors=True)
    clock.lap("summary")
    model = fit_customer_value(summary)
    clock.lap("fit")
    purchases = model.expected_purchases(summary, 90.0)
    alive = model.p_alive(summary)
    clv = model.clv(summary, months=12, monthly_discount_rate=0.01)
    clock.lap("score")
    return clock.laps | {
        "customers": len(summary),
        "params": model.bgnbd.params.as_dict(),
        "check": float(purchases.sum() + alive.sum() + clv.sum()),
    }


class Clock:
    """Wall and CPU seconds (all threads of the process) of consecutive stages."""

    def __init__(self) -> None:
        self.laps: dict[str, float] = {}
        self._wall, self._cpu = time.perf_counter(), time.process_time()

    def lap(self, stage: str) -> None:
        wall, cpu = time.perf_counter(), time.process_time()
        self.laps |= {f"{stage}_s": wall - self._wall, f"{stage}_cpu": cpu - self._cpu}
        self._wall, self._cpu = wall, cpu


def run_lifetimes(data: Path, cal: dt.date) -> dict[str, Any]:
    import pandas as pd
    from lifetimes import BetaGeoFitter, GammaGammaFitter
    from lifetimes.utils import summary_data_from_transaction_data

    clock = Clock()
    df = pd.read_parquet(data)
    summary = summary_data_from_transaction_data(
        df,
        "customer_id",
        "order_date",
        monetary_value_col="amount",
        observation_period_end=pd.Timestamp(cal),
        freq="D",
    )
    clock.lap("summary")
    bgf = BetaGeoFitter().fit(summary["frequency"], summary["recency"], summary["T"])
    repeat = summary[(summary["frequency"] > 0) & (summary["monetary_value"] > 0)]
    ggf = GammaGammaFitter().fit(repeat["frequency"], repeat["monetary_value"])
    clock.lap("fit")
    f, r, T = summary["frequency"], summary["recency"], summary["T"]
    purchases = bgf.conditional_expected_number_of_purchases_up_to_time(90, f, r, T)
    alive = bgf.conditional_probability_alive(f, r, T)
    clv = ggf.customer_lifetime_value(
        bgf, f, r, T, summary["monetary_value"], time=12, discount_rate=0.01, freq="D"
    )
    clock.lap("score")
    return clock.laps | {
        "customers": len(summary),
        "params": {k: float(v) for k, v in bgf.params_.items()},
        "check": float(purchases.sum() + alive.sum() + clv.sum()),
    }


def measure(
    which: str,
    data: Path,
    cal: dt.date,
    python: str,
    timeout: float,
    partitions: int,
    threads: int,
) -> dict[str, Any]:
    """Run one implementation in a subprocess; wall time and peak RSS from wait4."""
    cmd = [python, __file__, "--worker", which, "--data", str(data), "--cal", cal.isoformat()]
    cmd += ["--partitions", str(partitions), "--threads", str(threads)]
    env = dict(os.environ, PYTHONPATH=str(HERE.parent / "src"))
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.communicate()
        return {"status": f"timed out after {timeout:.0f} s"}
    wall = time.perf_counter() - start
    usage, cpu = children_usage()
    if proc.returncode != 0:
        last = (err.decode(errors="replace").strip().splitlines() or ["?"])[-1]
        return {"status": f"failed: {last[:160]}"}
    result: dict[str, Any] = json.loads(out.decode().strip().splitlines()[-1])
    result |= {"status": "ok", "wall_s": wall, "cpu_s": cpu, "peak_mb": usage}
    return result


def children_usage() -> tuple[float, float]:
    """Peak RSS (MB) and CPU seconds of the reaped children. Each implementation gets a
    fresh parent (``--single``), so these are that implementation's own figures."""
    import resource

    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_maxrss / 1024.0, usage.ru_utime + usage.ru_stime


def machine() -> str:
    cpu = platform.processor() or "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
        mem_kb = int(Path("/proc/meminfo").read_text().split()[1])
        mem = f"{mem_kb / 1024 / 1024:.0f} GB RAM"
    except OSError:
        mem = "RAM unknown"
    return f"{cpu}, {os.cpu_count()} cores, {mem}, Python {platform.python_version()}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--transactions", type=int, default=10_000_000)
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument(
        "--lifetimes-python",
        default=sys.executable,
        help="interpreter with lifetimes installed (e.g. an older-pandas venv)",
    )
    parser.add_argument("--timeout", type=float, default=1800.0)
    parser.add_argument(
        "--partitions",
        type=int,
        default=4,
        help="customer partitions of the main profileguard run's summary (rfm_summary "
        "partitions=: less memory, one more read of the file each); a second run with one "
        "partition is measured too",
    )
    parser.add_argument(
        "--threads",
        type=int,
        default=0,
        help="DuckDB threads of the profileguard runs (default 0: DuckDB's own, one per core)",
    )
    parser.add_argument("--worker", choices=["profileguard", "lifetimes"], help=argparse.SUPPRESS)
    parser.add_argument("--single", choices=["profileguard", "lifetimes"], help=argparse.SUPPRESS)
    parser.add_argument("--data", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--cal", help=argparse.SUPPRESS)
    args = parser.parse_args()
    cal = START + dt.timedelta(days=CALIBRATION_DAYS)

    if args.worker:  # inside the measured subprocess
        day = dt.date.fromisoformat(args.cal)
        if args.worker == "profileguard":
            print(json.dumps(run_profileguard(args.data, day, args.partitions, args.threads)))
        else:
            print(json.dumps(run_lifetimes(args.data, day)))
        return
    if args.single:  # a fresh parent per implementation, so RUSAGE_CHILDREN is its own
        python = sys.executable if args.single == "profileguard" else args.lifetimes_python
        result = measure(
            args.single, args.data, cal, python, args.timeout, args.partitions, args.threads
        )
        print(json.dumps(result))
        return

    data = Path(f"/tmp/pg_clv_bench_{args.transactions}_{args.customers}.parquet")
    if not data.exists():
        t = time.perf_counter()
        generate(data, args.transactions, args.customers)
        print(f"generated {data} in {time.perf_counter() - t:.1f} s", file=sys.stderr)
    contenders = {
        "profileguard": ("profileguard", args.partitions),
        "profileguard_one": ("profileguard", 1),
        "lifetimes": ("lifetimes", 1),
    }
    results = {}
    load_before = os.getloadavg()[0]
    for name, (which, partitions) in contenders.items():
        cmd = [sys.executable, __file__, "--single", which, "--data", str(data)]
        cmd += ["--lifetimes-python", args.lifetimes_python, "--timeout", str(args.timeout)]
        cmd += ["--partitions", str(partitions), "--threads", str(args.threads)]
        out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
        results[name] = json.loads(out.strip().splitlines()[-1])
        print(f"{name}: {results[name]}", file=sys.stderr)
    report(args, results, f"{load_before:.1f} at start, {os.getloadavg()[0]:.1f} at the end")


def _version(python: str, module: str) -> str:
    code = f"import importlib.metadata as m; print(m.version('{module}'))"
    done = subprocess.run([python, "-c", code], capture_output=True, text=True)
    return done.stdout.strip() or "not installed"


def report(args: argparse.Namespace, results: dict[str, dict[str, Any]], load: str) -> None:
    theirs = results["lifetimes"]
    lt_env = (
        f"lifetimes {_version(args.lifetimes_python, 'lifetimes')}, pandas "
        f"{_version(args.lifetimes_python, 'pandas')}, numpy "
        f"{_version(args.lifetimes_python, 'numpy')}"
    )
    names = {
        "profileguard": f"profileguard (summary in {args.partitions} partitions)",
        "profileguard_one": "profileguard (summary in 1 partition)",
        "lifetimes": f"lifetimes ({lt_env})",
    }
    rows = [
        "| implementation | status | summary s (CPU) | fit s (CPU) | score s (CPU) | wall s "
        "| CPU s | peak MB |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for key, name in names.items():
        r = results[key]
        if r["status"] != "ok":
            rows.append(f"| {name} | {r['status']} | — | — | — | — | — | — |")
            continue
        stages = " | ".join(f"{r[f'{s}_s']:.1f} ({r[f'{s}_cpu']:.1f})" for s in STAGES)
        rows.append(
            f"| {name} | ok | {stages} | {r['wall_s']:.1f} | {r['cpu_s']:.1f} | "
            f"{r['peak_mb']:.0f} |"
        )
    ours = results["profileguard"]
    for key in ("profileguard", "profileguard_one"):
        r = results[key]
        if r["status"] == "ok" and theirs["status"] == "ok":
            stages = " | ".join(
                f"{theirs[f'{s}_s'] / r[f'{s}_s']:.1f}× ({theirs[f'{s}_cpu'] / r[f'{s}_cpu']:.1f}×)"
                for s in STAGES
            )
            rows.append(
                f"| ratio lifetimes / {names[key]} | | {stages} | "
                f"{theirs['wall_s'] / r['wall_s']:.1f}× | {theirs['cpu_s'] / r['cpu_s']:.1f}× | "
                f"{theirs['peak_mb'] / r['peak_mb']:.1f}× |"
            )
    if ours["status"] == "ok" and theirs["status"] == "ok":
        params = {
            k: (round(ours["params"][k], 4), round(theirs["params"][k], 4)) for k in ours["params"]
        }
        rows.append("")
        rows.append(f"BG/NBD parameters (profileguard, lifetimes): {params}")
    text = "\n".join(
        [
            f"## clv — {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC",
            "",
            f"Command: `python benchmarks/clv.py --transactions {args.transactions} "
            f"--customers {args.customers} --partitions {args.partitions} --threads "
            f"{args.threads}`; synthetic log, "
            f"one year of days, calibration {CALIBRATION_DAYS} days, the same Parquet file for "
            "all. Each contender in its own subprocess, one after the other: wall s, CPU s "
            "(user + system, all threads) and peak RSS via wait4, including interpreter start "
            "and imports; stage columns are wall (CPU) seconds inside the subprocess.",
            f"Machine: {machine()}; load average (1 min) {load} "
            "(shared machine: when it is high, compare CPU s).",
            "",
            *rows,
            "",
        ]
    )
    print(text)
    if not RESULTS.exists():
        RESULTS.write_text("# Benchmark results\n")
    with RESULTS.open("a") as fh:  # append: other benchmarks write here too
        fh.write("\n" + text)


if __name__ == "__main__":
    main()
