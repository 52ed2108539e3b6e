"""Algorithmic recommendation rules (互联网信息服务算法推荐管理规定, 2022)."""

from __future__ import annotations

from collections.abc import Iterator

from profileguard.audit.context import AuditContext
from profileguard.audit.finding import Evidence
from profileguard.audit.rule import Hit, rule
from profileguard.audit.rules.lookups import is_marketing


@rule("ALG-10-tag-blocklist", law="ALG", article="10", stage="model", severity="high",
      en="Illegal or harmful keyword used as a user tag", zh="将违法和不良信息关键词记入用户标签")
def tag_blocklist(ctx: AuditContext) -> Iterator[Hit]:
    """*What it checks*: tag names, titles and value expressions against
    ``audit.tag_blocklist`` (configurable; the law gives no list).

    *Why it matters*: ALG 10 forbids recording illegal or harmful keywords as user
    interests or tags.

    *Example*: ``tag_blocklist: [赌博]`` and a tag titled 赌博偏好.

    *Fix*: remove the tag or the value.
    """
    words = [w for w in ctx.manifest.audit.tag_blocklist if w]
    for i, t in enumerate(ctx.manifest.tags):
        text = " ".join([t.name, t.title.zh, t.title.en, t.value or "", t.description])
        hit = [w for w in words if w.lower() in text.lower()]
        if hit:
            yield Hit(f"tag {t.name} contains blocked keyword(s) {', '.join(hit)}",
                      [ctx.at("tags", i, "name")])


@rule("ALG-16-disclosure", law="ALG", article="16", stage="apply", severity="medium",
      en="Users not told that algorithmic recommendation is used", zh="未告知用户提供算法推荐服务的情况")
def disclosure(ctx: AuditContext) -> Iterator[Hit]:
    """*What it checks*: an enabled recommendation has ``disclosure: true`` and the notice
    states ``algorithm`` (principle, purpose, main mechanism).

    *Why it matters*: ALG 16: tell users clearly that algorithmic recommendation is used
    and publish its basic principle, purpose and main mechanism.

    *Example*: ``recommendation: {disclosure: false}``.

    *Fix*: label recommended content, publish the algorithm's description, add
    ``algorithm`` to ``notice.states``.
    """
    m = ctx.manifest
    rec = m.applications.recommendation
    if rec is None or not rec.enabled:
        return
    if not rec.disclosure:
        yield Hit("recommendation is not disclosed to users",
                  [ctx.at("applications", "recommendation", "disclosure")])
    if m.notice is None or "algorithm" not in m.notice.states:
        yield Hit("the notice does not describe the recommendation algorithm",
                  [ctx.at("notice", "states")])


@rule("ALG-17-user-control", law="ALG", article="17", stage="apply", severity="high",
      en="No off switch, no non-targeted option or no tag deletion",
      zh="未提供关闭算法推荐、不针对个人特征的选项或删除用户标签的功能",
      needs=('manifest', 'snapshot'))
def user_control(ctx: AuditContext) -> Iterator[Hit]:
    """*What it checks*: recommendation has an off switch, a non-personalized option and
    tag deletion; with a build, users who chose non-personalized results have no
    personalization tags.

    *Why it matters*: ALG 17: offer an option not targeting personal characteristics or a
    convenient off switch, stop at once when switched off, and let users select or delete
    their tags (NDSR 42: easy to find and use).

    *Example*: ``recommendation: {off_switch: false, tag_deletion: false}``.

    *Fix*: all three switches on, wired to the ConsentBook, and rebuild after changes.
    """
    rec = ctx.manifest.applications.recommendation
    if rec is not None and rec.enabled:
        for key, what in (("off_switch", "off switch"),
                          ("non_personalized_option", "non-personalized option"),
                          ("tag_deletion", "tag deletion")):
            if not getattr(rec, key):
                yield Hit(f"recommendation offers no {what}",
                          [ctx.at("applications", "recommendation", key)])
    snap = ctx.warehouse.snapshot if ctx.warehouse else None
    if snap is not None and snap.non_personalized_profiled:
        yield Hit(f"{snap.non_personalized_profiled} users switched personalization off but "
                  "still have personalization tags",
                  [Evidence("table", f"{snap.non_personalized_profiled} users",
                            f"snap_{snap.id}_long")])


@rule("ALG-18-minors-marketing", law="ALG", article="18", stage="apply", severity="high",
      en="Automated marketing audiences that can contain minors",
      zh="自动化营销受众包含未成年人",
      needs=('manifest', 'warehouse', 'exports'))
def minors_marketing(ctx: AuditContext) -> Iterator[Hit]:
    """*What it checks*: advertising and campaigns exclude minors (``exclude_minors``) when
    the warehouse holds users under 18; audience exports contain no minors.

    *Why it matters*: ALG 18 protects minors from addiction inducement; MINOR 24 forbids
    automated commercial marketing to minors.

    *Example*: ``advertising: {exclude_minors: false}`` with 40 users under 18.

    *Fix*: ``exclude_minors: true`` (the audience guard removes under-18s) and re-export.
    """
    m = ctx.manifest
    wh = ctx.warehouse
    minors = wh.under_18 if wh else 0
    apps = m.applications
    for name, app in (("advertising", apps.advertising), ("campaigns", apps.campaigns)):
        if app is None or not app.enabled or app.exclude_minors:
            continue
        detail = f"{minors} users under 18 can be selected" if wh else "minors not excluded"
        yield Hit(f"{name} does not exclude minors ({detail})",
                  [ctx.at("applications", name, "exclude_minors"),
                   *([Evidence("count", f"{minors} users under 18", "users.birth_date")]
                     if wh else [])],
                  severity="high" if minors or wh is None else "medium")
    for e in wh.exports if wh else []:
        if e.minors and (e.purpose is None or is_marketing(m, e.purpose)):
            yield Hit(f"audience export {e.id} ({e.purpose}) contains {e.minors} minors",
                      [Evidence("store", f"{e.minors} of {e.rows} members", "export_members")])


@rule("ALG-19-elderly", law="ALG", article="19", stage="apply", severity="review",
      en="Elderly users: is the service age-friendly?", zh="老年用户：是否提供适老化服务",
      needs=('manifest', 'warehouse'))
def elderly(ctx: AuditContext) -> Iterator[Hit]:
    """*What it checks*: users aged 60+ in the warehouse (or campaigns without
    ``elderly_care``); the law gives no test, so a person answers.

    *Why it matters*: ALG 19 requires protecting elderly users' rights, including
    age-friendly (适老化) service and fraud prevention.

    *Example*: ``campaigns: {elderly_care: false}``.

    *Fix*: review the flows with elderly users in mind; set ``elderly_care: true`` when done.
    """
    c = ctx.manifest.applications.campaigns
    who = f"{ctx.warehouse.aged_60_plus} users aged 60+" if ctx.warehouse else "elderly users"
    if c is not None and c.enabled and not c.elderly_care:
        yield Hit(f"campaigns reach {who} without elderly care: are messages, "
                  "frequency and fraud warnings age-friendly?",
                  [ctx.at("applications", "campaigns", "elderly_care")])


@rule("ALG-21-price-terms", law="ALG", article="21", stage="apply", severity="review",
      en="Price differences by preference or trading habit (大数据杀熟)?",
      zh="是否根据偏好、交易习惯实行不合理差别待遇（大数据杀熟）")
def price_terms(ctx: AuditContext) -> Iterator[Hit]:
    """*What it checks*: personalized pricing; the same question as PIPL 24's price check.

    *Why it matters*: ALG 21 forbids unreasonable differences in price or terms based on
    consumers' preferences or trading habits.

    *Example*: ``pricing: {personalized: true}``.

    *Fix*: ``profileguard audit pricing``; keep legitimate factors only; record the result.
    """
    p = ctx.manifest.applications.pricing
    if p and p.enabled and p.personalized:
        yield Hit("personalized prices: does any gap follow preferences or trading habits?",
                  [ctx.at("applications", "pricing", "personalized")])


@rule("ALG-24-filing", law="ALG", article="24", stage="govern", severity="review",
      en="Algorithm in use without a filing record", zh="算法推荐服务未备案")
def filing(ctx: AuditContext) -> Iterator[Hit]:
    """*What it checks*: recommendation or predictive tags in use and no
    ``governance.algorithm_filing``. Whether filing applies (public-opinion attributes or
    social mobilisation) is a legal judgement, so this is a question.

    *Why it matters*: ALG 24: providers in scope file within 10 working days of starting.

    *Example*: ``recommendation: {enabled: true}`` and no ``algorithm_filing``.

    *Fix*: decide whether the service is in scope; if so, ``profileguard filing`` drafts the
    filing; record ``algorithm_filing: {number, date}``.
    """
    m = ctx.manifest
    rec = m.applications.recommendation
    predictive = [t.name for t in m.tags if t.kind == "predictive"]
    if m.governance.algorithm_filing is None and ((rec and rec.enabled) or predictive):
        yield Hit("algorithms are in use without a filing record: is the service in scope "
                  "of ALG 24?", [ctx.at("governance")])
