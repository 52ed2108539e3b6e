"""Legal bases: the seven of PIPL Art 13 and the six of GDPR Art 6, with ids."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class LegalBasis:
    id: str
    law: str
    article: str
    title_zh: str
    title_en: str


PIPL_BASES: dict[str, LegalBasis] = {
    b.id: b
    for b in (
        LegalBasis("consent", "PIPL", "13(1)", "取得个人的同意", "Consent of the individual"),
        LegalBasis("contract", "PIPL", "13(2)", "订立、履行合同所必需",
                   "Necessary to conclude or perform a contract"),
        LegalBasis("legal_obligation", "PIPL", "13(3)", "履行法定职责或者法定义务所必需",
                   "Necessary for a legal duty or obligation"),
        LegalBasis("emergency", "PIPL", "13(4)", "应对突发公共卫生事件或紧急情况所必需",
                   "Public-health emergency or protection of life, health and property"),
        LegalBasis("news_reporting", "PIPL", "13(5)", "为公共利益实施新闻报道、舆论监督",
                   "News reporting and public-opinion supervision in the public interest"),
        LegalBasis("public_information", "PIPL", "13(6)", "处理已合法公开的个人信息",
                   "Personal information already lawfully made public"),
        LegalBasis("other_law", "PIPL", "13(7)", "法律、行政法规规定的其他情形",
                   "Other cases provided by laws and administrative regulations"),
    )
}

GDPR_BASES: dict[str, LegalBasis] = {
    b.id: b
    for b in (
        LegalBasis("consent", "GDPR", "6(1)(a)", "同意", "Consent"),
        LegalBasis("contract", "GDPR", "6(1)(b)", "合同履行", "Performance of a contract"),
        LegalBasis("legal_obligation", "GDPR", "6(1)(c)", "法定义务", "Legal obligation"),
        LegalBasis("vital_interests", "GDPR", "6(1)(d)", "重大利益", "Vital interests"),
        LegalBasis("public_task", "GDPR", "6(1)(e)", "公共任务", "Public task"),
        LegalBasis("legitimate_interests", "GDPR", "6(1)(f)", "正当利益", "Legitimate interests"),
    )
}

ALL_BASIS_IDS: frozenset[str] = frozenset(PIPL_BASES) | frozenset(GDPR_BASES)


def valid_for(basis: str, jurisdiction: str) -> bool:
    table = PIPL_BASES if jurisdiction == "CN" else GDPR_BASES
    return basis in table
