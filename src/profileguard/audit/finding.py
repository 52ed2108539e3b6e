"""Findings: what an audit rule reports, in the shape every report format shares.

A finding names the rule, the law and article exactly as in the rulebook (LAW.md's first
two columns), its stage of the profile life cycle, a severity, a message, the evidence
(manifest lines, tables and columns, counts), the fix and the fine range of the article.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Literal

Severity = Literal["high", "medium", "low", "review"]
Stage = Literal["collect", "process", "model", "apply", "govern"]

#: the paper's order: collection → processing → (modelling) → application, then governance
STAGES: tuple[Stage, ...] = ("collect", "process", "model", "apply", "govern")
STAGE_TITLES: dict[str, tuple[str, str]] = {
    "collect": ("收集", "Collection"),
    "process": ("加工", "Processing"),
    "model": ("建模", "Modelling (tags)"),
    "apply": ("应用", "Application"),
    "govern": ("治理", "Governance"),
}
SEVERITIES: tuple[Severity, ...] = ("high", "medium", "low", "review")
#: how bad, for sorting and --fail-on (review is a question, never a failure)
SEVERITY_RANK: dict[str, int] = {"high": 3, "medium": 2, "low": 1, "review": 0}

PIPL_FINE = ("PIPL 66: up to ¥1M; serious cases up to ¥50M or 5% of last year's turnover "
             "(responsible persons ¥10k–1M)")
GDPR_FINE = "GDPR 83(5): up to €20M or 4% of worldwide annual turnover, whichever is higher"
#: the fine range of each law's penalty article. PIPL and GDPR are LAW.md's; the ECL, ALG
#: and ADV ranges come from those texts' own penalty articles. NPI, CHILD and MINOR
#: implement the PI rules, so unlawful processing under them is fined under PIPL 66.
PENALTIES: dict[str, str] = {
    "PIPL": PIPL_FINE,
    "NPI": PIPL_FINE,
    "CHILD": PIPL_FINE,
    "MINOR": PIPL_FINE,
    "ECL": "ECL 77: ¥50k–200k; serious cases ¥200k–500k (ECL 18 personalized search)",
    "ALG": "ALG 31: warning or notice of criticism, then ¥10k–100k",
    "ADV": "ADV 62: ¥5k–30k for electronic ads sent without consent or without opt-out",
    "GDPR": GDPR_FINE,
    "PROFILEGUARD": "none (an audit-configuration problem, not a legal finding)",
}


@dataclass(frozen=True)
class Evidence:
    """One piece of evidence: a manifest line, a table column, or a count."""

    kind: Literal["manifest", "table", "count", "store", "ledger"]
    detail: str
    path: str | None = None  # manifest file, or table / table.column
    line: int | None = None  # 1-based manifest line

    def as_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "path": self.path, "line": self.line, "detail": self.detail}


@dataclass
class Finding:
    rule: str
    law: str
    article: str
    severity: Severity
    stage: Stage
    title: str
    title_zh: str
    message: str
    evidence: list[Evidence] = field(default_factory=list)
    fix: str = ""
    penalty: str = ""
    suppressed: bool = False
    suppression_reason: str | None = None

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "rule": self.rule, "law": self.law, "article": self.article,
            "severity": self.severity, "stage": self.stage, "title": self.title,
            "title_zh": self.title_zh, "message": self.message,
            "evidence": [e.as_dict() for e in self.evidence], "fix": self.fix,
            "penalty": self.penalty,
        }
        if self.suppressed:
            out["suppressed"] = True
            out["suppression_reason"] = self.suppression_reason
        return out

    @property
    def location(self) -> Evidence | None:
        """The first manifest line of the evidence (SARIF region, editor jump)."""
        return next((e for e in self.evidence if e.kind == "manifest" and e.line), None)


def evidence_dict(e: Evidence) -> dict[str, Any]:
    return asdict(e)
