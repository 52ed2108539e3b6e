"""The purpose vocabulary, with which purposes profile and which are automated marketing."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class PurposeKind:
    name: str
    title_zh: str
    title_en: str
    profiling: bool = False
    automated_marketing: bool = False
    #: the purpose is necessary for the basic service of online shopping (NPI 4)
    basic_service: bool = False


PURPOSES: dict[str, PurposeKind] = {
    p.name: p
    for p in (
        PurposeKind("fulfilment", "订单履约与配送", "Order fulfilment and delivery", basic_service=True),
        PurposeKind("account", "账号注册与管理", "Account registration and management",
                    basic_service=True),
        PurposeKind("payment", "支付结算", "Payment", basic_service=True),
        PurposeKind("customer_service", "客户服务", "Customer service"),
        PurposeKind("personalization", "个性化推荐", "Personalized recommendations",
                    profiling=True),
        PurposeKind("personalized_search", "个性化搜索", "Personalized search", profiling=True),
        PurposeKind("advertising", "定向广告", "Targeted advertising", profiling=True,
                    automated_marketing=True),
        PurposeKind("marketing_communications", "营销信息推送", "Marketing communications",
                    automated_marketing=True),
        PurposeKind("tiered_operations", "分层运营", "Tiered customer operations", profiling=True,
                    automated_marketing=True),
        PurposeKind("analytics", "统计分析与产品改进", "Analytics and product insight"),
        PurposeKind("fraud_prevention", "风控与反欺诈", "Fraud prevention"),
        PurposeKind("security", "账号与交易安全", "Account and transaction security"),
        PurposeKind("legal_obligation", "履行法定义务", "Legal obligation"),
        PurposeKind("pricing", "定价", "Pricing", profiling=True),
        PurposeKind("public_reviews", "评价公开展示", "Public display of reviews"),
    )
}


def is_profiling(purpose: str) -> bool:
    p = PURPOSES.get(purpose)
    return bool(p and p.profiling)


def is_automated_marketing(purpose: str) -> bool:
    p = PURPOSES.get(purpose)
    return bool(p and p.automated_marketing)
