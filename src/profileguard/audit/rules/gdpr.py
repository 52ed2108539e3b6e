"""GDPR (EU 2016/679) rules, on when the manifest lists the ``EU`` jurisdiction."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

from profileguard.audit.context import AuditContext
from profileguard.audit.finding import Evidence
from profileguard.audit.rule import Hit, rule
from profileguard.audit.rules.lookups import (
    consent_based,
    personal_fields,
    pia_covering,
    profiles_or_markets,
    special_eu,
)
from profileguard.rights.deadlines import add_months

EU_RIGHTS = ("access", "export", "correct", "delete", "restrict")


def _basis(ctx: AuditContext, purpose: str) -> str:
    p = ctx.manifest.purposes[purpose]
    return p.basis_eu or p.basis


@rule("GDPR-6-contract-profiling", law="GDPR", article="6", stage="process", severity="high",
      en="Profiling or personalized ads on the contract basis",
      zh="以合同履行为由进行画像或个性化广告")
def contract_profiling(ctx: AuditContext) -> Iterator[Hit]:
    """*What it checks*: purposes that profile or market rest on a basis other than
    ``contract`` (``basis_eu`` when set, else ``basis``).

    *Why it matters*: GDPR 6(1)(b) covers only what is objectively necessary for the
    contract; personalization and behavioural ads are not (EDPB 2/2019; CJEU C-252/21).

    *Example*: ``advertising: {basis: contract}``.

    *Fix*: ``basis_eu: consent`` (or a documented legitimate-interest test where lawful).
    """
    for name in ctx.manifest.purposes:
        if profiles_or_markets(ctx.manifest, name) and _basis(ctx, name) == "contract":
            yield Hit(f"{name} profiles on the contract basis", [ctx.at("purposes", name)])


@rule("GDPR-7-consent-conditions", law="GDPR", article="7", stage="collect", severity="high",
      en="Consent not demonstrable, bundled, or harder to withdraw than to give",
      zh="同意不可证明、捆绑或撤回比给予更难",
      needs=('manifest', 'consent log'))
def consent_conditions(ctx: AuditContext) -> Iterator[Hit]:
    """*What it checks*: withdrawal takes no more clicks than giving; consent is not
    bundled or pre-ticked; consent-based purposes have records in the log.

    *Why it matters*: GDPR 7: the controller demonstrates consent; the request is
    distinguishable; withdrawing is as easy as giving; no service conditional on
    unnecessary consent.

    *Example*: ``consent: {clicks_to_withdraw: 6, clicks_to_give: 1}``.

    *Fix*: one-click withdrawal where consent was given; per-purpose unticked boxes.
    """
    c = ctx.manifest.consent
    if c.clicks_to_withdraw > c.clicks_to_give:
        yield Hit(f"withdrawal takes {c.clicks_to_withdraw} clicks, giving {c.clicks_to_give}",
                  [ctx.at("consent", "clicks_to_withdraw")])
    if c.bundled or c.pre_ticked or not c.per_purpose:
        yield Hit("consent is bundled or pre-ticked", [ctx.at("consent")])
    if ctx.consent is not None:
        for name in ctx.manifest.purposes:
            if _basis(ctx, name) == "consent" and ctx.consent.records(name) == 0:
                yield Hit(f"no consent record for {name}", [ctx.at("purposes", name)])


@rule("GDPR-9-special-categories", law="GDPR", article="9", stage="model", severity="high",
      en="Special-category data or inference without explicit consent",
      zh="特殊类别数据或推断未取得明示同意")
def special_categories(ctx: AuditContext) -> Iterator[Hit]:
    """*What it checks*: fields and tag inferences of Art 9 categories (health, religion,
    sexual orientation, biometrics, race, politics, unions, genetics) used for a purpose
    without a separate (explicit) consent entry. Location and finance are not special.

    *Why it matters*: GDPR 9 forbids processing special categories unless an Art 9(2)
    ground applies, for profiling in practice explicit consent.

    *Example*: ``infers: user.health_and_medical`` on an advertising tag.

    *Fix*: drop the inference or ask explicit consent: ``consent.separate: [{purpose,
    categories: [user.health_and_medical]}]``.
    """
    m = ctx.manifest
    covered = {(s.purpose, c) for s in m.consent.separate for c in s.categories}
    for i, t in enumerate(m.tags):
        if t.infers and special_eu(t.infers) and (t.purpose, t.infers) not in covered:
            yield Hit(f"tag {t.name} infers {t.infers} for {t.purpose} without explicit consent",
                      [ctx.at("tags", i, "infers")])
    for s, c, d in personal_fields(m):
        for p in d.purposes:
            if special_eu(d.category) and (p, d.category) not in covered:
                yield Hit(f"{s}.{c} ({d.category}) used for {p} without explicit consent",
                          [ctx.at("fields", s, c)])


@rule("GDPR-12-response-time", law="GDPR", article="12", stage="govern", severity="high",
      en="Rights request unanswered within one month (three with extension)",
      zh="权利请求未在一个月内答复（延期不超过三个月）",
      needs=('rights requests',))
def response_time(ctx: AuditContext) -> Iterator[Hit]:
    """*What it checks*: open EU requests older than one month without an extension, or
    older than three months.

    *Why it matters*: GDPR 12(3): answer without undue delay and within one month,
    extendable by two further months with notice to the person.

    *Example*: an EU access request received 45 days ago, not extended, still open.

    *Fix*: answer, or extend with the reasons (``profileguard dsr extend``).
    """
    if ctx.rights is None:
        return
    now = dt.datetime.combine(ctx.as_of, dt.time(), tzinfo=dt.UTC)
    for r in ctx.rights.open_or_refused:
        if r.jurisdiction != "EU" or r.state in {"done", "refused"}:
            continue
        if now > add_months(r.received_at, 3) or (not r.extended and now > add_months(
                r.received_at, 1)):
            yield Hit(f"EU {r.kind} request {r.id} open since {r.received_at:%Y-%m-%d}",
                      [Evidence("store", f"request {r.id}", "rights_requests")])


@rule("GDPR-13-information", law="GDPR", article="13", stage="govern", severity="medium",
      en="Notice lacks required information, incl. automated-decision logic",
      zh="告知缺少必要信息（含自动化决策逻辑）")
def information(ctx: AuditContext) -> Iterator[Hit]:
    """*What it checks*: the notice states controller, contact, purposes, recipients,
    retention, rights, and — when profiling is used — ``automated_decision_logic``.

    *Why it matters*: GDPR 13–14 list the information given at collection, including
    meaningful information about the logic of automated decisions.

    *Example*: profiling purposes and ``states`` without ``automated_decision_logic``.

    *Fix*: complete the notice and ``notice.states``.
    """
    m = ctx.manifest
    states = m.notice.states if m.notice else []
    needed = ["controller", "contact", "purposes", "recipients", "retention", "rights"]
    if any(profiles_or_markets(m, p) for p in m.purposes):
        needed.append("automated_decision_logic")
    missing = [i for i in needed if i not in states]
    if missing:
        yield Hit(f"the notice does not state: {', '.join(missing)}", [ctx.at("notice")])


@rule("GDPR-15-rights-endpoints", law="GDPR", article="15–20", stage="govern",
      severity="high", en="A data-subject right without an endpoint", zh="数据主体权利缺少行使渠道")
def rights_endpoints(ctx: AuditContext) -> Iterator[Hit]:
    """*What it checks*: endpoints for access, portability (export), rectification,
    erasure and restriction.

    *Why it matters*: GDPR 15–20 give these rights; portability needs a structured,
    machine-readable format.

    *Example*: ``rights: {endpoints: [access, delete]}``.

    *Fix*: add the endpoints (``profileguard dsr`` handles each kind).
    """
    missing = [r for r in EU_RIGHTS if r not in ctx.manifest.rights.endpoints]
    if missing:
        yield Hit(f"no endpoint for: {', '.join(missing)}", [ctx.at("rights", "endpoints")])


@rule("GDPR-21-objection", law="GDPR", article="21", stage="apply", severity="high",
      en="Objectors still profiled or in marketing audiences", zh="已反对者仍被画像或在营销受众中",
      needs=('manifest', 'snapshot', 'exports'))
def objection(ctx: AuditContext) -> Iterator[Hit]:
    """*What it checks*: with a build and exports: nobody who objected has tags, and no
    marketing audience export contains an objector; ``object`` is an endpoint.

    *Why it matters*: GDPR 21(2)–(3): the right to object to direct-marketing profiling is
    absolute.

    *Example*: 3 objectors in the current snapshot.

    *Fix*: rebuild (objectors are excluded) and re-export audiences.
    """
    if "object" not in ctx.manifest.rights.endpoints:
        yield Hit("no objection endpoint", [ctx.at("rights", "endpoints")])
    wh = ctx.warehouse
    if wh is None:
        return
    if wh.snapshot is not None and wh.snapshot.objectors_profiled:
        yield Hit(f"{wh.snapshot.objectors_profiled} objectors still profiled",
                  [Evidence("table", "objectors with tags", f"snap_{wh.snapshot.id}_long")])
    for e in wh.exports:
        if e.objectors:
            yield Hit(f"audience export {e.id} contains {e.objectors} objectors",
                      [Evidence("store", f"export {e.id}", "export_members")])


@rule("GDPR-22-automated-decisions", law="GDPR", article="22", stage="apply",
      severity="review", en="Individualized pricing: solely automated significant decision?",
      zh="个性化定价：是否构成仅凭自动化作出的重大决定")
def automated_decisions(ctx: AuditContext) -> Iterator[Hit]:
    """*What it checks*: personalized pricing or purposes with ``significant_decisions``.

    *Why it matters*: GDPR 22: solely automated decisions with legal or similarly
    significant effects need safeguards (human intervention, contest, explanation).

    *Example*: ``pricing: {personalized: true}``.

    *Fix*: document whether the effect is significant; if so, offer human review.
    """
    m = ctx.manifest
    p = m.applications.pricing
    if p and p.enabled and p.personalized:
        yield Hit("individualized pricing: is the effect significant, and are safeguards in "
                  "place?", [ctx.at("applications", "pricing", "personalized")])
    for name, purpose in m.purposes.items():
        if purpose.significant_decisions and not m.rights.explanation_channel:
            yield Hit(f"{name} makes significant decisions: where is human review?",
                      [ctx.at("purposes", name)])


@rule("GDPR-25-by-default", law="GDPR", article="25", stage="collect", severity="high",
      en="Optional purpose enabled by default", zh="可选目的默认开启")
def by_default(ctx: AuditContext) -> Iterator[Hit]:
    """*What it checks*: no consent-based purpose has ``default_on: true``.

    *Why it matters*: GDPR 25(2): by default only the data necessary for each purpose is
    processed; optional processing starts only when chosen.

    *Example*: ``analytics: {basis: consent, default_on: true}``.

    *Fix*: ``default_on: false``.
    """
    for name, p in ctx.manifest.purposes.items():
        if p.default_on and consent_based(ctx.manifest, name):
            yield Hit(f"{name} is on by default", [ctx.at("purposes", name, "default_on")])


@rule("GDPR-30-records", law="GDPR", article="30", stage="govern", severity="medium",
      en="No records of processing activities", zh="未建立处理活动记录")
def records(ctx: AuditContext) -> Iterator[Hit]:
    """*What it checks*: ``governance.records_of_processing``.

    *Why it matters*: GDPR 30: keep a record of processing activities.

    *Example*: ``governance: {records_of_processing: false}``.

    *Fix*: the manifest is most of the record; export it with ``profileguard evidence`` and
    set the flag.
    """
    if not ctx.manifest.governance.records_of_processing:
        yield Hit("no records of processing", [ctx.at("governance")])


@rule("GDPR-32-security", law="GDPR", article="32", stage="govern", severity="medium",
      en="Security controls absent", zh="安全控制措施缺失")
def security(ctx: AuditContext) -> Iterator[Hit]:
    """*What it checks*: encryption at rest, access control and pseudonymization of direct
    identifiers (at least one field with ``transform: pseudonymize``).

    *Why it matters*: GDPR 32: pseudonymisation and encryption, confidentiality,
    resilience and regular testing.

    *Example*: ``governance: {encryption_at_rest: false, access_control: false}``.

    *Fix*: turn the controls on and record them.
    """
    m = ctx.manifest
    g = m.governance
    if not g.encryption_at_rest:
        yield Hit("no encryption at rest", [ctx.at("governance")])
    if not g.access_control:
        yield Hit("no access control", [ctx.at("governance")])
    if not any(d.transform in {"pseudonymize", "hash"} for _, _, d in personal_fields(m)):
        yield Hit("no field is pseudonymized", [ctx.at("fields")])


@rule("GDPR-33-breach-72h", law="GDPR", article="33", stage="govern", severity="high",
      en="Breach not notified within 72 hours", zh="数据泄露未在72小时内通知监管机构",
      needs=('incidents',))
def breach_72h(ctx: AuditContext) -> Iterator[Hit]:
    """*What it checks*: incidents involving EU data notified to the authority within 72
    hours of detection, or with a recorded delay reason.

    *Why it matters*: GDPR 33: notify the supervisory authority without undue delay and
    where feasible within 72 hours, giving reasons for any delay.

    *Example*: an incident detected 5 days ago, ``eu_data: true``, not notified.

    *Fix*: ``profileguard incident notify ID`` (record ``--delay-reason`` when late).
    """
    now = dt.datetime.combine(ctx.as_of, dt.time(), tzinfo=dt.UTC)
    for inc in ctx.incidents or []:
        rec = inc.record
        if not rec.get("eu_data"):
            continue
        notified = rec.get("notified_regulator_at")
        when = dt.datetime.fromisoformat(notified) if notified else now
        if when - inc.detected_at > dt.timedelta(hours=72) and not rec.get("delay_reason"):
            yield Hit(f"incident {inc.id} notified after more than 72 hours" if notified else
                      f"incident {inc.id} not notified and detected over 72 hours ago",
                      [Evidence("store", f"incident {inc.id}", "incidents")])


@rule("GDPR-35-dpia", law="GDPR", article="35", stage="govern", severity="high",
      en="Systematic profiling or special categories without a DPIA",
      zh="系统性画像或大规模处理特殊类别数据未做DPIA")
def dpia(ctx: AuditContext) -> Iterator[Hit]:
    """*What it checks*: profiling purposes or special-category data are covered by an
    assessment (``governance.pia`` scope ``automated_decisions`` / ``sensitive``).

    *Why it matters*: GDPR 35: a DPIA before systematic and extensive profiling with
    significant effects or large-scale special-category processing.

    *Example*: personalization on and ``governance: {pia: []}``.

    *Fix*: ``profileguard pia`` drafts one; record it in ``governance.pia``.
    """
    m = ctx.manifest
    if any(profiles_or_markets(m, p) for p in m.purposes) and pia_covering(
            m, "automated_decisions", ctx.as_of) is None:
        yield Hit("profiling without a DPIA", [ctx.at("governance", "pia")])
    special = any(special_eu(d.category) for _, _, d in personal_fields(m)) or any(
        t.infers and special_eu(t.infers) for t in m.tags)
    if special and pia_covering(m, "sensitive", ctx.as_of) is None:
        yield Hit("special categories without a DPIA", [ctx.at("governance", "pia")])
