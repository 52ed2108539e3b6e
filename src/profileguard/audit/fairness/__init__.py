"""Fairness audits: price discrimination by profile (大数据杀熟) and targeting disparity.

``audit_pricing`` measures, for each audited user attribute, how much more (or less) its
groups pay for the same item in the same time bucket once the legitimate explanations are
controlled for; ``audit_targeting`` compares selection rates of audiences, coupons and
campaigns. ``findings`` turns both into the auditor's ``review`` findings (PIPL 24, ALG 21,
GDPR 22; ALG 18/19 for minors and the elderly). See docs/fairness.md.
"""

from profileguard.audit.fairness.findings import pricing_findings, targeting_findings
from profileguard.audit.fairness.pricing import (
    PriceTest,
    PricingConfig,
    PricingResult,
    audit_pricing,
)
from profileguard.audit.fairness.quotes import QuoteData, assemble, load_quote_data
from profileguard.audit.fairness.targeting import TargetingResult, audit_targeting

__all__ = [
    "PriceTest",
    "PricingConfig",
    "PricingResult",
    "QuoteData",
    "TargetingResult",
    "assemble",
    "audit_pricing",
    "audit_targeting",
    "load_quote_data",
    "pricing_findings",
    "targeting_findings",
]
