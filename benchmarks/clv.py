"""Benchmark: customer value (RFM summary + BG/NBD & Gamma-Gamma fit + scoring) vs lifetimes.

A synthetic transaction log (default 10M transactions, 1M customers, one year of days) is
written to Parquet once, under ``benchmarks/data/``; then each implementation runs in its
own subprocess (``common.run_child``) so that its wall time, CPU time (user + system, all
threads) and peak resident memory (``ru_maxrss`` from ``wait4``) are its own, interpreter
start and imports included:

- profileguard: a ``DuckDBEngine`` reads the Parquet and computes the summary in SQL
  (``model.predictive.summary``), then numpy/SciPy fit BG/NBD and Gamma-Gamma and score
  every customer (expected purchases in 90 days, P(alive), 12-month CLV). The engine runs
  with ``--threads`` (default 1: on a shared machine a second thread buys little wall time
  for its extra CPU and its own partial hash tables), ``--memory-limit`` (DuckDB spills to a
  temporary directory beyond it) and its allocator told to give freed memory back early;
- lifetimes 0.11.3 (archived; a test-only dependency, ``.[dev]``): pandas reads the
  Parquet, ``summary_data_from_transaction_data``, ``BetaGeoFitter``, ``GammaGammaFitter``
  and the same three scores, in its straightforward documented use. If it cannot be
  imported (``--lifetimes-python`` names another interpreter), or exceeds ``--timeout``,
  the table says so.

Prints a table and appends it, dated, with the machine, to ``benchmarks/RESULTS.md``.

    python benchmarks/clv.py --transactions 1000000 --customers 100000
"""

from __future__ import annotations

import argparse
import datetime as dt
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import DATA, ChildResult, ResultTable, child_main, fmt_ratio, run_child

START = dt.date(2024, 1, 1)
CALIBRATION_DAYS = 272  # ~39 weeks, as in CDNOW
HORIZON_DAYS = 365
STAGES = ("summary", "fit", "score")


def generate(path: Path, transactions: int, customers: int, seed: int = 0) -> None:
    """A log with heterogeneous buying rates and dropout (one row per transaction).

    Arrow is imported here, not with the module: the measured workers import this file, and
    the memory of libraries they do not use themselves must not count against them."""
    import pyarrow as pa
    import pyarrow.parquet as pq

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


def run_profileguard(
    data: Path, cal: dt.date, partitions: int, threads: int, memory_limit: str
) -> dict[str, Any]:
    from profileguard.model.predictive.clv import fit_customer_value
    from profileguard.model.predictive.summary import rfm_summary
    from profileguard.store.engine import DuckDBEngine

    spill = tempfile.mkdtemp(prefix="pg_clv_spill_")  # DuckDB's temp files, if it spills
    clock = Clock()
    try:
        with DuckDBEngine(threads=threads or None, memory_limit=memory_limit or None) as engine:
            engine.execute(f"SET temp_directory = '{spill}'")
            # give freed memory back to the system as the query goes (jemalloc), not at exit:
            # the summary's hash tables are gone before the models are fitted
            engine.execute("SET allocator_background_threads = true")
            engine.execute("SET allocator_flush_threshold = '16MB'")
            engine.execute("SET allocator_bulk_deallocation_flush_threshold = '16MB'")
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


def _version(python: str, module: str) -> str:
    code = f"import importlib.metadata as m; print(m.version('{module}'))"
    done = subprocess.run([python, "-c", code], capture_output=True, text=True)
    return done.stdout.strip() or "not installed"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--transactions", type=int, default=10_000_000)
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument(
        "--lifetimes-python",
        default=sys.executable,
        help="interpreter with lifetimes installed (default: this one, .[dev] installs it)",
    )
    parser.add_argument("--timeout", type=float, default=1800.0)
    parser.add_argument(
        "--partitions",
        type=int,
        default=1,
        help="customer partitions of profileguard's summary (rfm_summary partitions=)",
    )
    parser.add_argument(
        "--threads", type=int, default=1, help="DuckDB threads of profileguard (0: one per core)"
    )
    parser.add_argument(
        "--memory-limit",
        default="150MB",
        help="DuckDB memory_limit of profileguard ('' for DuckDB's default, 80%% of RAM)",
    )
    parser.add_argument("--worker", choices=["profileguard", "lifetimes"], help=argparse.SUPPRESS)
    parser.add_argument("--data", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    cal = START + dt.timedelta(days=CALIBRATION_DAYS)

    if args.worker:  # inside the measured subprocess
        if args.worker == "profileguard":
            result = run_profileguard(
                args.data, cal, args.partitions, args.threads, args.memory_limit
            )
        else:
            result = run_lifetimes(args.data, cal)
        child_main(result)
        return

    data = DATA / f"clv-{args.transactions}-{args.customers}.parquet"
    if not data.exists():
        t = time.perf_counter()
        data.parent.mkdir(parents=True, exist_ok=True)
        partial = data.with_suffix(".tmp")
        generate(partial, args.transactions, args.customers)
        partial.rename(data)  # a run stopped half way leaves no truncated log behind
        print(f"generated {data} in {time.perf_counter() - t:.1f} s", file=sys.stderr)
    me = str(Path(__file__).resolve())
    common_args = ["--data", str(data), "--partitions", str(args.partitions)]
    common_args += ["--threads", str(args.threads), "--memory-limit", args.memory_limit]
    env = {"PYTHONPATH": str(Path(me).parent.parent / "src")}
    results = {
        which: run_child(
            which,
            [python, me, "--worker", which, *common_args],
            timeout=args.timeout,
            env=env,
        )
        for which, python in (
            ("profileguard", sys.executable),
            ("lifetimes", args.lifetimes_python),
        )
    }
    for name, res in results.items():
        print(f"{name}: {res}", file=sys.stderr)
    report(args, results)


def report(args: argparse.Namespace, results: dict[str, ChildResult]) -> None:
    ours, theirs = results["profileguard"], results["lifetimes"]
    lt = args.lifetimes_python
    table = ResultTable(
        "clv — customer value vs lifetimes",
        f"python benchmarks/clv.py --transactions {args.transactions} --customers "
        f"{args.customers} --partitions {args.partitions} --threads {args.threads} "
        f"--memory-limit '{args.memory_limit}'",
        ["implementation", "status", *(f"{s} s (CPU s)" for s in STAGES), "wall s", "CPU s",
         "peak MB"],
    )
    names = {
        "profileguard": f"profileguard (DuckDB threads {args.threads or 'all'}, memory_limit "
        f"{args.memory_limit or 'default'}, {args.partitions} partition(s))",
        "lifetimes": f"lifetimes {_version(lt, 'lifetimes')} (pandas {_version(lt, 'pandas')}, "
        f"numpy {_version(lt, 'numpy')})",
    }
    for key, res in results.items():
        if not res.ok:
            table.add(names[key], res.error, "–", "–", "–", res.wall_s, res.cpu_s, res.peak_mb)
            continue
        stages = [f"{res.payload[f'{s}_s']:.1f} ({res.payload[f'{s}_cpu']:.1f})" for s in STAGES]
        table.add(names[key], "ok", *stages, res.wall_s, res.cpu_s, res.peak_mb)
    if ours.ok and theirs.ok:
        a, b = theirs.payload, ours.payload
        stages = [
            f"{fmt_ratio(a[f'{s}_s'] / b[f'{s}_s'])} ({fmt_ratio(a[f'{s}_cpu'] / b[f'{s}_cpu'])})"
            for s in STAGES
        ]
        table.add(
            "ratio lifetimes / profileguard (target ≥ 10× time, ≥ 5× memory)", "",
            *stages, fmt_ratio(theirs.wall_s / ours.wall_s), fmt_ratio(theirs.cpu_s / ours.cpu_s),
            fmt_ratio(theirs.peak_mb / ours.peak_mb),
        )
        params = {k: (round(b["params"][k], 4), round(a["params"][k], 4)) for k in b["params"]}
        table.notes.append(f"BG/NBD parameters (profileguard, lifetimes): {params}")
    table.notes.append(
        f"Synthetic log, one year of days, calibration {CALIBRATION_DAYS} days, the same "
        "Parquet file for both; each contender in its own subprocess, one after the other. "
        "Wall s, CPU s (user + system, all threads) and peak RSS via wait4 include "
        "interpreter start and imports; stage columns are wall (CPU) seconds inside the "
        "subprocess. On a shared machine wall times follow the load: compare CPU s too."
    )
    table.emit()


if __name__ == "__main__":
    main()
