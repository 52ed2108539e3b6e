"""Demo step "apply": recommendations in both modes, a guarded audience, a campaign dry run.

Registered with :func:`profileguard.demo.run.register_step`; ``demo/run.py`` imports this
module so the step runs after the build.
"""

from __future__ import annotations

import datetime as dt

from profileguard.demo.run import DemoContext, register_step


@register_step("apply")
def step_apply(ctx: DemoContext) -> None:
    from profileguard.apply.audience import AudienceSpec, select_audience
    from profileguard.apply.campaign import Campaign, plan_campaign
    from profileguard.apply.recommend import Recommender
    from profileguard.cli.audience import print_audience
    from profileguard.cli.campaign import print_plan
    from profileguard.cli.recommend import print_recommendations
    from profileguard.pipeline.services import Services

    ctx.console.rule("[bold]5. Apply, through the guards: recommendations, audience, campaign")
    svc: Services = ctx.state["services"]
    rec = Recommender(svc)
    users = rec.model_users()
    user = next((u for u in users if len(rec.reader.interactions(u, rec.as_of)) >= 3), None)
    if user is None:
        ctx.console.print("  no user with personalization consent and history; skipped")
        return
    ctx.console.print(f"  user {user} — personalized (consent in force):")
    print_recommendations(rec.recommend(user, 5))
    ctx.console.print("  the same user — non-personalized (popularity, not based on them):")
    print_recommendations(rec.recommend(user, 5, mode="non_personalized"))
    spec = AudienceSpec("preferred_category IS NOT NULL OR age_band IS NOT NULL",
                        "advertising", "AdNet Ltd")
    ctx.console.print(f"  audience preview: {spec.expression!r} for {spec.purpose} → "
                      f"{spec.recipient}", highlight=False)
    print_audience(select_audience(svc, spec))
    campaign = Campaign("demo-tiered-coupon", "coupon", "sms", "限时秒杀 会员专享满100减20",
                        ctx.as_of.replace(hour=10) + dt.timedelta(days=1),
                        AudienceSpec("rfm_segment IS NOT NULL", "tiered_operations",
                                     min_size=1))
    ctx.console.print("  campaign dry run (nothing is sent):")
    print_plan(plan_campaign(svc, campaign))
