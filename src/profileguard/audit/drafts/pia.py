"""Draft of a personal-information protection impact assessment (PIPL 55–56).

Built from the same context as the audit: the processing inventory comes from the
manifest's fields, purposes and recipients; the triggers from the PIPL-55 rule; risks per
stage from the findings; measures in place from the manifest and the stores; residual
risk is the worst finding left per stage. The person signing completes the judgement.
"""

from __future__ import annotations

from profileguard.audit.context import AuditContext
from profileguard.audit.drafts.document import Document
from profileguard.audit.engine import AuditResult
from profileguard.audit.finding import SEVERITY_RANK, STAGE_TITLES, STAGES
from profileguard.audit.rules.lookups import PIA_SCOPES, pia_covering
from profileguard.audit.rules.pipl_use import pia_triggers
from profileguard.taxonomy import cn_level


def _yes(flag: bool) -> str:
    return "yes 是" if flag else "no 否"


def measures(ctx: AuditContext) -> list[list[str]]:
    """Measures in place, each with where it is declared or measured."""
    m = ctx.manifest
    c, g, apps = m.consent, m.governance, m.applications
    rows = [
        ["consent per purpose, unticked, unbundled", _yes(c.per_purpose and not c.bundled
                                                           and not c.pre_ticked), "consent"],
        ["separate consents declared", str(len(c.separate)), "consent.separate"],
        ["guardian consent under", str(c.guardian_under), "consent.guardian_under"],
        ["pseudonymized / dropped fields", str(sum(
            1 for cols in m.fields.values() for d in cols.values()
            if d.transform in {"pseudonymize", "drop", "hash", "mask"})), "fields.*.transform"],
        ["default retention", m.retention.default.text if m.retention.default else "none",
         "retention.default"],
        ["encryption at rest", _yes(g.encryption_at_rest), "governance.encryption_at_rest"],
        ["access control", _yes(g.access_control), "governance.access_control"],
        ["incident plan", str(g.incident_plan.date) if g.incident_plan else "none",
         "governance.incident_plan"],
        ["rights endpoints", ", ".join(m.rights.endpoints), "rights.endpoints"],
    ]
    if apps.recommendation:
        r = apps.recommendation
        rows.append(["recommendation: non-personalized option / off switch / tag deletion",
                     f"{_yes(r.non_personalized_option)} / {_yes(r.off_switch)} / "
                     f"{_yes(r.tag_deletion)}", "applications.recommendation"])
    for name, app in (("advertising", apps.advertising), ("campaigns", apps.campaigns)):
        if app is not None:
            rows.append([f"{name}: minors excluded", _yes(app.exclude_minors),
                         f"applications.{name}.exclude_minors"])
    if ctx.ledger is not None:
        rows.append(["ledger hash chain verifies", _yes(ctx.ledger.ok) +
                     f" ({ctx.ledger.entries} entries)", "ledger"])
    if ctx.consent is not None:
        rows.append(["people in the consent log", f"{ctx.consent.users_known:,}", "consents"])
    if ctx.rights is not None:
        rows.append(["rights requests recorded", str(ctx.rights.total), "rights_requests"])
    return rows


def pia_document(ctx: AuditContext, result: AuditResult) -> Document:
    m = ctx.manifest
    doc = Document(f"个人信息保护影响评估报告（草稿） PIA draft — {m.organization.name}")
    officer = m.organization.officer
    doc.section("1. Basics 基本信息").table(["item", "value"], [
        ["controller 个人信息处理者", m.organization.name],
        ["PI protection officer 负责人", f"{officer.name} <{officer.contact}>" if officer else "—"],
        ["assessment date 评估日期", ctx.as_of.isoformat()],
        ["manifest 清单", f"{result.manifest_path} (sha256 {result.manifest_sha256 or '—'})"],
        ["jurisdictions 适用法域", ", ".join(m.jurisdictions)],
    ])
    inv = doc.section("2. Processing inventory 处理活动清单")
    rows = []
    for src, cols in m.fields.items():
        for col, d in cols.items():
            if d.category == "non_personal":
                continue
            bases = ", ".join(sorted({m.purposes[p].basis for p in d.purposes
                                      if p in m.purposes}))
            rows.append([f"{src}.{col}", d.category, str(cn_level(d.category)),
                         ", ".join(d.purposes), bases,
                         d.retention.text if d.retention else (
                             m.retention.default.text if m.retention.default else "—"),
                         d.transform])
    inv.table(["field", "category", "CN level", "purposes", "basis", "retention", "transform"],
              rows)
    inv.table(["recipient", "role", "country", "purposes", "fields", "separate consent",
               "mechanism"],
              [[r.name, r.role, r.country, ", ".join(r.purposes), ", ".join(r.fields),
                _yes(r.separate_consent), r.transfer_mechanism] for r in m.recipients])
    trig = doc.section("3. Why an assessment is required 评估触发情形 (PIPL 55)")
    triggers = pia_triggers(ctx)
    trig.table(["trigger", "why", "covered by PIA dated"], [
        [t, why, str(pia_covering(m, t, ctx.as_of) or "—")] for t, why in triggers.items()])
    if not triggers:
        trig.para("No PIPL 55 trigger is present.")
    risks = doc.section("4. Risks per stage 各环节风险")
    for stage in STAGES:
        found = [f for f in result.findings if f.stage == stage]
        zh, en = STAGE_TITLES[stage]
        risks.para(f"{en} {zh}: {len(found)} findings")
        if found:
            risks.table(["severity", "article", "risk", "fix"], [
                [f.severity, f"{f.law} {f.article}", f.message, f.fix] for f in found])
    doc.section("5. Measures in place 已采取的保护措施").table(
        ["measure", "state", "declared in"], measures(ctx))
    residual = []
    for stage in STAGES:
        worst = max((f for f in result.findings if f.stage == stage),
                    key=lambda f: SEVERITY_RANK[f.severity], default=None)
        level = worst.severity if worst and worst.severity != "review" else "low"
        residual.append([STAGE_TITLES[stage][1], level, str(result.stage_scores[stage])])
    doc.section("6. Residual risk 剩余风险").table(["stage", "residual risk", "score"], residual)
    doc.section("7. Conclusion and sign-off 结论与签字").para(
        "Residual risk acceptable 剩余风险是否可接受: ☐ yes ☐ no — conditions: ________").table(
        ["role", "name", "signature", "date"],
        [["assessor 评估人", "", "", ""], ["PI protection officer 个人信息保护负责人", "", "", ""],
         ["management 管理层", "", "", ""]]).para(
        "Keep this report and the processing records for at least three years (PIPL 56). "
        f"Scopes to record in governance.pia: {', '.join(PIA_SCOPES)}.")
    return doc
