"""Power and false-positive rate of the price audit, by simulation.

For each market size and planted gap (a surcharge on gold-tier users in every category),
``--reps`` markets are drawn from ``profileguard.audit.fairness.simulate`` (the confounders
are always there: an A/B bucket tied to iOS, coupons for new users, prices rising while new
users arrive, member prices, a cheaper app) and audited with the default configuration
(joint model, item × hour cells, cluster-robust p-values, per-category tests,
Benjamini–Hochberg, 1% materiality). Reported:

* power — share of markets where the gold-tier gap (all categories) is flagged, and where it
  is merely significant after BH (no materiality threshold);
* 95% CI coverage of the true gap, mean estimate;
* false-positive rate under the confounded null — share of markets with *any* flag — with
  the confounder columns present (the audit's claim, target ≤ 5%), and with them dropped
  (what a naive comparison would report).

Results are printed, appended to benchmarks/RESULTS.md and written into docs/fairness.md
between the ``power-table`` markers.

    python benchmarks/fairness_power.py --reps 20
"""

from __future__ import annotations

import argparse
import sys
import time
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import ResultTable
from profileguard.audit.fairness.pricing import PricingConfig, PricingResult, audit_pricing
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


def run(n: int, seed: int, gap: float, naive: bool = False) -> PricingResult:
    market = simulate_market(spec_for(n, seed, gap))
    quotes = market.quotes.drop(columns=CONFOUNDERS) if naive else market.quotes
    return audit_pricing(assemble(quotes, market.users, market.items), PricingConfig())


@dataclass
class Cell:
    flagged: int = 0
    significant: int = 0
    covered: int = 0
    other_flags: int = 0
    estimates: float = 0.0
    reps: int = 0


def power_cell(n: int, gap: float, reps: int, seed0: int) -> Cell:
    cell = Cell()
    for r in range(reps):
        result = run(n, seed0 + r, gap)
        gold = next(
            t for t in result.tests
            if t.attribute == "loyalty_tier" and t.group == "gold" and t.category is None
        )
        cell.reps += 1
        cell.flagged += gold.flagged
        cell.significant += gold.p_adjusted < 0.05
        cell.covered += gold.ci[0] <= 100 * gap <= gold.ci[1]
        cell.estimates += gold.gap_pct
        cell.other_flags += any(t.flagged and t.attribute != "loyalty_tier" for t in result.tests)
    return cell


def null_rate(n: int, reps: int, seed0: int, naive: bool) -> tuple[float, float]:
    """Share of markets with any flag, and share of all tests with raw p < 0.05 (calibration)."""
    any_flag, small_p, tests = 0, 0, 0
    for r in range(reps):
        result = run(n, seed0 + r, 0.0, naive=naive)
        any_flag += bool(result.flagged_attributes)
        small_p += sum(t.p_value < 0.05 for t in result.tests)
        tests += len(result.tests)
    return any_flag / reps, small_p / max(tests, 1)


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
    parser.add_argument("--null-reps", type=int, default=None, help="markets per size under the null (default: 3 × reps)")
    parser.add_argument("--sizes", default="10000,30000,100000")
    parser.add_argument("--gaps", default="0.01,0.02,0.05")
    parser.add_argument("--seed", type=int, default=1000)
    parser.add_argument("--no-append", action="store_true", help="print only; do not write RESULTS.md or docs")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    gaps = [float(g) for g in args.gaps.split(",")]
    null_reps = args.null_reps or 3 * args.reps
    started = time.perf_counter()

    power = ResultTable(
        title="fairness_power (price audit power by simulation)",
        command=" ".join(["python benchmarks/fairness_power.py", *sys.argv[1:]]),
        headers=["quotes", "true gap", "reps", "power (flagged)", "95% CI", "power (BH only)",
                 "mean estimate", "CI coverage", "other attr. flagged"],
    )
    doc_rows = ["| quotes | true gap | power (flagged, 1% threshold) | power (BH-significant) | mean estimate | 95% CI coverage |",
                "|---:|---:|---:|---:|---:|---:|"]
    for n in sizes:
        for gap in gaps:
            c = power_cell(n, gap, args.reps, args.seed + int(gap * 1e4) * 1000 + n)
            power.add(n, f"{100 * gap:g}%", c.reps, f"{c.flagged / c.reps:.2f}", wilson(c.flagged, c.reps),
                      f"{c.significant / c.reps:.2f}", f"{c.estimates / c.reps:+.2f}%",
                      f"{c.covered / c.reps:.2f}", f"{c.other_flags / c.reps:.2f}")
            doc_rows.append(f"| {n:,} | {100 * gap:g}% | {c.flagged / c.reps:.2f} | {c.significant / c.reps:.2f} | "
                            f"{c.estimates / c.reps:+.2f}% | {c.covered / c.reps:.2f} |")
    null_rows = ["| quotes | markets | FPR, confounders as columns | 95% CI | tests with raw p < 0.05 | FPR, confounder columns dropped |",
                 "|---:|---:|---:|---:|---:|---:|"]
    for n in sizes:
        fpr, share = null_rate(n, null_reps, args.seed + 7 * n, naive=False)
        naive_reps = max(5, null_reps // 4)
        naive, _ = null_rate(n, naive_reps, args.seed + 9 * n, naive=True)
        power.add(n, "0 (null)", null_reps, f"FPR {fpr:.3f}", wilson(fpr * null_reps, null_reps),
                  f"raw p<0.05: {share:.3f}", "", "", f"naive FPR {naive:.2f} ({naive_reps})")
        null_rows.append(f"| {n:,} | {null_reps} | {fpr:.3f} | {wilson(fpr * null_reps, null_reps)} | "
                         f"{share:.3f} | {naive:.2f} ({naive_reps} markets) |")
    elapsed = time.perf_counter() - started
    power.notes.append(
        f"{elapsed:.0f} s in all. Gap planted on loyalty_tier=gold (about 20% of users) in every "
        "category; 'flagged' = BH-adjusted p < 0.05 and |gap| > 1%; FPR = share of null markets with any flag."
    )
    if args.no_append:
        power.emit(results=None)
        return
    power.emit()
    write_docs(
        f"Simulation of {date.today().isoformat()} (`{power.command}`, {elapsed:.0f} s; "
        f"{args.reps} markets per cell, {null_reps} per null row):\n\n"
        + "\n".join(doc_rows) + "\n\n" + "\n".join(null_rows)
    )


if __name__ == "__main__":
    main()
