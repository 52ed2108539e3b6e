"""Demo step: the pricing audit finds the planted loyal-customer surcharge and nothing else.

The generator plants a +3% surcharge for heavy buyers in two categories, plus legitimate
confounders — an A/B test correlated with device OS, coupons mostly for new users, members'
prices and prices drifting over time. The audit controls for those and flags only the
surcharge (a ``review`` finding under PIPL 24 / ALG 21: the law sets no threshold).
"""

from __future__ import annotations

from profileguard.audit.fairness import PricingConfig
from profileguard.demo.run import DemoContext, register_step


@register_step("pricing")
def step_pricing(ctx: DemoContext) -> None:
    from profileguard.pipeline.pricing import audit_workspace_pricing
    from profileguard.pipeline.services import Services

    ctx.console.rule("[bold]Pricing audit (大数据杀熟): same item, same hour, different users")
    svc: Services = ctx.state["services"]
    result = audit_workspace_pricing(svc, ctx.as_of, PricingConfig(timezone="Asia/Shanghai"))
    ctx.state["pricing"] = result
    ctx.console.print(f"  controlled for: {', '.join(result.controlled_for)}")
    ctx.console.print(f"  not controlled for: {', '.join(result.not_controlled_for)}")
    flagged = [t for t in result.tests if t.flagged]
    if not flagged:
        ctx.console.print("  [green]no price gap flagged[/]")
    for t in flagged:
        ctx.console.print(
            f"  [yellow]review[/] {t.attribute}={t.group} vs {t.reference} in "
            f"{t.category or 'all categories'}: {t.gap_pct:+.2f}% "
            f"(95% CI {t.ci[0]:+.2f}…{t.ci[1]:+.2f}, p_adj {t.p_adjusted:.1e}, {t.n} quotes)")
    ctx.console.print(f"  flagged attributes: {', '.join(result.flagged_attributes) or 'none'}")
