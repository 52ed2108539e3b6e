"""PIPL governance rules: notice, rights handling, security, officer, audits, incidents,
large-platform duties (the paper's §5.3 records, read from the manifest and the stores).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

from profileguard.audit.context import AuditContext
from profileguard.audit.finding import Evidence
from profileguard.audit.rule import Hit, rule
from profileguard.audit.rules.lookups import is_cn_sensitive, personal_fields

NOTICE_ITEMS = ("controller", "contact", "purposes", "methods", "categories", "retention",
                "rights")
CN_RIGHTS = ("access", "export", "correct", "delete", "withdraw", "explain")
INCIDENT_CONTENT = ("categories", "cause", "harm", "remedies", "contact")
YEAR = dt.timedelta(days=366)


@rule("PIPL-7-openness", law="PIPL", article="7", stage="govern", severity="high",
      en="No published notice, or a purpose in use that the notice omits",
      zh="未公开处理规则，或使用中的目的未在告知中说明")
def openness(ctx: AuditContext) -> Iterator[Hit]:
    """*What it checks*: a ``notice`` exists; every purpose used by a field or tag is stated
    by the notice version in force (its ``history`` entry).

    *Why it matters*: PIPL 7: processing rules must be public and the purpose, method and
    scope stated openly.

    *Example*: a tag with ``purpose: pricing`` while notice ``2025.2`` lists no pricing.

    *Fix*: publish a notice version listing every purpose in use, and add it to
    ``notice.history``.
    """
    m = ctx.manifest
    if m.notice is None:
        yield Hit("there is no published privacy notice", [ctx.at("notice")])
        return
    current = next((v for v in m.notice.history if v.version == m.notice.version), None)
    if current is None:
        return
    used = {p for _, _, d in personal_fields(m) for p in d.purposes} | {t.purpose for t in m.tags}
    for p in sorted(used - set(current.purposes)):
        yield Hit(f"purpose {p} is in use but notice {m.notice.version} does not state it",
                  [ctx.at("notice", "history", m.notice.history.index(current), "purposes")])


@rule("PIPL-17-notice-items", law="PIPL", article="17", stage="govern", severity="medium",
      en="Notice lacks a required item", zh="告知事项不完整")
def notice_items(ctx: AuditContext) -> Iterator[Hit]:
    """*What it checks*: the notice states controller, contact, purposes, methods,
    categories, retention (保存期限) and how to exercise rights.

    *Why it matters*: PIPL 17 lists what must be told before processing.

    *Example*: ``notice: {states: [controller, purposes]}``.

    *Fix*: add the missing items to the notice and to ``notice.states``.
    """
    m = ctx.manifest
    if m.notice is None:
        return
    missing = [i for i in NOTICE_ITEMS if i not in m.notice.states]
    if missing:
        yield Hit(f"the notice does not state: {', '.join(missing)}", [ctx.at("notice", "states")])


@rule("PIPL-30-sensitive-notice", law="PIPL", article="30", stage="govern", severity="medium",
      en="Sensitive PI without telling why it is necessary and its impact",
      zh="处理敏感个人信息未告知必要性及影响")
def sensitive_notice(ctx: AuditContext) -> Iterator[Hit]:
    """*What it checks*: when sensitive fields are collected, the notice states
    ``sensitive_necessity`` and ``sensitive_impact``.

    *Why it matters*: PIPL 30: for sensitive PI the person is also told why it is
    necessary and the impact on their rights.

    *Example*: ``users.id_number`` collected, notice ``states`` without
    ``sensitive_necessity``.

    *Fix*: add both statements to the notice.
    """
    m = ctx.manifest
    sensitive = [f"{s}.{c}" for s, c, d in personal_fields(m) if is_cn_sensitive(d.category)]
    if not sensitive:
        return
    states = m.notice.states if m.notice else []
    missing = [i for i in ("sensitive_necessity", "sensitive_impact") if i not in states]
    if missing:
        yield Hit(f"sensitive fields ({', '.join(sensitive[:4])}) but the notice lacks "
                  f"{', '.join(missing)}", [ctx.at("notice", "states")])


@rule("PIPL-44-rights", law="PIPL", article="44–48", stage="govern", severity="high",
      en="A right with no endpoint, or erased / objecting users still profiled",
      zh="个人权利无行使渠道，或已删除、已拒绝的用户仍在画像中",
      needs=('manifest', 'snapshot'))
def rights(ctx: AuditContext) -> Iterator[Hit]:
    """*What it checks*: endpoints for access, copy/export, correction, deletion,
    withdrawal and explanation; with a build, no erased user and no objector still has
    tags in the current snapshot.

    *Why it matters*: PIPL 44–48: the rights to know, decide, refuse, access and copy,
    port, correct, delete and have rules explained.

    *Example*: ``rights: {endpoints: [access]}``.

    *Fix*: offer every endpoint (``profileguard dsr``) and rebuild after erasures and
    objections.
    """
    m = ctx.manifest
    missing = [r for r in CN_RIGHTS if r not in m.rights.endpoints]
    if missing:
        yield Hit(f"no endpoint for: {', '.join(missing)}", [ctx.at("rights", "endpoints")])
    snap = ctx.warehouse.snapshot if ctx.warehouse else None
    if snap is None:
        return
    table = f"snap_{snap.id}_long"
    if snap.erased_profiled:
        yield Hit(f"{snap.erased_profiled} erased users still have tags",
                  [Evidence("table", f"{snap.erased_profiled} users", table)])
    if snap.objectors_profiled:
        yield Hit(f"{snap.objectors_profiled} users who objected to profiling still have tags",
                  [Evidence("table", f"{snap.objectors_profiled} users", table)])


@rule("PIPL-50-request-handling", law="PIPL", article="50", stage="govern", severity="high",
      en="Rights requests refused without reason or overdue", zh="拒绝请求未说明理由或逾期未处理",
      needs=('rights requests',))
def request_handling(ctx: AuditContext) -> Iterator[Hit]:
    """*What it checks*: the rights-request log: refusals carry a reason; open CN requests
    are within their deadline (``rights.deadline_days_cn``).

    *Why it matters*: PIPL 50 requires a convenient mechanism to accept and handle
    requests, and reasons when refusing.

    *Example*: a ``delete`` request refused with an empty reason, or open for 40 days.

    *Fix*: refuse only with a reason (``profileguard dsr refuse ID --reason``) and work the
    queue by deadline.
    """
    facts = ctx.rights
    if facts is None:
        return
    now = dt.datetime.combine(ctx.as_of, dt.time(), tzinfo=dt.UTC)
    unreasoned = [r for r in facts.open_or_refused
                  if r.state == "refused" and not (r.refusal_reason or "").strip()]
    if unreasoned:
        yield Hit(f"{len(unreasoned)} requests refused without a reason",
                  [Evidence("store", "ids " + ", ".join(str(r.id) for r in unreasoned[:10]),
                            "rights_requests.refusal_reason")])
    late = [r for r in facts.open_or_refused if r.state not in {"done", "refused"}
            and r.jurisdiction != "EU" and r.due < now]
    if late:
        yield Hit(f"{len(late)} requests are past their deadline",
                  [Evidence("store", "ids " + ", ".join(str(r.id) for r in late[:10]),
                            "rights_requests.deadline")], severity="medium")


@rule("PIPL-51-security", law="PIPL", article="51", stage="govern", severity="high",
      en="Security measures missing: encryption, incident plan, training, integrity",
      zh="安全保护措施缺失：加密、应急预案、培训、日志完整性",
      needs=('manifest', 'ledger'))
def security(ctx: AuditContext) -> Iterator[Hit]:
    """*What it checks*: sensitive fields stored unencrypted (no field ``encrypted`` and no
    ``governance.encryption_at_rest``); an incident plan; a training record within a year;
    access control; the ledger's hash chain verifies.

    *Why it matters*: PIPL 51: classification, encryption, de-identification, access
    control, regular training and an incident response plan.

    *Example*: ``governance: {encryption_at_rest: false}`` with ``users.id_number`` stored.

    *Fix*: encrypt at rest (or pseudonymize / drop), record the plan and training dates.
    """
    m = ctx.manifest
    g = m.governance
    for s, c, d in personal_fields(m):
        if is_cn_sensitive(d.category) and d.transform in {"none", "mask"} and not (
                d.encrypted or g.encryption_at_rest):
            yield Hit(f"sensitive field {s}.{c} is stored unencrypted", [ctx.at("fields", s, c)])
    if g.incident_plan is None:
        yield Hit("no incident response plan", [ctx.at("governance")])
    if not any(ctx.as_of - t.date <= YEAR for t in g.training):
        yield Hit("no PI-protection training in the last year", [ctx.at("governance")],
                  severity="medium")
    if not g.access_control:
        yield Hit("no access control declared", [ctx.at("governance")], severity="medium")
    if ctx.ledger is not None and not ctx.ledger.ok:
        yield Hit(f"the ledger does not verify: {ctx.ledger.damage}",
                  [Evidence("ledger", ctx.ledger.damage or "damaged", "ledger")])


@rule("PIPL-52-officer", law="PIPL", article="52", stage="govern", severity="high",
      en="No PI protection officer above the volume threshold", zh="达到规定数量未指定个人信息保护负责人",
      needs=('manifest', 'consent log'))
def officer(ctx: AuditContext) -> Iterator[Hit]:
    """*What it checks*: ``organization.officer`` is set when registered users reach
    ``audit.officer_threshold_users`` (configurable; the CAC sets the number, not the law).

    *Why it matters*: PIPL 52: above the CAC's volume a PI protection officer is
    designated and their contact published.

    *Example*: 2,000,000 registered users and no ``officer``.

    *Fix*: ``organization.officer: {name, contact}``.
    """
    m = ctx.manifest
    users = max(m.organization.registered_users,
                ctx.consent.users_known if ctx.consent else 0)
    if users >= m.audit.officer_threshold_users and m.organization.officer is None:
        yield Hit(f"{users:,} users and no PI protection officer", [ctx.at("organization")])


@rule("PIPL-54-compliance-audit", law="PIPL", article="54", stage="govern", severity="medium",
      en="Compliance audit missing or overdue", zh="未定期开展合规审计")
def compliance_audit(ctx: AuditContext) -> Iterator[Hit]:
    """*What it checks*: a compliance audit within 2 years (Audit Measures 2025: every 2
    years above 10 million individuals — high; otherwise regular, read as 2 years).

    *Why it matters*: PIPL 54 requires regular compliance audits.

    *Example*: ``governance: {audits: []}``.

    *Fix*: audit (``profileguard evidence`` bundles what the auditor asks for) and record it.
    """
    m = ctx.manifest
    last = max((a.date for a in m.governance.audits), default=None)
    big = m.organization.registered_users > 10_000_000
    if last is None or (ctx.as_of - last).days > 2 * 365:
        yield Hit(f"last compliance audit: {last or 'never'}", [ctx.at("governance", "audits")],
                  severity="high" if big else "medium")


@rule("PIPL-57-breach-notice", law="PIPL", article="57", stage="govern", severity="high",
      en="Incident without notification content", zh="安全事件未按要求通知",
      needs=('incidents',))
def breach_notice(ctx: AuditContext) -> Iterator[Hit]:
    """*What it checks*: every recorded incident has notification content (categories,
    cause, possible harm, remedies, contact) and has been notified to the regulator.

    *Why it matters*: PIPL 57: on a breach act at once and notify the regulator and the
    individuals with these items.

    *Example*: ``profileguard incident open`` and nothing after it.

    *Fix*: ``profileguard incident notify ID`` fills the drafts; send them and record it.
    """
    for inc in ctx.incidents or []:
        content = inc.record.get("notification", {})
        gaps = [k for k in INCIDENT_CONTENT if not content.get(k)]
        if gaps:
            yield Hit(f"incident {inc.id} ({inc.title}) lacks {', '.join(gaps)}",
                      [Evidence("store", f"incident {inc.id}", "incidents.record")])
        elif not inc.record.get("notified_regulator_at"):
            yield Hit(f"incident {inc.id} ({inc.title}) not notified to the regulator",
                      [Evidence("store", f"incident {inc.id}", "incidents.record")])


@rule("PIPL-58-large-platform", law="PIPL", article="58", stage="govern", severity="high",
      en="Large platform without independent body or annual report",
      zh="大型平台未设独立监督机构或未发布社会责任报告")
def large_platform(ctx: AuditContext) -> Iterator[Hit]:
    """*What it checks*: at ≥ 50M registered or ≥ 10M monthly active users (NDSR 62), an
    independent supervisory body and an annual social-responsibility report within a year.

    *Why it matters*: PIPL 58 adds duties for very large platforms.

    *Example*: ``organization: {registered_users: 60000000}``, ``governance:
    {independent_body: false}``.

    *Fix*: set up the body, publish the report, record both.
    """
    m = ctx.manifest
    o, g = m.organization, m.governance
    if o.registered_users < 50_000_000 and o.monthly_active_users < 10_000_000:
        return
    if not g.independent_body:
        yield Hit("large platform without an independent supervisory body",
                  [ctx.at("governance", "independent_body")])
    if g.annual_social_report is None or ctx.as_of - g.annual_social_report > YEAR:
        yield Hit("no social-responsibility report in the last year",
                  [ctx.at("governance", "annual_social_report")])
