"""Draft of an algorithm filing (算法备案, ALG 24): name, type, principle, purpose, mechanism,
the data used and their categories (from the tag catalog and model cards) and the
self-assessment items (ALG 10, 16–21), each answered from the audit's findings.
"""

from __future__ import annotations

from typing import Any

from profileguard.audit.context import AuditContext
from profileguard.audit.drafts.document import Document
from profileguard.audit.engine import AuditResult
from profileguard.taxonomy import cn_level

SELF_ASSESSMENT = [
    ("ALG", "10", "no illegal or harmful keywords as user tags 不得将违法和不良信息关键词记入用户标签"),
    ("ALG", "16", "users told that recommendation is used; principle, purpose, mechanism published"),
    ("ALG", "17", "non-targeted option, off switch, tag selection and deletion 关闭与标签管理"),
    ("ALG", "18", "minors protected; no automated marketing to minors 未成年人保护"),
    ("ALG", "19", "elderly users: age-friendly service 适老化"),
    ("ALG", "21", "no unreasonable price differences by preference or habit 不得大数据杀熟"),
    ("PIPL", "24", "automated decisions transparent and fair 自动化决策透明公平"),
]


def _kinds(ctx: AuditContext) -> list[str]:
    apps = ctx.manifest.applications
    kinds = []
    if apps.recommendation and apps.recommendation.enabled:
        kinds.append("个性化推送类 personalized push")
    if apps.search and apps.search.enabled and apps.search.personalized:
        kinds.append("排序精选类 ranking and selection")
    if apps.pricing and apps.pricing.enabled and apps.pricing.personalized:
        kinds.append("调度决策类 scheduling and decision (pricing)")
    return kinds or ["— (no recommendation algorithm enabled)"]


def _card_rows(cards: list[dict[str, Any]]) -> list[list[str]]:
    rows = []
    for c in cards:
        cats = c.get("feature_categories") or {}
        rows.append([str(c.get("tag", "")), str(c.get("model", "")),
                     " – ".join(str(x) for x in c.get("training_window", [])),
                     ", ".join(f"{k}: {v}" for k, v in (c.get("data_size") or {}).items()),
                     ", ".join(f"{f} ({cats.get(f, '?')})" for f in c.get("features", []))])
    return rows


def filing_document(ctx: AuditContext, result: AuditResult) -> Document:
    m = ctx.manifest
    apps = m.applications
    doc = Document(f"算法备案信息（草稿） Algorithm filing draft — {m.organization.name}")
    rec_tags = apps.recommendation.tags if apps.recommendation else []
    doc.section("1. Algorithm 算法基本情况").table(["item", "value"], [
        ["name 算法名称", f"{m.organization.name} 个性化推荐算法 (profile-based recommendation)"],
        ["type 算法类型", "; ".join(_kinds(ctx))],
        ["filing record 备案编号", m.governance.algorithm_filing.number
         if m.governance.algorithm_filing else "— (not filed)"],
        ["principle 基本原理", "user profile tags computed from declared fields (SQL aggregates "
         "over time windows, predictive models) rank items and select audiences"],
        ["purpose 运行目的", ", ".join(sorted({t.purpose for t in m.tags}))],
        ["mechanism 主要运行机制", f"tags used for recommendation: {', '.join(rec_tags) or '—'}; "
         "consent, objection and non-personalized choices are applied before every build; "
         "users can correct or delete tags"],
    ])
    rows = []
    for info in ctx.tags.tags:
        rows.append([info.name, info.tag.kind, info.tag.purpose, ", ".join(info.fields) or
                     (info.tag.model or "—"),
                     ", ".join(f"{c} ({cn_level(c)})" for c in info.categories) or "—",
                     "refused: " + "; ".join(r.message for r in info.refusals)
                     if info.refused else "built"])
    doc.section("2. Data used and categories 使用的数据及类别").table(
        ["tag", "kind", "purpose", "fields / model", "categories (CN level)", "status"], rows)
    cards = ctx.warehouse.model_cards if ctx.warehouse else []
    models = doc.section("3. Models 模型")
    if cards:
        models.table(["tag", "model", "training window", "data size", "features (category)"],
                     _card_rows(cards))
    else:
        models.para("No model cards in the current snapshot (no predictive tag built).")
    assess = doc.section("4. Self-assessment 安全自评估")
    rows = []
    for law, article, item in SELF_ASSESSMENT:
        found = [f for f in result.findings if f.law == law and f.article == article]
        state = ("open: " + "; ".join(f.message for f in found[:3])) if found else "met 符合"
        rows.append([f"{law} {article}", item, state])
    assess.table(["article", "item", "state (from the audit)"], rows)
    doc.section("5. Sign-off 签字").table(["role", "name", "date"],
                                        [["algorithm owner 算法负责人", "", ""],
                                         ["security officer 安全负责人", "", ""]])
    return doc
