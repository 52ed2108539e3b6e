"""Labelled test values for ``benchmarks/scan.py``: Chinese personal information in
structured columns and in free text, plus negatives (order numbers, timestamps, tracking
numbers, prices, SKUs) — every value with the gold spans of the entities it holds.

Generated with a seeded Faker (zh_CN) and seeded ``random``; card numbers get a computed
Luhn digit, resident ids come from Faker's ``ssn()`` (valid check characters).
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field

from faker import Faker

Span = tuple[str, int, int]


@dataclass
class Column:
    name: str
    values: list[str] = field(default_factory=list)
    gold: list[list[Span]] = field(default_factory=list)

    def add(self, text: str, spans: list[Span]) -> None:
        self.values.append(text)
        self.gold.append(spans)


def _luhn_complete(body: str) -> str:
    total = 0
    for i, ch in enumerate(reversed(body)):
        d = int(ch)
        if i % 2 == 0:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return body + str((10 - total % 10) % 10)


class Generator:
    def __init__(self, seed: int = 42) -> None:
        self.r = random.Random(seed)
        Faker.seed(seed)
        self.f = Faker("zh_CN")

    def digits(self, n: int) -> str:
        return "".join(self.r.choice("0123456789") for _ in range(n))

    # -- positives -----------------------------------------------------------------------

    def mobile(self) -> str:
        core = "1" + self.r.choice("3456789") + self.digits(9)
        style = self.r.randrange(7)
        if style == 1:
            return f"{core[:3]} {core[3:7]} {core[7:]}"
        if style == 2:
            return f"{core[:3]}-{core[3:7]}-{core[7:]}"
        if style == 3:
            return "+86 " + core
        if style == 4:
            return "0086" + core
        if style == 5:
            return core.translate(str.maketrans("0123456789", "０１２３４５６７８９"))
        return core

    def resident_id(self) -> str:
        return str(self.f.ssn())

    def card(self) -> str:
        kind = self.r.randrange(5)
        if kind <= 1:
            body = "62" + self.digits(self.r.choice((13, 14, 15, 16)))
        elif kind == 2:
            body = "4" + self.digits(14)
        elif kind == 3:
            body = str(self.r.randint(51, 55)) + self.digits(13)
        else:
            body = "35" + str(self.r.randint(28, 89)) + self.digits(11)
        number = _luhn_complete(body)
        if self.r.random() < 0.2 and len(number) == 16:
            return " ".join(number[i:i + 4] for i in range(0, 16, 4))
        return number

    def email(self) -> str:
        return str(self.f.email() if self.r.random() < 0.5 else self.f.free_email())

    def ip(self) -> str:
        kind = self.r.randrange(4)
        if kind <= 1:
            return str(self.f.ipv4_public())
        if kind == 2:
            return str(self.f.ipv6())
        return f"2001:db8::{self.r.randrange(65536):x}:{self.r.randrange(65536):x}"

    def coordinate_pair(self) -> str:
        lat, lon = self.r.uniform(18, 53), self.r.uniform(73, 135)
        return f"{lat:.6f},{lon:.6f}"

    def address(self) -> str:
        province = str(self.f.province())
        city = str(self.f.city())
        district = str(self.f.district()) + self.r.choice(("区", "县"))
        road = str(self.f.street_name())
        number = f"{self.r.randint(1, 999)}号"
        detail = self.r.choice(("", f"{self.r.randint(1, 30)}栋{self.r.randint(1, 6)}单元{self.r.randint(101, 2808)}室",
                                f"{self.r.randint(1, 20)}号楼{self.r.randint(101, 1808)}室"))
        prefix = self.r.choice((province + city, city, province + city))
        return prefix + district + road + number + detail

    def name(self) -> str:
        return str(self.f.name())

    def plate(self) -> str:
        if self.r.random() < 0.7:
            return str(self.f.license_plate()).replace("-", self.r.choice(("", "·", "")))
        prov = self.r.choice("京沪粤浙苏川鄂湘")
        letter = self.r.choice("ABCDEFGH")
        return f"{prov}{letter}{self.r.choice('DF')}{self.r.choice('ABCDEFGHJK0123456789')}{self.digits(4)}"

    def passport(self) -> str:
        if self.r.random() < 0.6:
            return "E" + self.digits(8)
        return "E" + self.r.choice("ABCDEFGHJK") + self.digits(7)

    # -- negatives -----------------------------------------------------------------------

    def order_no(self) -> str:
        return f"20{self.r.randint(20, 25)}{self.r.randint(1, 12):02d}{self.r.randint(1, 28):02d}" + self.digits(10)

    def timestamp(self) -> str:
        return (f"20{self.r.randint(18, 25)}{self.r.randint(1, 12):02d}{self.r.randint(1, 28):02d}"
                f"{self.r.randint(0, 23):02d}{self.r.randint(0, 59):02d}{self.r.randint(0, 59):02d}")

    def tracking(self) -> str:
        return self.r.choice(("SF", "YT", "JT", "ZTO")) + self.digits(self.r.choice((12, 13, 15)))

    def price(self) -> str:
        return f"{self.r.randint(1, 9999)}.{self.r.randint(0, 99):02d}"


STRUCTURED: tuple[tuple[str, str, str], ...] = (
    ("手机号", "CN_MOBILE", "mobile"),
    ("id_card", "CN_RESIDENT_ID", "resident_id"),
    ("card_no", "BANK_CARD", "card"),
    ("email", "EMAIL", "email"),
    ("client_ip", "IP_ADDRESS", "ip"),
    ("location", "GEO_COORDINATE", "coordinate_pair"),
    ("收货地址", "CN_ADDRESS", "address"),
    ("收货人", "PERSON_NAME", "name"),
    ("plate_no", "CN_LICENSE_PLATE", "plate"),
    ("passport_no", "CN_PASSPORT", "passport"),
)

TEXT_CUES: dict[str, tuple[str, ...]] = {
    "CN_MOBILE": ("电话", "手机：", "联系方式 ", "请致电", "call me at "),
    "CN_RESIDENT_ID": ("身份证号", "身份证：", "证件号码 "),
    "BANK_CARD": ("卡号", "银行卡：", "退款到", "card "),
    "EMAIL": ("邮箱", "发票发到", "email: "),
    "IP_ADDRESS": ("登录IP ", "来自", "ip="),
    "GEO_COORDINATE": ("定位", "坐标：", "位置 "),
    "CN_ADDRESS": ("地址：", "请寄到", "送到"),
    "PERSON_NAME": ("收货人：", "姓名：", "联系人"),
    "CN_LICENSE_PLATE": ("车牌", "车牌号：", "停车 "),
    "CN_PASSPORT": ("护照号", "护照：", "passport "),
}
_FILLERS = ("，谢谢", "。", "，麻烦尽快发货", "", " 有问题联系", "，周末也可以", "！")


def generate(total: int = 100_000, seed: int = 42) -> list[Column]:
    """``total`` labelled values: 50 % structured PI, 25 % free text, 25 % negatives."""
    g = Generator(seed)
    per_type = total // 2 // len(STRUCTURED)
    columns: list[Column] = []
    for name, entity, method in STRUCTURED:
        col = Column(name)
        make: Callable[[], str] = getattr(g, method)
        for _ in range(per_type):
            v = make()
            col.add(v, [(entity, 0, len(v))])
        columns.append(col)

    remark = Column("remark")
    makers = {entity: getattr(g, method) for _, entity, method in STRUCTURED}
    for _ in range(total // 4):
        text, spans = "", []
        for entity in g.r.sample(list(makers), g.r.choice((1, 1, 2))):
            text += g.r.choice(TEXT_CUES[entity])
            v = makers[entity]()
            spans.append((entity, len(text), len(text) + len(v)))
            text += v + g.r.choice(_FILLERS)
        remark.add(text, spans)
    columns.append(remark)

    negatives = {
        "order_no": g.order_no, "create_time": g.timestamp, "tracking_no": g.tracking,
        "price": g.price,
    }
    per_neg = (total - sum(len(c.values) for c in columns)) // (len(negatives) + 1)
    for name, make in negatives.items():
        col = Column(name)
        for _ in range(per_neg):
            col.add(make(), [])
        columns.append(col)
    note = Column("buyer_note")
    notes = ("订单号{o}请尽快发货", "下单时间{t}，运单号{k}", "商品编号{o}已缺货", "快递单号{k}，谢谢",
             "价格{p}元，订单{o}", "请在{t}之前送达")
    while sum(len(c.values) for c in columns) + len(note.values) < total:
        tpl = g.r.choice(notes)
        note.add(tpl.format(o=g.order_no(), t=g.timestamp(), k=g.tracking(), p=g.price()), [])
    columns.append(note)
    return columns
