"""Rules about the audit configuration itself."""

from __future__ import annotations

from collections.abc import Iterator

from profileguard.audit.context import AuditContext
from profileguard.audit.rule import Hit, rule


@rule("PG-ignore-without-reason", law="PROFILEGUARD", article="audit.ignore", stage="govern",
      severity="medium", en="Suppression without a reason", zh="忽略规则未说明理由")
def ignore_without_reason(ctx: AuditContext) -> Iterator[Hit]:
    """*What it checks*: every ``audit.ignore`` entry gives a ``reason``; entries naming a
    rule that does not exist; expired entries (``until`` in the past) are ``low``.

    *Why it matters*: a silenced finding is still a risk; the reason is what a certifier
    reads instead of the finding.

    *Example*: ``audit: {ignore: [{rule: PIPL-23-separate-consent}]}``.

    *Fix*: ``reason: <why this is acceptable>`` and ``until: <date to look again>``.
    """
    from profileguard.audit.rule import RULES

    for i, s in enumerate(ctx.manifest.audit.ignore):
        if not s.reason.strip():
            yield Hit(f"suppression of {s.rule} gives no reason, so it does not apply",
                      [ctx.at("audit", "ignore", i)])
        if s.rule not in RULES:
            yield Hit(f"suppression names unknown rule {s.rule}", [ctx.at("audit", "ignore", i,
                                                                          "rule")])
        if s.until is not None and s.until < ctx.as_of:
            yield Hit(f"suppression of {s.rule} expired on {s.until}",
                      [ctx.at("audit", "ignore", i, "until")], severity="low")
