"""Personal-information categories as dotted keys, and their sensitivity per jurisdiction.

Names follow the widely used Fideslang data-category vocabulary where one exists
(``user.contact.email``, ``user.financial.bank_account`` …) so a manifest reads familiar.
A parent key covers its children: a purpose declared for ``user.contact`` covers
``user.contact.phone_number``.

Sensitivity is derived, never typed by hand:

* **CN** — ``sensitive`` for the kinds PIPL Art 28 names (biometrics, religion,
  specific identity, health, financial accounts, whereabouts / precise location,
  identity-document numbers, PI of under-14s); ``sensitive_by_standard`` for the further
  examples of GB/T 35273-2020 Appendix B (transaction and consumption records, browsing
  history, communications, credit records …); ``general`` otherwise.
* **EU** — ``special`` for the GDPR Art 9 special categories; ``general`` otherwise
  (location and finance are *not* special under GDPR).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class CNSensitivity(StrEnum):
    GENERAL = "general"
    SENSITIVE_BY_STANDARD = "sensitive_by_standard"
    SENSITIVE = "sensitive"
    NOT_PERSONAL = "not_personal"


class EUSensitivity(StrEnum):
    GENERAL = "general"
    SPECIAL = "special"
    NOT_PERSONAL = "not_personal"


@dataclass(frozen=True)
class Category:
    key: str
    title_zh: str
    title_en: str
    #: the basis of the CN level, e.g. "PIPL 28" or "GB/T 35273 App. B"; set only where
    #: this key itself (not a parent) is the source of the level
    cn_basis: str | None = None
    cn_level: CNSensitivity | None = None
    eu_special: bool | None = None
    #: a direct identifier (re-identification risk level 1 when present in a release)
    direct_identifier: bool = False

    @property
    def parent(self) -> str | None:
        return self.key.rsplit(".", 1)[0] if "." in self.key else None


_S = CNSensitivity.SENSITIVE
_B = CNSensitivity.SENSITIVE_BY_STANDARD

_CATEGORIES: tuple[Category, ...] = (
    Category("non_personal", "非个人信息", "Not personal information",
             cn_level=CNSensitivity.NOT_PERSONAL, eu_special=False),
    Category("user", "个人信息", "Personal information"),
    Category("user.name", "姓名", "Name", direct_identifier=True),
    Category("user.unique_id", "用户唯一标识", "Unique user id", direct_identifier=True),
    Category("user.unique_id.pseudonymous", "假名化标识", "Pseudonymous id"),
    Category("user.account", "账户信息", "Account"),
    Category("user.account.username", "用户名", "Username", direct_identifier=True),
    Category("user.authorization.credentials", "账户口令", "Credentials", "PIPL 28", _S),
    Category("user.contact", "联系方式", "Contact"),
    Category("user.contact.email", "电子邮箱", "Email", direct_identifier=True),
    Category("user.contact.phone_number", "手机号码", "Phone number", direct_identifier=True),
    Category("user.contact.address", "地址", "Address"),
    Category("user.contact.address.city", "城市", "City"),
    Category("user.contact.address.postal_code", "邮编", "Postal code"),
    Category("user.contact.address.street", "详细地址", "Street address", direct_identifier=True),
    Category("user.government_id", "证件号码", "Government id", "PIPL 28", _S, direct_identifier=True),
    Category("user.government_id.national_identification_number", "居民身份证号",
             "National id number", direct_identifier=True),
    Category("user.government_id.passport_number", "护照号", "Passport number",
             direct_identifier=True),
    Category("user.government_id.license_plate", "车牌号", "Licence plate",
             direct_identifier=True),
    Category("user.demographic", "人口属性", "Demographic"),
    Category("user.demographic.date_of_birth", "出生日期", "Date of birth"),
    Category("user.demographic.age_range", "年龄段", "Age range"),
    Category("user.demographic.gender", "性别", "Gender"),
    Category("user.demographic.marital_status", "婚史", "Marital history", "GB/T 35273 App. B", _B),
    Category("user.demographic.religious_belief", "宗教信仰", "Religious belief", "PIPL 28", _S,
             eu_special=True),
    Category("user.demographic.political_opinion", "政治观点", "Political opinion", "PIPL 28", _S,
             eu_special=True),
    Category("user.demographic.race_or_ethnicity", "种族民族", "Race or ethnicity", "PIPL 28", _S,
             eu_special=True),
    Category("user.demographic.sexual_orientation", "性取向", "Sexual orientation", "PIPL 28", _S,
             eu_special=True),
    Category("user.demographic.specific_identity", "特定身份", "Specific identity", "PIPL 28", _S),
    Category("user.demographic.trade_union", "工会会员", "Trade-union membership",
             eu_special=True),
    Category("user.biometric", "生物识别信息", "Biometrics", "PIPL 28", _S, eu_special=True),
    Category("user.genetic", "基因信息", "Genetic data", "PIPL 28", _S, eu_special=True),
    Category("user.health_and_medical", "医疗健康", "Health and medical", "PIPL 28", _S,
             eu_special=True),
    Category("user.criminal_history", "犯罪记录", "Criminal records", "GB/T 35273 App. B", _S),
    Category("user.childrens", "不满十四周岁未成年人信息", "PI of children under 14", "PIPL 28", _S),
    Category("user.financial", "财产信息", "Financial"),
    Category("user.financial.bank_account", "银行账户", "Bank account", "PIPL 28", _S,
             direct_identifier=True),
    Category("user.financial.credit_card", "银行卡号", "Card number", "PIPL 28", _S,
             direct_identifier=True),
    Category("user.financial.credit_record", "征信记录", "Credit record", "GB/T 35273 App. B", _S),
    Category("user.financial.virtual_property", "虚拟财产", "Virtual property",
             "GB/T 35273 App. B", _B),
    Category("user.payment", "支付信息", "Payment"),
    Category("user.payment.amount", "支付金额", "Payment amount"),
    Category("user.payment.time", "支付时间", "Payment time"),
    Category("user.payment.channel", "支付渠道", "Payment channel"),
    Category("user.payment.record", "交易和消费记录", "Transaction and payment records",
             "GB/T 35273 App. B", _B),
    Category("user.behavior", "行为信息", "Behaviour"),
    Category("user.behavior.purchase_history", "交易和消费记录", "Purchase history",
             "GB/T 35273 App. B", _B),
    Category("user.behavior.browsing_history", "浏览记录", "Browsing history",
             "GB/T 35273 App. B", _B),
    Category("user.behavior.search_history", "搜索记录", "Search history",
             "GB/T 35273 App. B", _B),
    Category("user.behavior.cart_history", "加购记录", "Cart history"),
    Category("user.behavior.reviews", "评价晒单", "Reviews and buyer shows"),
    Category("user.communications", "通信内容", "Communications", "GB/T 35273 App. B", _B),
    Category("user.contacts_list", "通讯录", "Contact list", "GB/T 35273 App. B", _B),
    Category("user.device", "设备信息", "Device"),
    Category("user.device.ip_address", "IP地址", "IP address"),
    Category("user.device.device_id", "设备标识", "Device id"),
    Category("user.device.cookie_id", "Cookie标识", "Cookie id"),
    Category("user.device.os", "操作系统", "Operating system"),
    Category("user.location", "位置信息", "Location"),
    Category("user.location.precise", "精准定位", "Precise location", "PIPL 28", _S),
    Category("user.location.imprecise", "粗略位置", "Imprecise location"),
    Category("user.location.whereabouts", "行踪轨迹", "Whereabouts", "PIPL 28", _S),
    Category("user.accommodation", "住宿信息", "Accommodation", "GB/T 35273 App. B", _B),
    Category("user.profile", "用户画像标签", "Profile tags"),
    Category("user.free_text", "自由文本", "Free text"),
)

CATEGORIES: dict[str, Category] = {c.key: c for c in _CATEGORIES}


def is_category(key: str) -> bool:
    return key in CATEGORIES


def ancestors(key: str) -> list[str]:
    """``a.b.c`` → ``["a.b.c", "a.b", "a"]`` (the key itself first)."""
    parts = key.split(".")
    return [".".join(parts[:i]) for i in range(len(parts), 0, -1)]


def covers(parent: str, child: str) -> bool:
    """A parent key covers its children (and itself)."""
    return child == parent or child.startswith(parent + ".")


def cn_level(key: str) -> CNSensitivity:
    """CN sensitivity of a category: the nearest ancestor that sets a level wins."""
    for k in ancestors(key):
        c = CATEGORIES.get(k)
        if c is not None and c.cn_level is not None:
            return c.cn_level
    return CNSensitivity.GENERAL


def cn_basis(key: str) -> str | None:
    for k in ancestors(key):
        c = CATEGORIES.get(k)
        if c is not None and c.cn_level is not None:
            return c.cn_basis
    return None


def eu_special(key: str) -> bool:
    for k in ancestors(key):
        c = CATEGORIES.get(k)
        if c is not None and c.eu_special is not None:
            return c.eu_special
    return False


def is_direct_identifier(key: str) -> bool:
    return any(CATEGORIES[k].direct_identifier for k in ancestors(key) if k in CATEGORIES)


def is_sensitive(key: str, jurisdictions: tuple[str, ...] | list[str] = ("CN",)) -> bool:
    """True when the category is sensitive (CN level ``sensitive``) or special (EU)."""
    return ("CN" in jurisdictions and cn_level(key) is CNSensitivity.SENSITIVE) or (
        "EU" in jurisdictions and eu_special(key)
    )


def is_personal(key: str) -> bool:
    return covers("user", key)
