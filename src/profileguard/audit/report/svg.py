"""Inline SVG bar charts for the HTML report (no JavaScript, no external resources).

Hand-written because the charts are three bar charts; a plotting library would add a
dependency and inline kilobytes of script for no gain.
"""

from __future__ import annotations

from html import escape

COLORS = {"high": "#c62828", "medium": "#ef8f00", "low": "#1e88e5", "review": "#8e24aa"}


def stacked_bars(title: str, rows: list[tuple[str, dict[str, int]]],
                 order: tuple[str, ...] = ("high", "medium", "low", "review")) -> str:
    """Horizontal stacked bars: one row per label, one segment per severity."""
    width, label_w, row_h = 560, 150, 26
    biggest = max((sum(v.values()) for _, v in rows), default=0) or 1
    scale = (width - label_w - 50) / biggest
    height = row_h * len(rows) + 50
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" role="img" width="{width}" '
             f'height="{height}" viewBox="0 0 {width} {height}"><title>{escape(title)}</title>',
             f'<text x="0" y="16" font-size="14" font-weight="bold">{escape(title)}</text>']
    for i, (label, counts) in enumerate(rows):
        y = 30 + i * row_h
        parts.append(f'<text x="0" y="{y + 15}" font-size="12">{escape(label)}</text>')
        x = float(label_w)
        for sev in order:
            n = counts.get(sev, 0)
            if not n:
                continue
            w = n * scale
            parts.append(f'<rect x="{x:.1f}" y="{y}" width="{w:.1f}" height="18" '
                         f'fill="{COLORS[sev]}"><title>{escape(label)}: {n} {sev}</title></rect>')
            x += w
        total = sum(counts.values())
        parts.append(f'<text x="{x + 4:.1f}" y="{y + 14}" font-size="12">{total}</text>')
    lx = label_w
    for sev in order:
        parts.append(f'<rect x="{lx}" y="{height - 14}" width="10" height="10" '
                     f'fill="{COLORS[sev]}"/><text x="{lx + 14}" y="{height - 5}" '
                     f'font-size="11">{sev}</text>')
        lx += 80
    parts.append("</svg>")
    return "".join(parts)


def share_bars(title: str, rows: list[tuple[str, float]]) -> str:
    """Horizontal bars of shares in [0, 1], labelled in percent."""
    width, label_w, row_h = 560, 190, 24
    span = width - label_w - 60
    height = row_h * len(rows) + 34
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" role="img" width="{width}" '
             f'height="{height}" viewBox="0 0 {width} {height}"><title>{escape(title)}</title>',
             f'<text x="0" y="16" font-size="14" font-weight="bold">{escape(title)}</text>']
    for i, (label, share) in enumerate(rows):
        y = 28 + i * row_h
        w = max(0.0, min(1.0, share)) * span
        parts.append(f'<text x="0" y="{y + 13}" font-size="12">{escape(label)}</text>'
                     f'<rect x="{label_w}" y="{y}" width="{span}" height="16" fill="#eeeeee"/>'
                     f'<rect x="{label_w}" y="{y}" width="{w:.1f}" height="16" fill="#2e7d32">'
                     f'<title>{escape(label)}: {share:.1%}</title></rect>'
                     f'<text x="{label_w + span + 6}" y="{y + 13}" font-size="12">'
                     f'{share:.0%}</text>')
    parts.append("</svg>")
    return "".join(parts)
