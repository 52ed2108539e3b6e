"""k / l / t on 30,000 rows × 7 quasi-identifiers: profileguard against pycanon.

Run: ``.venv/bin/python benchmarks/risk.py [--rows N]``. Prints a table and appends a
dated one (with the machine) to ``benchmarks/RESULTS.md``. Target: ≥ 10× pycanon.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pyarrow as pa
from pycanon import anonymity as pycanon

from profileguard.process.risk import risk_report

# the same deterministic table the tests compare against pycanon
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "process"))
from process_adult_like import QUASI, adult_like


def timed(fn: Callable[[], Any]) -> tuple[Any, float]:
    start = time.perf_counter()
    value = fn()
    return value, time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=30_000)
    args = parser.parse_args()
    df = adult_like(args.rows)
    table = pa.Table.from_pandas(df, preserve_index=False)
    lines: list[tuple[str, str, float, float]] = []
    for sensitive in ("income", "hours_per_week"):
        ours, t_ours = timed(lambda s=sensitive: risk_report(table, QUASI, s))  # type: ignore[misc]
        theirs: dict[str, Any] = {}
        t_theirs = 0.0
        for name, fn in (
            ("k", lambda: pycanon.k_anonymity(df, QUASI)),
            ("l_distinct", lambda s=sensitive: pycanon.l_diversity(df, QUASI, [s])),
            ("l_entropy", lambda s=sensitive: pycanon.entropy_l_diversity(df, QUASI, [s])),
            ("t_closeness", lambda s=sensitive: pycanon.t_closeness(df, QUASI, [s])),
        ):
            theirs[name], seconds = timed(fn)
            t_theirs += seconds
        assert ours.k == theirs["k"] and ours.l_distinct == theirs["l_distinct"]
        assert abs(ours.t_closeness - theirs["t_closeness"]) < 1e-9
        kind = "categorical" if sensitive == "income" else "numeric (ordered EMD)"
        lines.append((f"k, l, entropy-l, t; sensitive {sensitive} ({kind})", "", t_ours, t_theirs))
        print(
            f"{sensitive}: ours k={ours.k} l={ours.l_distinct} t={ours.t_closeness:.4f} "
            f"classes={ours.classes}; pycanon k={theirs['k']} l={theirs['l_distinct']} "
            f"t={theirs['t_closeness']:.4f}"
        )
    machine = f"{platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}"
    header = (
        f"\n## risk — {dt.date.today().isoformat()} — {args.rows:,} rows × 7 quasi-identifiers\n\n"
        f"Machine: {machine}. Same results (k, l, t asserted equal).\n\n"
        "| measure | profileguard s | pycanon s | speed-up |\n|---|---|---|---|\n"
    )
    rows = "".join(
        f"| {name} | {ours:.3f} | {theirs:.2f} | {theirs / ours:.0f}× |\n"
        for name, _, ours, theirs in lines
    )
    print(header + rows)
    results = Path(__file__).with_name("RESULTS.md")
    if not results.exists():
        results.write_text("# Benchmark results\n", encoding="utf-8")
    with results.open("a", encoding="utf-8") as fh:
        fh.write(header + rows)


if __name__ == "__main__":
    main()
