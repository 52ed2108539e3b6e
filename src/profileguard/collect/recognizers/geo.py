"""GEO_COORDINATE: latitude/longitude that locate a person precisely.

Two shapes:

* **In text** — a pair of decimal degrees with at least three decimals (≈ 100 m),
  separated by a comma (ASCII or full-width) and optional spaces, with optional ``°`` and
  hemisphere letters: ``39.9042,116.4074``, ``39.9042°N, 116.4074°E``. One value must be a
  latitude (|x| ≤ 90) and the other a longitude (|x| ≤ 180), in either order.
* **By column** — a single decimal number with at least three decimals in a column whose
  name says latitude or longitude (``lat``, ``lng``, ``lon``, ``latitude``, ``longitude``,
  ``纬度``, ``经度``, ``坐标``). Without that column context a lone decimal is a price.

Fewer decimals (city-level precision) are not flagged: that is imprecise location.
"""

from __future__ import annotations

import re
from typing import ClassVar

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from profileguard.collect.recognizers.base import Match, Pattern, Recognizer, has_context

__all__ = ["GeoCoordinateRecognizer"]

_NUM = r"[-+]?\d{1,3}\.\d{3,12}"
_LAT_WORDS = ("lat", "latitude", "纬度")
_LON_WORDS = ("lng", "lon", "longitude", "经度")
_COLUMN_WORDS = (*_LAT_WORDS, *_LON_WORDS, "坐标", "经纬度", "coordinate", "coordinates",
                 "geo", "gps", "location", "定位")
_CELL = re.compile(r"^\s*(?P<v>[-+]?\d{1,3}\.\d{3,12})\s*$")
_NUMBER = re.compile(r"[-+]?\d{1,3}\.\d+")


class GeoCoordinateRecognizer(Recognizer):
    """Latitude/longitude pair in text, or a coordinate column (精准定位)."""

    entity = "GEO_COORDINATE"
    category = "user.location.precise"
    prefilter = r"\d\.\d{3}"
    patterns: ClassVar[tuple[Pattern, ...]] = (
        Pattern(
            "pair",
            r"(?<![\d.])" + _NUM + r"\s*°?\s*[NSns北南]?\s*[,，;]\s*" + _NUM
            + r"\s*°?\s*[EWew东西]?(?![\d.])",
            0.65,
        ),
    )
    context = ("经纬度", "坐标", "定位", "位置", "gps", "location", "lat", "lng", "coord",
               "geo", "position")

    def validate_result(self, values: list[str]) -> np.ndarray:
        out = np.zeros(len(values), dtype=bool)
        for i, v in enumerate(values):
            nums = [abs(float(x)) for x in _NUMBER.findall(v)]
            if len(nums) == 2:
                a, b = nums
                out[i] = (a <= 90 and b <= 180) or (b <= 90 and a <= 180)
        return out

    def analyze_column(self, texts: pa.Array, column: str = "") -> list[Match]:
        if not has_context(column, _COLUMN_WORDS):
            return super().analyze_column(texts, column)
        limit = 90.0 if has_context(column, _LAT_WORDS) and not has_context(column, _LON_WORDS) else 180.0
        hit = pc.fill_null(pc.match_substring_regex(texts, r"^\s*[-+]?\d{1,3}\.\d{3,12}\s*$"), False)
        rows = np.flatnonzero(hit.to_numpy(zero_copy_only=False))
        out: list[Match] = []
        if rows.size:
            cells = pc.take(texts, pa.array(rows)).to_pylist()
            for row, text in zip(rows.tolist(), cells, strict=True):
                m = _CELL.match(text)
                if m and abs(float(m.group("v"))) <= limit:
                    out.append(Match(row, m.start("v"), m.end("v"), self.entity, 0.85))
        pairs = super().analyze_column(texts, column)
        return out + pairs

    def mask(self, value: str) -> str:
        """Each number cut to one decimal: ``39.9*, 116.4*``."""
        return _NUMBER.sub(lambda m: m.group()[: m.group().index(".") + 2] + "*", value)
