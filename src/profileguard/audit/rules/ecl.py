"""E-Commerce Law (电子商务法, 2018) and Advertising Law (广告法) rules."""

from __future__ import annotations

from collections.abc import Iterator

from profileguard.audit.context import AuditContext
from profileguard.audit.rule import Hit, rule
from profileguard.audit.rules.lookups import consent_based


@rule("ECL-18-personalized-search", law="ECL", article="18", stage="apply", severity="high",
      en="Personalized search without a non-personalized option",
      zh="个性化搜索结果未同时提供不针对个人特征的选项")
def personalized_search(ctx: AuditContext) -> Iterator[Hit]:
    """*What it checks*: ``applications.search`` with ``personalized: true`` also has
    ``non_personalized_option: true``.

    *Why it matters*: ECL 18: search results based on a consumer's preferences or habits
    must come with options not targeting their personal characteristics.

    *Example*: ``search: {personalized: true, non_personalized_option: false}``.

    *Fix*: ``non_personalized_option: true`` and honour the choice (ConsentBook
    ``set_non_personalized``).
    """
    s = ctx.manifest.applications.search
    if s and s.enabled and s.personalized and not s.non_personalized_option:
        yield Hit("search is personalized with no non-personalized option",
                  [ctx.at("applications", "search", "non_personalized_option")])


@rule("ECL-24-account", law="ECL", article="24", stage="govern", severity="medium",
      en="Account closure with extra conditions or data kept after closure",
      zh="注销账户设置不合理条件或注销后未删除信息")
def account(ctx: AuditContext) -> Iterator[Hit]:
    """*What it checks*: no ``rights.extra_conditions``; ``close_account`` among the
    endpoints; ``delete_on_account_closure: true``; the notice states ``account_closure``.

    *Why it matters*: ECL 24: state how to query, correct, delete and close an account, set
    no unreasonable conditions, and delete on closure.

    *Example*: ``rights: {extra_conditions: [call customer service], delete_on_account_closure:
    false}``.

    *Fix*: self-service closure without conditions, deletion on closure, stated in the notice.
    """
    r = ctx.manifest.rights
    for i, cond in enumerate(r.extra_conditions):
        yield Hit(f"account closure requires: {cond}", [ctx.at("rights", "extra_conditions", i)])
    if "close_account" not in r.endpoints:
        yield Hit("no account-closure endpoint", [ctx.at("rights", "endpoints")])
    if not r.delete_on_account_closure:
        yield Hit("data is kept after account closure",
                  [ctx.at("rights", "delete_on_account_closure")], severity="high")
    notice = ctx.manifest.notice
    if notice is not None and "account_closure" not in notice.states:
        yield Hit("the notice does not say how to close an account", [ctx.at("notice", "states")],
                  severity="low")


@rule("ADV-43-electronic-ads", law="ADV", article="43", stage="apply", severity="high",
      en="Electronic ads without consent, sender identity or opt-out",
      zh="电子广告未经同意、未表明发送者身份或未提供拒绝方式")
def electronic_ads(ctx: AuditContext) -> Iterator[Hit]:
    """*What it checks*: campaigns (SMS, push, email) rest on consent, name the sender
    (``sender_identity``) and offer unsubscribe.

    *Why it matters*: ADV 43: no advertising to a person's phone or email without their
    consent or request; the sender's identity and a way to refuse must be shown.

    *Example*: ``campaigns: {channels: [sms], unsubscribe: false}`` without
    ``sender_identity``.

    *Fix*: ``sender_identity: <shop name>``, ``unsubscribe: true``, purpose on consent.
    """
    m = ctx.manifest
    c = m.applications.campaigns
    if c is None or not c.enabled:
        return
    if not consent_based(m, c.purpose):
        yield Hit(f"campaign purpose {c.purpose} does not rest on consent",
                  [ctx.at("purposes", c.purpose, "basis")])
    if not c.sender_identity:
        yield Hit("campaign messages do not name the sender",
                  [ctx.at("applications", "campaigns")])
    if not c.unsubscribe:
        yield Hit("campaign messages offer no opt-out",
                  [ctx.at("applications", "campaigns", "unsubscribe")])


@rule("ADV-44-popups", law="ADV", article="44", stage="apply", severity="medium",
      en="Pop-up ads that cannot be closed with one click", zh="弹出广告未能一键关闭")
def popups(ctx: AuditContext) -> Iterator[Hit]:
    """*What it checks*: ``applications.campaigns.popups_closable``.

    *Why it matters*: ADV 44: pop-up ads on the internet must show a close mark and close
    with one click.

    *Example*: ``campaigns: {popups_closable: false}``.

    *Fix*: a visible close button that closes at once; ``popups_closable: true``.
    """
    c = ctx.manifest.applications.campaigns
    if c is not None and c.enabled and not c.popups_closable:
        yield Hit("pop-ups cannot be closed with one click",
                  [ctx.at("applications", "campaigns", "popups_closable")])
