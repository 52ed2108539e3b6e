"""The Markdown report: stages in order, one table per stage, fixes and penalties."""

from __future__ import annotations

from profileguard.audit.engine import AuditResult
from profileguard.audit.finding import STAGE_TITLES, STAGES, Finding


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _where(f: Finding) -> str:
    loc = f.location
    return f"{loc.path}:{loc.line}" if loc else ", ".join(
        e.path or e.detail for e in f.evidence[:1])


def to_markdown(result: AuditResult) -> str:
    c = result.counts()
    lines = [
        f"# Compliance audit — {result.organization}", "",
        f"Manifest `{result.manifest_path}` · jurisdictions {', '.join(result.jurisdictions)} · "
        f"as of {result.as_of} · {len(result.rules)} rules", "",
        f"**Overall score {result.score}/100** — {c['high']} high, {c['medium']} medium, "
        f"{c['low']} low, {c['review']} to review, {len(result.suppressed)} suppressed.", "",
        "| stage | score | findings |", "|---|---|---|",
    ]
    scores = result.stage_scores
    for stage in STAGES:
        zh, en = STAGE_TITLES[stage]
        n = sum(1 for f in result.findings if f.stage == stage)
        lines.append(f"| {en} {zh} | {scores[stage]} | {n} |")
    for stage in STAGES:
        found = [f for f in result.findings if f.stage == stage]
        if not found:
            continue
        zh, en = STAGE_TITLES[stage]
        lines += ["", f"## {en} {zh}", "", "| severity | rule | article | finding | where | fix |",
                  "|---|---|---|---|---|---|"]
        for f in found:
            lines.append(f"| {f.severity} | `{f.rule}` | {f.law} {f.article} | "
                         f"{_cell(f.message)} | {_cell(_where(f))} | {_cell(f.fix)} |")
    if result.suppressed:
        lines += ["", "## Suppressed", "", "| rule | finding | reason |", "|---|---|---|"]
        for f in result.suppressed:
            lines.append(f"| `{f.rule}` | {_cell(f.message)} | "
                         f"{_cell(f.suppression_reason or '')} |")
    laws = sorted({(f.law, f.penalty) for f in result.findings})
    if laws:
        lines += ["", "## Penalties", ""] + [f"- **{law}** — {p}" for law, p in laws]
    if result.coverage:
        lines += ["", "## Consent coverage", "", "| purpose | users whose consent counts |",
                  "|---|---|"]
        lines += [f"| {p} | {v:.1%} |" for p, v in sorted(result.coverage.items())]
    return "\n".join(lines) + "\n"
