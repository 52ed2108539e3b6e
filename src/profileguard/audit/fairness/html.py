"""A self-contained HTML price-audit report with one inline SVG gap chart per attribute.

No scripts, no CDN: the page works offline and in the compliance dashboard. Each chart
shows, per group and category, the gap as a dot with its 95% interval, the zero line and
the materiality band; flagged gaps are red.
"""

from __future__ import annotations

from html import escape

from profileguard.audit.fairness.pricing import PriceTest, PricingResult
from profileguard.audit.fairness.report import HEADERS, summary_line, test_row

_ROW = 22
_LABEL = 230
_PLOT = 420


def gap_chart(attribute: str, tests: list[PriceTest], threshold_pct: float) -> str:
    """An SVG chart of the gaps (percent) with their confidence intervals."""
    lo = min([-threshold_pct * 2, *(t.ci[0] for t in tests)])
    hi = max([threshold_pct * 2, *(t.ci[1] for t in tests)])
    span = (hi - lo) or 1.0
    lo, hi = lo - 0.05 * span, hi + 0.05 * span

    def x(v: float) -> float:
        return _LABEL + (v - lo) / (hi - lo) * _PLOT

    height = _ROW * (len(tests) + 2)
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" role="img" width="{_LABEL + _PLOT + 20}" '
        f'height="{height}" aria-label="{escape(attribute)} price gaps">',
        f'<rect x="{x(-threshold_pct):.1f}" y="0" width="{x(threshold_pct) - x(-threshold_pct):.1f}" '
        f'height="{height - _ROW:.0f}" fill="#eef3f8"><title>materiality band ±{threshold_pct:g}%</title></rect>',
        f'<line x1="{x(0):.1f}" x2="{x(0):.1f}" y1="0" y2="{height - _ROW}" stroke="#888"/>',
    ]
    for i, t in enumerate(tests):
        y = _ROW * (i + 1)
        colour = "#c0392b" if t.flagged else "#34495e"
        label = f"{t.group} vs {t.reference} · {t.category or 'all'}"
        tip = f"{label}: {t.gap_pct:+.2f}% [{t.ci[0]:+.2f}, {t.ci[1]:+.2f}], p(BH)={t.p_adjusted:.2g}"
        parts += [
            f'<text x="{_LABEL - 8}" y="{y + 4}" text-anchor="end" font-size="12">{escape(label)}</text>',
            f'<line x1="{x(t.ci[0]):.1f}" x2="{x(t.ci[1]):.1f}" y1="{y}" y2="{y}" stroke="{colour}" stroke-width="2"/>',
            f'<circle cx="{x(t.gap_pct):.1f}" cy="{y}" r="4" fill="{colour}"><title>{escape(tip)}</title></circle>',
        ]
    axis_y = height - _ROW + 14
    for v in (lo, 0.0, hi):
        parts.append(
            f'<text x="{x(v):.1f}" y="{axis_y}" text-anchor="middle" font-size="11">{v:+.1f}%</text>'
        )
    parts.append("</svg>")
    return "".join(parts)


def to_html(result: PricingResult) -> str:
    """The whole report as one HTML document."""
    body = [
        "<h1>Price fairness audit <small>大数据杀熟</small></h1>",
        f"<p>{escape(summary_line(result))}</p>",
        "<h2>Controlled for</h2><ul>" + "".join(f"<li>{escape(c)}</li>" for c in result.controlled_for) + "</ul>",
        "<h2>Not controlled for</h2><ul>"
        + "".join(f"<li>{escape(c)}</li>" for c in result.not_controlled_for) + "</ul>",
        "<h2>Gaps by attribute</h2>",
    ]
    for attribute in dict.fromkeys(t.attribute for t in result.tests):
        tests = [t for t in result.tests if t.attribute == attribute]
        flag = " (flagged)" if attribute in result.flagged_attributes else ""
        body.append(f"<h3>{escape(attribute)}{flag}</h3>")
        body.append(gap_chart(attribute, tests, 100 * result.threshold))
    head = "".join(f"<th>{escape(h or 'flag')}</th>" for h in HEADERS)
    rows = "".join(
        f'<tr class="{"flagged" if t.flagged else ""}">'
        + "".join(f"<td>{escape(c)}</td>" for c in test_row(t)) + "</tr>"
        for t in result.tests
    )
    body.append(f"<h2>Tests</h2><table><thead><tr>{head}</tr></thead><tbody>{rows}</tbody></table>")
    if result.pairs:
        items = "".join(
            f"<tr><td>{escape(p['attribute'])}={escape(p['group'])} vs {escape(p['reference'])}</td>"
            f"<td>{escape(p['item_id'])}</td><td>{escape(p['time_bucket'])}</td>"
            f"<td>{escape(p['user_id'])}</td><td>{p['price']}</td>"
            f"<td>{escape(p['reference_user_id'])}</td><td>{p['reference_price']}</td>"
            f"<td>{p['diff_pct']:+.2f}%</td></tr>"
            for p in result.pairs
        )
        body.append(
            "<h2>Matched pairs <small>(illustrations, not the estimate)</small></h2><table>"
            "<thead><tr><th>comparison</th><th>item</th><th>time</th><th>user</th><th>price</th>"
            f"<th>reference user</th><th>price</th><th>diff</th></tr></thead><tbody>{items}</tbody></table>"
        )
    if result.untested:
        body.append("<h2>Not tested</h2><ul>" + "".join(f"<li>{escape(u)}</li>" for u in result.untested) + "</ul>")
    style = (
        "body{font-family:system-ui,sans-serif;margin:2em;max-width:1100px}"
        "table{border-collapse:collapse;font-size:13px}td,th{border:1px solid #ccc;padding:3px 6px}"
        "tr.flagged td{background:#fdecea}small{color:#666;font-weight:normal}"
    )
    return (
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
        f"<title>Price fairness audit</title><style>{style}</style></head><body>"
        + "".join(body) + "</body></html>"
    )
