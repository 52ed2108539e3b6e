"""Price-audit reports as JSON and Markdown (the HTML page lives in ``html.py``).

Every report opens with what was controlled for and what was not, before any number: a
gap is only as good as its comparison, and the Ctrip case turned on a supplier mark-up.
"""

from __future__ import annotations

import json
from typing import Any

from profileguard.audit.fairness.pricing import PriceTest, PricingResult


def to_json(result: PricingResult) -> str:
    """The CLI's JSON document (``PricingResult.to_dict``), pretty-printed."""
    return json.dumps(result.to_dict(), ensure_ascii=False, indent=2, default=_default)


def _default(value: Any) -> Any:
    if hasattr(value, "item"):
        return value.item()
    raise TypeError(f"not JSON serializable: {type(value).__name__}")


def fmt_p(p: float) -> str:
    return f"{p:.2g}" if p >= 1e-4 else f"{p:.1e}"


def test_row(t: PriceTest) -> list[str]:
    """One table row: attribute, group, reference, category, gap, CI, p, adjusted p, n, cells, flag."""
    return [
        t.attribute,
        t.group,
        t.reference,
        t.category if t.category is not None else "(all)",
        f"{t.gap_pct:+.2f}%",
        f"[{t.ci[0]:+.2f}, {t.ci[1]:+.2f}]",
        fmt_p(t.p_value),
        fmt_p(t.p_adjusted),
        str(t.n),
        str(t.cells),
        "FLAG" if t.flagged else "",
    ]


HEADERS = ["attribute", "group", "vs", "category", "gap", "95% CI", "p", "p (BH)", "n", "cells", ""]


def summary_line(result: PricingResult) -> str:
    flagged = ", ".join(result.flagged_attributes) or "none"
    return (
        f"{result.n_quotes} quotes in {result.n_cells} item × {result.time_bucket} cells; "
        f"{len(result.tests)} tests ({result.model} model, {result.method} inference); "
        f"flagged when BH-adjusted p < {result.alpha} and |gap| > {100 * result.threshold:g}%; "
        f"flagged attributes: {flagged}"
    )


def to_markdown(result: PricingResult) -> str:
    """A Markdown report: basis, tests, matched pairs, what could not be tested."""
    lines = ["# Price fairness audit (大数据杀熟)", "", summary_line(result), ""]
    lines += ["## Controlled for", ""] + [f"- {c}" for c in result.controlled_for] + [""]
    lines += ["## Not controlled for", ""] + [f"- {c}" for c in result.not_controlled_for] + [""]
    lines += ["## Tests", "", "| " + " | ".join(h or "flag" for h in HEADERS) + " |"]
    lines.append("|" + "---|" * len(HEADERS))
    for t in sorted(result.tests, key=lambda t: (not t.flagged, t.attribute, t.category or "")):
        lines.append("| " + " | ".join(test_row(t)) + " |")
    lines.append("")
    if result.pairs:
        lines += ["## Matched pairs (illustrations, not the estimate)", ""]
        lines.append("| attribute | item | time | user | price | reference user | price | diff |")
        lines.append("|---|---|---|---|---|---|---|---|")
        for p in result.pairs:
            lines.append(
                f"| {p['attribute']}={p['group']} vs {p['reference']} | {p['item_id']} | "
                f"{p['time_bucket']} | {p['user_id']} | {p['price']} | {p['reference_user_id']} | "
                f"{p['reference_price']} | {p['diff_pct']:+.2f}% |"
            )
        lines.append("")
    if result.untested:
        lines += ["## Not tested", ""] + [f"- {u}" for u in result.untested] + [""]
    return "\n".join(lines)
