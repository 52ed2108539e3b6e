"""Run the rule packs of the manifest's jurisdictions over a context; apply suppressions.

A suppression (``audit.ignore: [{rule, reason, until}]``) moves the rule's findings to the
suppressed list, with its reason, while it has a reason and has not expired. The scoring
(documented in docs/audit.md): each stage starts at 100 and loses 20 per high, 8 per
medium and 2 per low finding (review findings are questions and cost nothing), floored at
0; the overall score is the mean of the five stages.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

import profileguard.audit.rules  # noqa: F401  (registers the rules)
from profileguard.audit.context import AuditContext
from profileguard.audit.finding import (
    PENALTIES,
    SEVERITY_RANK,
    STAGES,
    Finding,
)
from profileguard.audit.rule import Rule, rules_for

DEDUCTION = {"high": 20, "medium": 8, "low": 2, "review": 0}


@dataclass
class AuditResult:
    findings: list[Finding]
    suppressed: list[Finding]
    rules: list[Rule]
    as_of: dt.date
    manifest_path: str
    organization: str
    jurisdictions: list[str]
    coverage: dict[str, float] = field(default_factory=dict)
    manifest_sha256: str | None = None

    @property
    def stage_scores(self) -> dict[str, int]:
        scores: dict[str, int] = {}
        for stage in STAGES:
            lost = sum(DEDUCTION[f.severity] for f in self.findings if f.stage == stage)
            scores[stage] = max(0, 100 - lost)
        return scores

    @property
    def score(self) -> int:
        s = self.stage_scores
        return round(sum(s.values()) / len(s))

    def counts(self) -> dict[str, int]:
        out = {k: 0 for k in DEDUCTION}
        for f in self.findings:
            out[f.severity] += 1
        return out

    def fails(self, threshold: str | None) -> bool:
        """Whether any active finding is at or above ``threshold`` (review never fails)."""
        if threshold is None:
            return False
        limit = SEVERITY_RANK[threshold]
        return any(SEVERITY_RANK[f.severity] >= limit and f.severity != "review"
                   for f in self.findings)

    def as_dict(self) -> dict[str, Any]:
        return {
            "manifest": self.manifest_path, "manifest_sha256": self.manifest_sha256,
            "organization": self.organization, "jurisdictions": self.jurisdictions,
            "as_of": self.as_of.isoformat(), "rules_run": len(self.rules),
            "score": self.score, "stage_scores": self.stage_scores, "counts": self.counts(),
            "consent_coverage": self.coverage,
            "findings": [f.as_dict() for f in self.findings],
            "suppressed": [f.as_dict() for f in self.suppressed],
        }


def _findings(rule: Rule, ctx: AuditContext) -> list[Finding]:
    out = []
    for hit in rule.check(ctx):
        out.append(Finding(
            rule=rule.id, law=rule.law, article=rule.article,
            severity=hit.severity or rule.severity, stage=rule.stage, title=rule.title_en,
            title_zh=rule.title_zh, message=hit.message, evidence=list(hit.evidence),
            fix=rule.fix, penalty=PENALTIES.get(rule.law, ""),
        ))
    return out


def coverage(ctx: AuditContext) -> dict[str, float]:
    """Share of known users whose consent in force for each consent-based purpose counts
    (granted, not pre-ticked, not bundled) — the chart of the HTML report."""
    facts = ctx.consent
    if facts is None or facts.users_known == 0:
        return {}
    out = {}
    for name, p in ctx.manifest.purposes.items():
        if p.basis != "consent":
            continue
        recipients = {c.recipient for c in facts.in_force if c.purpose == name} or {""}
        ok = max(sum(c.users for c in facts.granted(name, r) if not (c.pre_ticked or c.bundled))
                 for r in recipients)
        out[name] = round(ok / facts.users_known, 4)
    return out


def run_audit(ctx: AuditContext, *, sha256: str | None = None,
              extra: list[Finding] | None = None) -> AuditResult:
    """Run the packs of the manifest's jurisdictions; ``extra`` adds findings computed
    outside the rule functions (the pricing audit's ``review`` findings)."""
    rules = rules_for(ctx.manifest.jurisdictions)
    found: list[Finding] = list(extra or [])
    for r in rules:
        found.extend(_findings(r, ctx))
    active_ignores = {s.rule: s.reason for s in ctx.manifest.audit.ignore
                      if s.reason.strip() and (s.until is None or s.until >= ctx.as_of)}
    findings, suppressed = [], []
    for f in found:
        reason = active_ignores.get(f.rule)
        if reason is not None and f.rule != "PG-ignore-without-reason":
            f.suppressed, f.suppression_reason = True, reason
            suppressed.append(f)
        else:
            findings.append(f)
    order = {s: i for i, s in enumerate(STAGES)}
    findings.sort(key=lambda f: (order[f.stage], -SEVERITY_RANK[f.severity], f.rule))
    return AuditResult(findings, suppressed, rules, ctx.as_of, ctx.manifest_path,
                       ctx.manifest.organization.name, ctx.manifest.jurisdictions,
                       coverage(ctx), sha256)
