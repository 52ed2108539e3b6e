"""Turn fairness results into auditor findings (pure functions: data in, findings out).

Findings follow the auditor's shape: ``rule``, ``law``, ``article``, ``severity``, ``stage``,
``title`` ({zh, en}), ``message``, ``evidence`` ([{kind, path, line, detail}]), ``fix`` and
``penalty``. A price gap is a ``review`` finding: PIPL 24 and ALG 21 forbid *unreasonable*
differential treatment and set no threshold, so a person weighs the gap against what the
audit could not control for. GDPR 22 is added when the EU is among the jurisdictions
(individualized pricing is an automated decision that may need safeguards).
"""

from __future__ import annotations

from typing import Any

from profileguard.audit.fairness.pricing import PriceTest, PricingResult
from profileguard.audit.fairness.targeting import TargetingResult

PIPL_PENALTY = "PIPL 66: up to ¥1M; serious cases up to ¥50M or 5% of last year's turnover"
ALG_PENALTY = "ALG 31: warning, order to correct; refusal or serious cases ¥10,000–100,000"
GDPR_PENALTY = "GDPR 83(5): up to €20M or 4% of worldwide annual turnover"

_PRICE_RULES: tuple[tuple[str, str, str, str, str, str], ...] = (
    ("PIPL-24-price-differential", "PIPL", "24",
     "自动化决策导致不合理的价格差别待遇（大数据杀熟）",
     "Automated decision gives unreasonable price differences", PIPL_PENALTY),
    ("ALG-21-price-differential", "ALG", "21",
     "基于用户偏好或交易习惯的不合理价格差别",
     "Unreasonable price differences based on preferences or trading habits", ALG_PENALTY),
    ("GDPR-22-individualized-pricing", "GDPR", "22",
     "个性化定价属于具有重大影响的自动化决策",
     "Individualized pricing is a significant automated decision", GDPR_PENALTY),
)

_PRICE_FIX = (
    "Find which pricing rule, model feature or supplier term produces the gap. If it is a "
    "legitimate factor (a supplier mark-up, stock, an A/B test, a coupon), record it as a "
    "column and re-run with --controls; otherwise remove the profile attribute from pricing "
    "and document the decision."
)


def _gap_text(t: PriceTest) -> str:
    where = f"category {t.category}" if t.category is not None else "all categories"
    return (
        f"{t.attribute}={t.group} vs {t.reference} ({where}): {t.gap_pct:+.2f}% "
        f"[95% CI {t.ci[0]:+.2f}, {t.ci[1]:+.2f}], p={t.p_value:.2g}, BH-adjusted "
        f"{t.p_adjusted:.2g}, n={t.n} quotes in {t.cells} cells"
    )


def _pair_text(pair: dict[str, Any]) -> str:
    return (
        f"item {pair['item_id']} at {pair['time_bucket']}: {pair['user_id']} "
        f"({pair['attribute']}={pair['group']}) {pair['price']} vs {pair['reference_user_id']} "
        f"({pair['reference']}) {pair['reference_price']} ({pair['diff_pct']:+.2f}%, {pair['basis']})"
    )


def pricing_findings(
    result: PricingResult,
    jurisdictions: tuple[str, ...] = ("CN",),
    source: str | None = None,
) -> list[dict[str, Any]]:
    """One ``review`` finding per flagged attribute and law."""
    eu = any(j.upper() in {"EU", "EEA", "GDPR"} for j in jurisdictions)
    rules = [r for r in _PRICE_RULES if r[1] != "GDPR" or eu]
    findings: list[dict[str, Any]] = []
    for attribute in result.flagged_attributes:
        tests = [t for t in result.flagged if t.attribute == attribute]
        evidence: list[dict[str, Any]] = [
            {"kind": "price_gap", "path": source, "line": None, "detail": _gap_text(t)} for t in tests
        ]
        evidence += [
            {"kind": "matched_pair", "path": source, "line": None, "detail": _pair_text(p)}
            for p in result.pairs
            if p["attribute"] == attribute
        ]
        evidence.append(
            {"kind": "not_controlled_for", "path": source, "line": None,
             "detail": "; ".join(result.not_controlled_for)}
        )
        largest = max(tests, key=lambda t: abs(t.gap_pct))
        message = (
            f"Users with {attribute}={largest.group} pay {largest.gap_pct:+.2f}% relative to "
            f"{largest.reference} for the same item in the same {result.time_bucket}, after "
            f"controlling for {', '.join(result.controlled_for[1:]) or 'nothing else'}. "
            f"Significant after Benjamini–Hochberg (alpha {result.alpha}) and above the "
            f"{100 * result.threshold:g}% materiality threshold. The law sets no threshold: "
            "decide whether the difference is reasonable."
        )
        for rule, law, article, zh, en, penalty in rules:
            findings.append(
                {
                    "rule": rule,
                    "law": law,
                    "article": article,
                    "severity": "review",
                    "stage": "apply",
                    "title": {"zh": zh, "en": en},
                    "message": message,
                    "evidence": evidence,
                    "fix": _PRICE_FIX,
                    "penalty": penalty,
                }
            )
    return findings


def targeting_findings(
    result: TargetingResult, source: str | None = None
) -> list[dict[str, Any]]:
    """Minors in a marketing audience (high), elderly inclusion and clear disparities (review)."""
    findings: list[dict[str, Any]] = []
    ages = result.ages
    if result.marketing and ages is not None and ages.selected_minors > 0:
        findings.append(
            {
                "rule": "ALG-18-minors-in-marketing-audience",
                "law": "ALG",
                "article": "18",
                "severity": "high",
                "stage": "apply",
                "title": {"zh": "自动化营销受众包含未成年人", "en": "Automated-marketing audience includes minors"},
                "message": f"{ages.selected_minors} selected users are under 18 (from {ages.source}); "
                "MINOR 24 forbids automated commercial marketing to minors.",
                "evidence": [{"kind": "audience", "path": source, "line": None,
                              "detail": f"{ages.selected_minors} users under 18 selected"}],
                "fix": "Exclude users under 18 (and users of unknown age) from automated-marketing audiences.",
                "penalty": ALG_PENALTY,
            }
        )
    if result.marketing and ages is not None and ages.selected_elderly > 0:
        findings.append(
            {
                "rule": "ALG-19-elderly-in-marketing-audience",
                "law": "ALG",
                "article": "19",
                "severity": "review",
                "stage": "apply",
                "title": {"zh": "营销受众包含老年用户，需适老化审查", "en": "Marketing audience includes elderly users: age-friendly review"},
                "message": f"{ages.selected_elderly} selected users are 60 or older (selection rate "
                f"{ages.elderly_rate:.1%} vs {ages.adult_under_60_rate:.1%} for adults under 60). "
                "Check that the campaign is age-friendly and not exploitative.",
                "evidence": [{"kind": "audience", "path": source, "line": None,
                              "detail": f"{ages.selected_elderly} users aged 60+ selected"}],
                "fix": "Review the offer, wording and opt-out for elderly users; record the review.",
                "penalty": ALG_PENALTY,
            }
        )
    clear = [g for g in result.groups if g.clearly_below]
    for attribute in sorted({g.attribute for g in clear}):
        rows = [g for g in clear if g.attribute == attribute]
        evidence = [
            {"kind": "selection_rate", "path": source, "line": None,
             "detail": f"{attribute}={g.group}: rate {g.rate:.3f}, ratio {g.ratio:.2f} "
             f"[95% CI {g.ratio_ci[0]:.2f}, {g.ratio_ci[1]:.2f}], n={g.n}"}
            for g in rows
        ]
        for rule, law, article, penalty in (
            ("PIPL-24-selection-disparity", "PIPL", "24", PIPL_PENALTY),
            ("ALG-21-selection-disparity", "ALG", "21", ALG_PENALTY),
        ):
            findings.append(
                {
                    "rule": rule,
                    "law": law,
                    "article": article,
                    "severity": "review",
                    "stage": "apply",
                    "title": {"zh": "优惠或营销选择在用户群体间差异明显",
                              "en": "Selection rate differs sharply between user groups"},
                    "message": f"Selection rate for some {attribute} groups is below "
                    f"{result.line:g}× that of the most-selected group, with the whole 95% "
                    "interval below the line.",
                    "evidence": evidence,
                    "fix": "Check whether the selection rule uses the attribute (or a proxy) "
                    "and whether the difference is justified; document the decision.",
                    "penalty": penalty,
                }
            )
    return findings
