"""CN_ADDRESS: mainland China postal addresses down to a street number.

Format (GB/T 2260 divisions + street addressing): optional province (``广东省``,
``北京市``, ``广西壮族自治区``), optional prefecture (``…市``, ``…州``, ``…盟``), optional county
level (``…区``, ``…县``, ``…旗``), then a road (``…路``, ``…街``, ``…大道``, ``…巷``,
``…胡同``, ``…弄``) and a number (``88号``, ``3弄``, ``F座``), then optional building, unit and
room (``5栋2单元301室``). A road and number alone score low (a shop sign); a province or
prefecture in front raises the score. A match that starts before a province name (``请寄到
北京市…``) is trimmed to start at the province, and lead-in words such as ``地址：`` never
become part of the address because the county/city parts may not contain them.
"""

from __future__ import annotations

import re
from typing import ClassVar

import pyarrow as pa

from profileguard.collect.recognizers.base import Match, Pattern, Recognizer

__all__ = ["AddressRecognizer"]

PROVINCES = (
    "北京", "天津", "上海", "重庆", "河北", "山西", "辽宁", "吉林", "黑龙江", "江苏", "浙江",
    "安徽", "福建", "江西", "山东", "河南", "湖北", "湖南", "广东", "海南", "四川", "贵州",
    "云南", "陕西", "甘肃", "青海", "台湾", "内蒙古", "广西", "西藏", "宁夏", "新疆", "香港",
    "澳门",
)
_PROV = "(?:" + "|".join(PROVINCES) + r")(?:省|市|壮族自治区|回族自治区|维吾尔自治区|自治区|特别行政区)?"
_STOP = "地址住寄到送在是的请我你他她您"
_UNIT = rf"[^\W\d_{_STOP}]"
_CITY = rf"{_UNIT}{{1,6}}?(?:市|自治州|州|地区|盟)"
_COUNTY = rf"{_UNIT}{{1,6}}?(?:区|县|旗|市|镇|乡)"
_ROAD = rf"[^\W_{_STOP}]{{1,10}}?(?:大道|大街|路|街|巷|胡同|弄|道|里)"
_NUMBER = r"[0-9一二三四五六七八九十百零]{1,5}(?:号院|号|弄|巷)|[0-9A-Za-z]{1,3}座"
_DETAIL = r"(?:[0-9A-Za-z一二三四五六七八九十\-]{1,6}(?:号楼|栋|幢|座|单元|层|楼|室|号))*"
_FULL = rf"(?P<prov>{_PROV})?(?P<city>{_CITY})?(?P<county>{_COUNTY})?(?P<road>{_ROAD})(?:{_NUMBER}){_DETAIL}"
_PROV_RE = re.compile(_PROV)


class AddressRecognizer(Recognizer):
    """Chinese postal address (收货地址 / 详细地址)."""

    entity = "CN_ADDRESS"
    category = "user.contact.address"
    prefilter = r"(?:路|街|大道|巷|胡同|弄|道|里)[0-9一二三四五六七八九十百零A-Za-z]{1,5}(?:号|弄|巷|座)"
    patterns: ClassVar[tuple[Pattern, ...]] = (Pattern("division_road_number", _FULL, 0.6),)
    context = ("地址", "收货", "住址", "寄到", "送到", "住在", "address", "addr", "street",
               "shipping", "delivery", "consignee")
    negative_context = ("店铺", "门店", "仓库", "shop", "store", "warehouse", "merchant", "商家")

    def __init__(self) -> None:
        super().__init__()
        self._full = re.compile(_FULL)

    def analyze_column(self, texts: pa.Array, column: str = "") -> list[Match]:
        return [self._rescore(m, texts) for m in super().analyze_column(texts, column)]

    def _rescore(self, match: Match, texts: pa.Array) -> Match:
        """Raise the score by how many administrative levels lead the road, and trim the
        start to the province name when the match began in front of it."""
        text: str = texts[match.row].as_py()
        span = text[match.start:match.end]
        start = match.start
        prov = _PROV_RE.search(span)
        if prov and prov.start() > 0:
            start += prov.start()
            span = span[prov.start():]
        m = self._full.match(span)
        levels = sum(1 for g in ("prov", "city", "county") if m and m.group(g))
        score = min(1.0, match.score + 0.12 * levels)
        return Match(match.row, start, match.end, match.type, round(score, 3))

    def mask(self, value: str) -> str:
        """Administrative part kept, street and number hidden: ``广东省深圳市****``."""
        m = self._full.match(value)
        if m and m.group("road"):
            return value[: m.start("road")] + "****"
        return value[:4] + "****"
