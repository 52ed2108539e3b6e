"""The price audit on 1,000,000 quotes, end to end, timed step by step (target: under a minute).

Writes a simulated market (quotes, users, items) to CSV in a temporary directory, then times
what ``profileguard audit pricing quotes.csv --users users.csv --items items.csv --format json``
does: read and validate the three files, join, audit (joint model over 8 attributes,
item × hour cells, cluster-robust errors, 8 categories, Benjamini–Hochberg, matched pairs)
and render the JSON. Writing the CSVs is not counted. The planted 2% gold-tier surcharge
is reported so the run also shows the audit still finds it at this size.

The audit runs twice on the same loaded data, side by side: with the default jackknife
(CV3) standard errors — the row that counts against the one-minute target, load and JSON
included — and with CR1 (``--variance cr1``, the previous default), for the cost of CV3.

    python benchmarks/fairness_scale.py --quotes 1000000
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import RESULTS, ResultTable
from profileguard.audit.fairness.pricing import PricingConfig, audit_pricing
from profileguard.audit.fairness.quotes import load_quote_data
from profileguard.audit.fairness.report import to_json
from profileguard.audit.fairness.simulate import SimulationSpec, Surcharge, simulate_market


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quotes", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=3)
    parser.add_argument("--no-append", action="store_true", help="print only; do not write RESULTS.md")
    args = parser.parse_args()
    n = args.quotes
    spec = SimulationSpec(
        n_quotes=n, n_items=max(40, n // 2000), n_categories=8, days=14, seed=args.seed,
        surcharges=(Surcharge("loyalty_tier", "gold", 0.02),),
    )
    market = simulate_market(spec)
    with tempfile.TemporaryDirectory(prefix="pg-fair-") as tmp:
        root = Path(tmp)
        paths = root / "quotes.csv", root / "users.csv", root / "items.csv"
        market.quotes.to_csv(paths[0], index=False)
        market.users.to_csv(paths[1], index=False)
        market.items.to_csv(paths[2], index=False)
        size_mb = paths[0].stat().st_size / 1e6
        c0 = time.process_time()
        t0 = time.perf_counter()
        data = load_quote_data(*paths)
        t1 = time.perf_counter()
        load_cpu = time.process_time() - c0
        rows = []
        for variance in ("cv3", "cr1"):
            c1 = time.process_time()
            t2 = time.perf_counter()
            result = audit_pricing(data, PricingConfig(variance=variance))
            t3 = time.perf_counter()
            document = to_json(result)
            t4 = time.perf_counter()
            rows.append((variance, result, document, t3 - t2, t4 - t3, time.process_time() - c1))
    table = ResultTable(
        title="fairness_scale (price audit end to end)",
        command=" ".join(["python benchmarks/fairness_scale.py", *sys.argv[1:]]),
        headers=["quotes", "users", "cells", "tests", "variance", "load+validate s", "audit s",
                 "audit CPU s", "json s", "total s", "total CPU s", "gold gap (true 2%)", "flagged"],
    )
    for variance, result, _document, audit_s, json_s, audit_cpu in rows:
        gold = next(
            t for t in result.tests
            if t.attribute == "loyalty_tier" and t.group == "gold" and t.category is None
        )
        table.add(
            n, len(market.users), result.n_cells, len(result.tests), variance, f"{t1 - t0:.1f}",
            f"{audit_s:.1f}", f"{audit_cpu:.1f}", f"{json_s:.2f}", f"{t1 - t0 + audit_s + json_s:.1f}",
            f"{load_cpu + audit_cpu:.1f}",
            f"{gold.gap_pct:+.2f}% [{gold.ci[0]:+.2f}, {gold.ci[1]:+.2f}]",
            ", ".join(result.flagged_attributes) or "none",
        )
    cv3, cr1 = rows[0], rows[1]
    table.notes.append(
        f"CV3 / CR1 audit time: {cv3[3] / cr1[3]:.2f}× wall, {cv3[5] / cr1[5]:.2f}× CPU "
        "(same data, same process, one after the other)."
    )
    table.notes.append(
        f"quotes.csv {size_mb:.0f} MB; {len(cv3[1].pairs)} matched pairs; JSON {len(cv3[2]) / 1e3:.0f} kB. "
        "Wall times (s) on a machine shared with other jobs; CPU s = this process's CPU time, "
        "the figure to compare when the machine is loaded."
    )
    table.emit(results=None if args.no_append else RESULTS)


if __name__ == "__main__":
    main()
