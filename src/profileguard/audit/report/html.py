"""The self-contained HTML report: inline CSS and SVG, no scripts, no external resources."""

from __future__ import annotations

from html import escape
from pathlib import Path

from profileguard.audit.engine import AuditResult
from profileguard.audit.finding import STAGE_TITLES, STAGES, Finding
from profileguard.audit.report.svg import share_bars, stacked_bars

CSS = """
body{font-family:system-ui,-apple-system,"Noto Sans CJK SC","Microsoft YaHei",sans-serif;
margin:2rem;color:#212121;max-width:1200px}
h1{font-size:1.6rem}h2{margin-top:2rem;border-bottom:1px solid #ddd}
table{border-collapse:collapse;width:100%;font-size:.9rem}
td,th{border:1px solid #ddd;padding:.35rem .5rem;vertical-align:top;text-align:left}
th{background:#f5f5f5}.sev{font-weight:bold;text-transform:uppercase;font-size:.75rem}
.high{color:#c62828}.medium{color:#ef8f00}.low{color:#1e88e5}.review{color:#8e24aa}
.score{font-size:2rem;font-weight:bold}.charts{display:flex;flex-wrap:wrap;gap:2rem}
.muted{color:#757575;font-size:.85rem}code{background:#f5f5f5;padding:0 .2rem}
"""


def _row(f: Finding) -> str:
    loc = f.location
    where = escape(f"{Path(loc.path or '').name}:{loc.line}") if loc else escape(
        "; ".join(f"{e.path or ''} {e.detail}".strip() for e in f.evidence[:2]))
    cls = "finding suppressed" if f.suppressed else "finding"
    extra = (f'<div class="muted">suppressed: {escape(f.suppression_reason or "")}</div>'
             if f.suppressed else "")
    return (f'<tr class="{cls}" data-rule="{escape(f.rule)}" data-severity="{f.severity}">'
            f'<td class="sev {f.severity}">{f.severity}</td><td><code>{escape(f.rule)}</code>'
            f'<div class="muted">{escape(f.title_zh)}</div></td>'
            f'<td title="{escape(f.penalty)}">{escape(f.law)} {escape(f.article)}</td>'
            f"<td>{escape(f.message)}{extra}</td><td>{where}</td><td>{escape(f.fix)}</td></tr>")


HEAD = ("<tr><th>severity</th><th>rule</th><th>article</th><th>finding</th><th>where</th>"
        "<th>fix</th></tr>")


def to_html(result: AuditResult) -> str:
    scores = result.stage_scores
    by_stage = [(f"{STAGE_TITLES[s][1]} {STAGE_TITLES[s][0]}", _counts(result, stage=s))
                for s in STAGES]
    laws = sorted({f.law for f in result.findings})
    by_law = [(law, _counts(result, law=law)) for law in laws]
    charts = [stacked_bars("Findings by stage", by_stage)]
    if by_law:
        charts.append(stacked_bars("Findings by law", by_law))
    if result.coverage:
        charts.append(share_bars("Consent coverage per purpose",
                                 sorted(result.coverage.items())))
    c = result.counts()
    body = [
        f"<h1>Compliance audit 合规审计 — {escape(result.organization)}</h1>",
        f'<p class="muted">{escape(Path(result.manifest_path).name)} · '
        f'{", ".join(result.jurisdictions)} · '
        f"as of {result.as_of} · {len(result.rules)} rules</p>",
        f'<p><span class="score" id="score">{result.score}/100</span> — '
        f'<span class="high">{c["high"]} high</span>, <span class="medium">{c["medium"]} '
        f'medium</span>, <span class="low">{c["low"]} low</span>, <span class="review">'
        f'{c["review"]} to review</span>, {len(result.suppressed)} suppressed</p>',
        "<table><tr><th>stage</th><th>score</th><th>findings</th></tr>",
        *[f"<tr><td>{escape(label)}</td><td>{scores[s]}</td><td>{sum(counts.values())}</td></tr>"
          for s, (label, counts) in zip(STAGES, by_stage, strict=True)],
        "</table>", '<div class="charts">', *charts, "</div>",
    ]
    for stage in STAGES:
        found = [f for f in result.findings if f.stage == stage]
        zh, en = STAGE_TITLES[stage]
        body.append(f'<h2 id="stage-{stage}">{en} {zh} — {scores[stage]}/100</h2>')
        if found:
            body += ["<table>", HEAD, *[_row(f) for f in found], "</table>"]
        else:
            body.append('<p class="muted">No findings.</p>')
    penalties = sorted({(f.law, f.penalty) for f in result.findings})
    if penalties:
        body += ["<h2>Penalties 罚则</h2><ul>",
                 *[f"<li><b>{escape(law)}</b> — {escape(text)}</li>" for law, text in penalties],
                 "</ul>"]
    if result.suppressed:
        body += ["<h2>Suppressed 已忽略</h2>", "<table>", HEAD,
                 *[_row(f) for f in result.suppressed], "</table>"]
    return ("<!DOCTYPE html><html lang=\"zh-CN\"><head><meta charset=\"utf-8\">"
            f"<title>profileguard audit — {escape(result.organization)}</title>"
            f"<style>{CSS}</style></head><body>{''.join(body)}</body></html>\n")


def _counts(result: AuditResult, *, stage: str | None = None, law: str | None = None
            ) -> dict[str, int]:
    out: dict[str, int] = {}
    for f in result.findings:
        if (stage is None or f.stage == stage) and (law is None or f.law == law):
            out[f.severity] = out.get(f.severity, 0) + 1
    return out
