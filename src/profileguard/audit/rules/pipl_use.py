"""PIPL rules for application and governance: third parties, automated decisions,
minors, notice, rights, security, PIA, incidents and platform duties.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

from profileguard.audit.context import AuditContext
from profileguard.audit.finding import Evidence
from profileguard.audit.rule import Hit, rule
from profileguard.audit.rules.lookups import (
    consent_based,
    foreign,
    is_cn_sensitive,
    personal_fields,
    pia_covering,
    profiles_or_markets,
    separately_consented,
)


@rule("PIPL-23-separate-consent", law="PIPL", article="23", stage="apply", severity="high",
      en="PI provided to another controller without separate consent",
      zh="向其他个人信息处理者提供个人信息未取得单独同意",
      needs=('manifest', 'consent log'))
def provision(ctx: AuditContext) -> Iterator[Hit]:
    """*What it checks*: recipients with ``role: controller`` have ``separate_consent: true``
    and a matching ``consent.separate`` entry, and name contact and method; with a consent
    log, grants for the recipient that are not separate consents (low: not counted).

    *Why it matters*: PIPL 23: providing PI to another controller requires telling the
    person the recipient's name, contact, purpose, method and categories, and a separate
    consent (单独同意).

    *Example*: ``recipients: [{name: AdNet Ltd, role: controller, separate_consent:
    false}]``.

    *Fix*: ``separate_consent: true``, add ``consent.separate: [{purpose: advertising,
    recipient: AdNet Ltd}]``, and state contact and method.
    """
    m = ctx.manifest
    for i, r in enumerate(m.recipients):
        if r.role != "controller":
            continue
        declared = any(separately_consented(m, p, recipient=r.name) for p in r.purposes)
        if not r.separate_consent or not declared:
            yield Hit(f"{r.name} (independent controller) receives {len(r.fields)} fields "
                      "without separate consent",
                      [ctx.at("recipients", i, "separate_consent")])
        gaps = [k for k, v in (("contact", r.contact), ("method", r.method),
                               ("purposes", r.purposes), ("fields", r.fields)) if not v]
        if gaps:
            yield Hit(f"{r.name}: the person is not told the recipient's {', '.join(gaps)}",
                      [ctx.at("recipients", i)], severity="medium")
        if ctx.consent is not None:
            weak = sum(c.users for p in r.purposes for c in ctx.consent.granted(p, r.name)
                       if c.consent_type == "general")
            if weak:
                yield Hit(f"{weak} consents in force for {r.name} are general, not separate "
                          "(not counted by the ConsentBook; ask again)",
                          [Evidence("count", f"{weak} users", "consents")], severity="low")


@rule("PIPL-24-non-targeted-option", law="PIPL", article="24", stage="apply",
      severity="high", en="Personalized push or marketing without a non-targeted option",
      zh="个性化推送或营销未提供不针对个人特征的选项或便捷拒绝方式")
def non_targeted_option(ctx: AuditContext) -> Iterator[Hit]:
    """*What it checks*: recommendation and advertising offer a non-personalized option or
    a convenient refusal; campaigns (automated marketing) offer unsubscribe.

    *Why it matters*: PIPL 24: information push and commercial marketing by automated
    decision-making must at the same time offer an option not targeting personal
    characteristics, or a convenient way to refuse.

    *Example*: ``applications: {recommendation: {non_personalized_option: false,
    off_switch: false}}``.

    *Fix*: ``non_personalized_option: true`` (and ``off_switch`` / ``refusal``, ``unsubscribe``).
    """
    apps = ctx.manifest.applications
    if apps.recommendation and apps.recommendation.enabled and not (
            apps.recommendation.non_personalized_option or apps.recommendation.off_switch):
        yield Hit("recommendation has neither a non-personalized option nor an off switch",
                  [ctx.at("applications", "recommendation", "non_personalized_option")])
    if apps.advertising and apps.advertising.enabled and not (
            apps.advertising.non_personalized_option or apps.advertising.refusal):
        yield Hit("targeted advertising has neither a non-targeted option nor a refusal",
                  [ctx.at("applications", "advertising", "non_personalized_option")])
    if apps.campaigns and apps.campaigns.enabled and not apps.campaigns.unsubscribe:
        yield Hit("marketing campaigns offer no way to refuse (unsubscribe)",
                  [ctx.at("applications", "campaigns", "unsubscribe")])


@rule("PIPL-24-price-differential", law="PIPL", article="24", stage="apply", severity="review",
      en="Personalized pricing: check for unreasonable differential treatment",
      zh="个性化定价：核查是否存在不合理差别待遇")
def price_differential(ctx: AuditContext) -> Iterator[Hit]:
    """*What it checks*: ``applications.pricing.personalized: true``, or price quotes logged
    per user. The law gives no threshold, so this is a question for a person.

    *Why it matters*: PIPL 24 forbids unreasonable differential treatment in price or
    other trading terms (不合理的差别待遇) through automated decision-making.

    *Example*: ``applications: {pricing: {enabled: true, personalized: true}}``.

    *Fix*: run ``profileguard audit pricing`` on the quotes; keep only legitimate factors
    (coupons, member prices, A/B buckets) and document them.
    """
    pricing = ctx.manifest.applications.pricing
    if pricing and pricing.enabled and pricing.personalized:
        yield Hit("prices are personalized: is any price gap explained by a user attribute "
                  "after controlling for coupons, membership and A/B buckets? Run `profileguard "
                  "audit pricing` and record the answer",
                  [ctx.at("applications", "pricing", "personalized")])


@rule("PIPL-24-explanation", law="PIPL", article="24", stage="apply", severity="medium",
      en="Significant automated decisions without explanation or refusal",
      zh="重大影响的自动化决策未提供说明和拒绝渠道")
def decision_explanation(ctx: AuditContext) -> Iterator[Hit]:
    """*What it checks*: when a purpose makes significant decisions (or pricing is
    personalized), the rights include ``explain`` and an explanation channel.

    *Why it matters*: PIPL 24: a person may ask for an explanation of a decision with a
    significant impact on their rights and refuse a decision made solely by automation.

    *Example*: ``purposes: {pricing: {significant_decisions: true}}`` with
    ``rights: {explanation_channel: false}``.

    *Fix*: ``rights.explanation_channel: true`` and ``explain`` among the endpoints.
    """
    m = ctx.manifest
    significant = [n for n, p in m.purposes.items() if p.significant_decisions]
    pricing = m.applications.pricing
    if pricing and pricing.enabled and pricing.personalized and not pricing.explanation_channel:
        yield Hit("personalized pricing has no explanation channel",
                  [ctx.at("applications", "pricing", "explanation_channel")])
    if significant and (not m.rights.explanation_channel or "explain" not in m.rights.endpoints):
        yield Hit(f"significant decisions ({', '.join(significant)}) without an explanation "
                  "channel", [ctx.at("rights", "explanation_channel")])


@rule("PIPL-25-public-disclosure", law="PIPL", article="25", stage="apply", severity="high",
      en="PI made public without separate consent", zh="公开个人信息未取得单独同意")
def public_disclosure(ctx: AuditContext) -> Iterator[Hit]:
    """*What it checks*: fields marked ``public: true`` (reviews, buyer shows) have a
    separate consent for their purposes.

    *Why it matters*: PIPL 25: personal information may not be made public without a
    separate consent.

    *Example*: ``reviews: {nickname: {category: user.name, public: true}}``.

    *Fix*: add ``consent.separate: [{purpose: public_reviews}]`` and ask it at posting time,
    or publish anonymously.
    """
    m = ctx.manifest
    for src, col, decl in personal_fields(m):
        if decl.public and not any(separately_consented(m, p, decl.category)
                                   for p in decl.purposes):
            yield Hit(f"{src}.{col} is shown publicly without separate consent",
                      [ctx.at("fields", src, col, "public")])


@rule("PIPL-31-under-14", law="PIPL", article="31", stage="collect", severity="high",
      en="Children under 14 without guardian consent or dedicated rules",
      zh="不满十四周岁未成年人未取得监护人同意或未制定专门规则",
      needs=('manifest', 'warehouse', 'consent log'))
def under_14(ctx: AuditContext) -> Iterator[Hit]:
    """*What it checks*: when the warehouse holds users under 14 (from the birth date):
    the notice states ``children_rules``; ``consent.guardian_under`` is at least 14; and no
    profiling or marketing purpose processes them without consent (a purpose not resting on
    consent processes everyone, guardian or not). Under-14s whose own consent is in force
    are ``low``: the ConsentBook refuses those records.

    *Why it matters*: PIPL 31: PI of a child under 14 is sensitive; processing needs the
    guardian's consent (监护人同意) and dedicated processing rules.

    *Example*: ``purposes: {advertising: {basis: contract}}`` with 12 users aged 9–13.

    *Fix*: put profiling and marketing on consent (the guardian's for under-14s), publish
    children's rules and keep ``guardian_under: 14``.
    """
    m = ctx.manifest
    wh = ctx.warehouse
    if m.consent.guardian_under < 14:
        yield Hit(f"guardian consent asked only under {m.consent.guardian_under}",
                  [ctx.at("consent", "guardian_under")])
    if wh is None or wh.under_14 == 0:
        return
    count = Evidence("count", f"{wh.under_14} users under 14", "users.birth_date")
    if m.notice is None or "children_rules" not in m.notice.states or not (
            m.notice.children_rules_url):
        yield Hit(f"{wh.under_14} users are under 14 but there are no children's rules",
                  [ctx.at("notice", "states"), count])
    for name in m.purposes:
        if profiles_or_markets(m, name) and not consent_based(m, name):
            yield Hit(f"{name} rests on {m.purposes[name].basis}, so it processes the "
                      f"{wh.under_14} under-14 users without their guardian's consent",
                      [ctx.at("purposes", name, "basis"), count])
    if ctx.consent is not None:
        for purpose, n in sorted(ctx.consent.under14_self_granted.items()):
            if n and consent_based(m, purpose):
                yield Hit(f"{n} under-14 users gave {purpose} consent themselves (not counted "
                          "by the ConsentBook; ask their guardians)",
                          [Evidence("count", f"{n} users", "consents")], severity="low")


@rule("PIPL-38-cross-border", law="PIPL", article="38", stage="apply", severity="high",
      en="Cross-border provision without a transfer mechanism or separate consent",
      zh="向境外提供个人信息缺少合规路径或单独同意")
def cross_border(ctx: AuditContext) -> Iterator[Hit]:
    """*What it checks*: recipients in another country have a ``transfer_mechanism``
    (security assessment, certification or standard contract) and a separate consent, and
    the notice states ``cross_border``.

    *Why it matters*: PIPL 38–39: PI leaves China only through one of the mechanisms, after
    telling the person and obtaining a separate consent.

    *Example*: ``recipients: [{name: CloudCo, country: SG, transfer_mechanism: none}]``.

    *Fix*: sign the CAC standard contract (or pass assessment / certification), declare it,
    ask separate consent, state it in the notice.
    """
    m = ctx.manifest
    for i, r in enumerate(m.recipients):
        if not foreign(m, r.country):
            continue
        if r.transfer_mechanism == "none":
            yield Hit(f"{r.name} in {r.country} receives PI with no transfer mechanism",
                      [ctx.at("recipients", i, "transfer_mechanism")])
        if not r.separate_consent:
            yield Hit(f"{r.name} in {r.country} receives PI without separate consent",
                      [ctx.at("recipients", i)])
        if m.notice is None or "cross_border" not in m.notice.states:
            yield Hit(f"the notice does not state the transfer to {r.name} ({r.country})",
                      [ctx.at("notice", "states")], severity="medium")


def _has_sensitive(ctx: AuditContext) -> bool:
    return any(is_cn_sensitive(d.category) and d.transform != "drop"
               for _, _, d in personal_fields(ctx.manifest)) or any(
        t.sensitive_categories or (t.tag.infers and is_cn_sensitive(t.tag.infers))
        for t in ctx.tags.tags)


def pia_triggers(ctx: AuditContext) -> dict[str, str]:
    """The PIPL 55 triggers present: trigger → why (also the PIA draft's list)."""
    m = ctx.manifest
    triggers: dict[str, str] = {}
    if _has_sensitive(ctx):
        triggers["sensitive"] = "sensitive personal information is processed"
    if any(profiles_or_markets(m, p) for p in m.purposes):
        triggers["automated_decisions"] = "automated decision-making (profiling) is used"
    if m.recipients or any(d.public for _, _, d in personal_fields(m)):
        triggers["provision"] = "PI is entrusted, provided to others or made public"
    if any(foreign(m, r.country) for r in m.recipients):
        triggers["cross_border"] = "PI is transferred abroad"
    return triggers


@rule("PIPL-55-pia", law="PIPL", article="55", stage="govern", severity="high",
      en="No impact assessment before high-risk processing",
      zh="高风险处理前未进行个人信息保护影响评估")
def pia(ctx: AuditContext) -> Iterator[Hit]:
    """*What it checks*: each PIPL 55 trigger present in the manifest — sensitive PI,
    automated decisions (profiling), entrusted processing / provision / publication,
    cross-border — is covered by a PIA record (``governance.pia``) dated on or before the
    audit date whose ``scope`` names it.

    *Why it matters*: PIPL 55–56 require a personal-information protection impact
    assessment (个人信息保护影响评估) before these activities, kept for at least 3 years.

    *Example*: ``governance: {pia: []}`` with personalized recommendation enabled.

    *Fix*: run ``profileguard pia`` for a draft, complete it and record it:
    ``governance.pia: [{date, scope: [sensitive, automated_decisions, provision], document}]``.
    """
    m = ctx.manifest
    triggers = pia_triggers(ctx)
    for trigger, why in triggers.items():
        if pia_covering(m, trigger, ctx.as_of) is None:
            yield Hit(f"{why}, but no PIA covers {trigger!r}", [ctx.at("governance", "pia")])
    old = dt.timedelta(days=3 * 366)
    for i, record in enumerate(m.governance.pia):
        if record.date > ctx.as_of:
            yield Hit(f"PIA record dated {record.date} is in the future",
                      [ctx.at("governance", "pia", i, "date")], severity="medium")
        elif ctx.as_of - record.date > old and not record.document:
            yield Hit(f"PIA of {record.date} names no document to keep",
                      [ctx.at("governance", "pia", i)], severity="low")
