"""The public transparency page (ALG 16; paper §5.4), generated from the manifest, the
snapshot's model cards and the records — nothing on it is written by hand.

It says that algorithmic recommendation and profiling are used, on what principle, for
which purposes and by what main mechanism; lists the tag catalog in plain words; tells
how to turn personalization off; and gives statistics of rights requests and complaints.
"""

from __future__ import annotations

import json
from typing import Any

from profileguard.model import snapshot
from profileguard.server.state import ServerState
from profileguard.server.stats import statistics
from profileguard.taxonomy.purposes import is_profiling

TEXT = {
    "intro": ("{org}使用算法推荐和用户画像。本页说明我们如何使用、为何使用，以及您如何关闭。",
              "{org} uses algorithmic recommendation and user profiling. This page says how "
              "and why, and how you can turn it off."),
    "filing": ("算法备案编号：{n}（{d}）", "Algorithm filing number: {n} ({d})"),
    "use_t": ("我们使用什么", "What we use"),
    "use_rec": ("个性化推荐：根据您近期浏览、加购和购买的商品，推荐相似或同类的热门商品。",
                "Personalized recommendation: items similar to, or popular in the categories "
                "of, what you recently viewed, carted and bought."),
    "use_tags": ("用户画像：{n}个标签，每个标签都是对您数据的明确计算，可在隐私中心查看原因。",
                 "Profiling: {n} tags, each a stated calculation over your data; the privacy "
                 "center shows why each one applies to you."),
    "principle_t": ("基本原理", "Principle"),
    "principle": ("推荐分数 = 与您互动过的商品的相似度（按时间衰减）+ 您偏好品类中的热门程度。"
                  "每条推荐都注明“因为您浏览/购买了某商品”。标签不作为推荐的输入；"
                  "敏感信息不用于推荐或人群圈选。",
                  "A recommendation's score is the similarity to items you interacted with "
                  "(recent ones count more) plus popularity within the categories you prefer. "
                  "Each one says which of your items it came from. Tags are not inputs to "
                  "recommendations, and sensitive information is used for neither "
                  "recommendations nor audiences."),
    "purposes_t": ("用途", "Purposes"),
    "models_t": ("预测模型", "Predictive models"),
    "off_t": ("如何关闭", "How to turn it off"),
    "off": ("在隐私中心（/me）可一键“停止为我建立画像”，也可选择“不针对我个人特征的推荐”；"
            "可按用途撤回同意、删除或更正单个标签、下载或删除您的数据。撤回与同意一样只需一步。",
            "In the privacy center (/me) one switch stops profiling you, another gives you "
            "recommendations not based on you; you can withdraw consent per purpose, delete "
            "or correct single tags, download or delete your data. Withdrawing takes one step, "
            "like giving consent."),
    "tags_t": ("标签目录", "Tag catalog"),
    "tag_h": (("标签", "类型", "用途", "含义"), ("Tag", "Kind", "Purpose", "What it means")),
    "fact": ("事实", "fact"), "prediction": ("预测", "prediction"),
    "stats_t": ("权利请求与投诉统计", "Rights requests and complaints handled"),
    "stat_h": (("类别", "类型", "状态", "数量"), ("Area", "Kind", "State", "Count")),
    "rights": ("权利请求", "rights request"), "complaint": ("投诉", "complaint"),
    "in_time": ("按期办结", "closed within the deadline"),
    "stopped": ("停止画像的用户", "people who stopped profiling"),
    "non_pers": ("选择非个性化的用户", "people who chose non-personalized results"),
}


def _t(key: str, lang: str) -> Any:
    return TEXT[key][1 if lang == "en" else 0]


def _model_cards(state: ServerState) -> list[str]:
    snap = snapshot.current(state.svc.engine)
    if snap is None or not state.svc.engine.table_exists(snap.cards):
        return []
    out = []
    for tag, card in state.svc.engine.query_rows(f"SELECT tag, card FROM {snap.cards}"):
        try:
            data = json.loads(card)
        except ValueError:
            continue
        summary = data.get("summary") or data.get("description") or data.get("model") or ""
        out.append(f"{tag}: {summary}" if summary else str(tag))
    return out


def page(state: ServerState, lang: str) -> dict[str, Any]:
    m = state.svc.manifest
    org = m.organization.name
    filing = m.governance.algorithm_filing
    built = [i for i in state.svc.catalog.buildable]
    rec = m.applications.recommendation
    uses = [_t("use_tags", lang).format(n=len(built))]
    if rec is not None and rec.enabled:
        uses.insert(0, _t("use_rec", lang))
    purposes = [f"{name}: {p.description or p.basis}" for name, p in m.purposes.items()
                if (p.profiling if p.profiling is not None else is_profiling(name))]
    sections = [
        {"title": _t("use_t", lang), "paras": uses, "items": []},
        {"title": _t("principle_t", lang), "paras": [_t("principle", lang)], "items": []},
        {"title": _t("purposes_t", lang), "paras": [], "items": purposes},
        {"title": _t("off_t", lang), "paras": [_t("off", lang)], "items": []},
    ]
    cards = _model_cards(state)
    if cards:
        sections.insert(2, {"title": _t("models_t", lang), "paras": [], "items": cards})
    tags = []
    for info in built:
        t = info.tag
        kind = _t("prediction" if t.kind == "predictive" else "fact", lang)
        title = (t.title.en if lang == "en" else t.title.zh) or t.name
        meaning = (t.explanation.en if lang == "en" else t.explanation.zh) or t.description
        tags.append([title, kind, t.purpose, meaning.replace("{", "").replace("}", "")])
    stats = statistics(state)
    rows: list[list[Any]] = []
    for r in stats["rights_requests"]:
        rows.append([_t("rights", lang), r["kind"], r["state"], r["count"]])
    rows.append([_t("rights", lang), "", _t("in_time", lang),
                 f"{stats['rights_closed_in_time']} / {stats['rights_closed']}"])
    for c in stats["complaints"]:
        rows.append([_t("complaint", lang), c["kind"], c["state"], c["count"]])
    rows.append(["", "", _t("stopped", lang), stats["people_who_stopped_profiling"]])
    rows.append(["", "", _t("non_pers", lang), stats["people_who_chose_non_personalized"]])
    return {
        "intro": _t("intro", lang).format(org=org),
        "filing": _t("filing", lang).format(n=filing.number, d=filing.date) if filing else "",
        "sections": sections, "tags_title": _t("tags_t", lang),
        "tag_headers": _t("tag_h", lang), "tags": tags,
        "stats_title": _t("stats_t", lang), "stat_headers": _t("stat_h", lang), "stats": rows,
    }
