"""Power and false-positive rate of the price audit, by simulation.

For each market size and planted gap (a surcharge on gold-tier users in every category),
``--reps`` markets are drawn from ``profileguard.audit.fairness.simulate`` (the confounders
are always there: an A/B bucket tied to iOS, coupons for new users, prices rising while new
users arrive, member prices, a cheaper app) and audited with the default configuration
(joint model, item × hour cells, cluster-robust p-values, per-category tests,
Benjamini–Hochberg, 1% materiality). Every market is audited twice, side by side: with the
default delete-one-user jackknife (CV3) standard errors and with CR1 (the previous default).
Reported:

* power — share of markets where the gold-tier gap (all categories) is flagged, and where it
  is merely significant after BH (no materiality threshold);
* 95% CI coverage of the true gap, mean estimate;
* false-positive rate under the confounded null — share of markets with *any* flag, i.e.
  per audit run (family-wise over its ~75 tests after Benjamini–Hochberg), not per test —
  with the confounder columns present (the audit's claim, target ≤ 5%), and with them
  dropped (what a naive comparison would report); next to it the per-test calibration: the
  share of single tests with raw p below 0.05 and 0.01.

Results are printed, appended to benchmarks/RESULTS.md and written into docs/fairness.md
between the ``power-table`` markers.

    python benchmarks/fairness_power.py --reps 20 --null-reps 200,200,60
"""

from __future__ import annotations

import argparse
import sys
import time
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import ResultTable
from profileguard.audit.fairness.pricing import (
    PriceTest,
    PricingConfig,
    PricingResult,
    audit_pricing,
)
from profileguard.audit.fairness.quotes import assemble
from profileguard.audit.fairness.simulate import SimulationSpec, Surcharge, simulate_market

DOCS = Path(__file__).resolve().parent.parent / "docs" / "fairness.md"
BEGIN, END = "<!-- power-table:begin -->", "<!-- power-table:end -->"
CONFOUNDERS = ["ab_bucket", "coupon", "member_price", "channel"]


def spec_for(n: int, seed: int, gap: float) -> SimulationSpec:
    """Market shape scaled with the number of quotes (about 10 quotes per item × hour)."""
    items = max(40, n // 750)
    surcharges = (Surcharge("loyalty_tier", "gold", gap),) if gap > 0 else ()
    return SimulationSpec(n_quotes=n, n_items=items, days=3, seed=seed, surcharges=surcharges)


VARIANCES = ("cv3", "cr1")


def run(n: int, seed: int, gap: float, naive: bool = False) -> dict[str, PricingResult]:
    """One market, audited once per variance estimator (same data for both)."""
    market = simulate_market(spec_for(n, seed, gap))
    quotes = market.quotes.drop(columns=CONFOUNDERS) if naive else market.quotes
    data = assemble(quotes, market.users, market.items)
    return {v: audit_pricing(data, PricingConfig(variance=v)) for v in VARIANCES}


@dataclass
class Cell:
    flagged: int = 0
    flagged_cr1: int = 0
    significant: int = 0
    covered: int = 0
    other_flags: int = 0
    estimates: float = 0.0
    reps: int = 0


def _gold(result: PricingResult) -> PriceTest:
    return next(
        t for t in result.tests
        if t.attribute == "loyalty_tier" and t.group == "gold" and t.category is None
    )


def power_cell(n: int, gap: float, reps: int, seed0: int) -> Cell:
    cell = Cell()
    for r in range(reps):
        results = run(n, seed0 + r, gap)
        result, gold = results["cv3"], _gold(results["cv3"])
        cell.reps += 1
        cell.flagged += gold.flagged
        cell.flagged_cr1 += _gold(results["cr1"]).flagged
        cell.significant += gold.p_adjusted < 0.05
        cell.covered += gold.ci[0] <= 100 * gap <= gold.ci[1]
        cell.estimates += gold.gap_pct
        cell.other_flags += any(t.flagged and t.attribute != "loyalty_tier" for t in result.tests)
    return cell


@dataclass
class Null:
    """Per variance estimator: markets with any flag, and single tests with small raw p."""

    markets: int = 0
    any_flag: dict[str, int] = field(default_factory=lambda: dict.fromkeys(VARIANCES, 0))
    below_05: dict[str, int] = field(default_factory=lambda: dict.fromkeys(VARIANCES, 0))
    below_01: dict[str, int] = field(default_factory=lambda: dict.fromkeys(VARIANCES, 0))
    tests: dict[str, int] = field(default_factory=lambda: dict.fromkeys(VARIANCES, 0))

    def fpr(self, variance: str) -> float:
        return self.any_flag[variance] / max(self.markets, 1)

    def share(self, variance: str, level: str) -> float:
        hits = self.below_05 if level == "05" else self.below_01
        return hits[variance] / max(self.tests[variance], 1)


def null_rate(n: int, reps: int, seed0: int, naive: bool) -> Null:
    out = Null()
    for r in range(reps):
        results = run(n, seed0 + r, 0.0, naive=naive)
        out.markets += 1
        for v, result in results.items():
            out.any_flag[v] += bool(result.flagged_attributes)
            out.below_05[v] += sum(t.p_value < 0.05 for t in result.tests)
            out.below_01[v] += sum(t.p_value < 0.01 for t in result.tests)
            out.tests[v] += len(result.tests)
    return out


def wilson(k: float, n: int) -> str:
    """95% Wilson interval for a proportion, as text."""
    if n == 0:
        return "n/a"
    p, z = k / n, 1.96
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * np.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return f"[{max(0.0, centre - half):.2f}, {min(1.0, centre + half):.2f}]"


def write_docs(markdown: str) -> None:
    text = DOCS.read_text(encoding="utf-8") if DOCS.exists() else ""
    block = f"{BEGIN}\n{markdown}\n{END}"
    if BEGIN in text and END in text:
        head, rest = text.split(BEGIN, 1)
        text = head + block + rest.split(END, 1)[1]
    else:
        text = text.rstrip() + "\n\n" + block + "\n"
    DOCS.write_text(text, encoding="utf-8")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, default=20, help="markets per size and gap")
    parser.add_argument(
        "--null-reps", default=None,
        help="markets per size under the null: one number, or one per size (default: 3 × reps)",
    )
    parser.add_argument("--sizes", default="10000,30000,100000")
    parser.add_argument("--gaps", default="0.01,0.02,0.05")
    parser.add_argument("--seed", type=int, default=1000)
    parser.add_argument("--no-append", action="store_true", help="print only; do not write RESULTS.md or docs")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    gaps = [float(g) for g in args.gaps.split(",")]
    null_reps = [int(r) for r in (args.null_reps or str(3 * args.reps)).split(",")]
    if len(null_reps) == 1:
        null_reps *= len(sizes)
    if len(null_reps) != len(sizes):
        parser.error(f"--null-reps: {len(null_reps)} values for {len(sizes)} sizes; give one or one per size")
    started = time.perf_counter()
    cpu_started = time.process_time()

    power = ResultTable(
        title="fairness_power (price audit power by simulation)",
        command=" ".join(["python benchmarks/fairness_power.py", *sys.argv[1:]]),
        headers=["quotes", "true gap", "reps", "power (flagged)", "95% CI", "power CR1 (flagged)",
                 "power (BH only)", "mean estimate", "CI coverage", "other attr. flagged"],
    )
    doc_rows = ["| quotes | true gap | markets | power (flagged, 1% threshold) | 95% CI | same markets with CR1 "
                "| power (BH-significant) | mean estimate | 95% CI coverage |",
                "|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for n in sizes:
        for gap in gaps:
            c = power_cell(n, gap, args.reps, args.seed + int(gap * 1e4) * 1000 + n)
            power.add(n, f"{100 * gap:g}%", c.reps, f"{c.flagged / c.reps:.2f}", wilson(c.flagged, c.reps),
                      f"{c.flagged_cr1 / c.reps:.2f}", f"{c.significant / c.reps:.2f}",
                      f"{c.estimates / c.reps:+.2f}%", f"{c.covered / c.reps:.2f}",
                      f"{c.other_flags / c.reps:.2f}")
            doc_rows.append(f"| {n:,} | {100 * gap:g}% | {c.reps} | {c.flagged / c.reps:.2f} | "
                            f"{wilson(c.flagged, c.reps)} | {c.flagged_cr1 / c.reps:.2f} | "
                            f"{c.significant / c.reps:.2f} | {c.estimates / c.reps:+.2f}% | "
                            f"{c.covered / c.reps:.2f} |")
    null_rows = ["| quotes | markets | FPR per run, CV3 (default) | 95% CI | FPR per run, CR1 | 95% CI "
                 "| single tests p < 0.05, CV3 / CR1 | p < 0.01, CV3 / CR1 | FPR, confounder columns dropped |",
                 "|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for n, reps in zip(sizes, null_reps, strict=True):
        null = null_rate(n, reps, args.seed + 7 * n, naive=False)
        naive_reps = max(5, reps // 12)
        naive = null_rate(n, naive_reps, args.seed + 9 * n, naive=True)
        k = {v: null.any_flag[v] for v in VARIANCES}
        power.add(n, "0 (null)", reps, f"FPR {null.fpr('cv3'):.3f}", wilson(k["cv3"], reps),
                  f"FPR {null.fpr('cr1'):.3f} {wilson(k['cr1'], reps)}",
                  f"raw p<0.05: {null.share('cv3', '05'):.3f} (CR1 {null.share('cr1', '05'):.3f})",
                  f"p<0.01: {null.share('cv3', '01'):.4f} (CR1 {null.share('cr1', '01'):.4f})", "",
                  f"naive FPR {naive.fpr('cv3'):.2f} ({naive_reps})")
        null_rows.append(
            f"| {n:,} | {reps} | {null.fpr('cv3'):.3f} ({k['cv3']}) | {wilson(k['cv3'], reps)} | "
            f"{null.fpr('cr1'):.3f} ({k['cr1']}) | {wilson(k['cr1'], reps)} | "
            f"{null.share('cv3', '05'):.3f} / {null.share('cr1', '05'):.3f} | "
            f"{null.share('cv3', '01'):.4f} / {null.share('cr1', '01'):.4f} | "
            f"{naive.fpr('cv3'):.2f} ({naive_reps} markets) |"
        )
    elapsed = time.perf_counter() - started
    cpu = time.process_time() - cpu_started
    power.notes.append(
        f"{elapsed:.0f} s wall, {cpu:.0f} s CPU in all (every market audited twice). Gap planted on "
        "loyalty_tier=gold (about 20% of users) in every category; 'flagged' = BH-adjusted p < 0.05 and "
        "|gap| > 1%; FPR = share of null markets with any flag (per run, family-wise); power columns and "
        "estimates use the default CV3 standard errors unless marked CR1."
    )
    if args.no_append:
        power.emit(results=None)
        return
    power.emit()
    write_docs(
        f"Simulation of {date.today().isoformat()} (`{power.command}`, {elapsed:.0f} s wall, {cpu:.0f} s CPU; "
        f"seeds from {args.seed}; {args.reps} markets per power cell, "
        f"{', '.join(f'{r} at {n:,}' for n, r in zip(sizes, null_reps, strict=True))} quotes under the null). "
        "Intervals are 95% Wilson intervals for the rates:\n\n"
        + "\n".join(doc_rows) + "\n\n" + "\n".join(null_rows)
    )


if __name__ == "__main__":
    main()
