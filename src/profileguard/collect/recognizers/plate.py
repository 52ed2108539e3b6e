"""CN_LICENSE_PLATE: mainland China motor-vehicle licence plates.

Format (GA 36-2018): one province abbreviation character (京, 沪, 粤 …), one letter for
the issuing authority (any capital: ``O`` is used for police vehicles in several provinces,
and generated test data uses ``I``), an optional separator (``·``, space or dash), then
five letters (never I or O) or digits for ordinary plates, or six for new-energy plates (``D``/``F``
followed by five, or five digits followed by ``D``/``F``). Trailers, learners' and police
plates end in 挂, 学 or 警. A following capital or digit means a longer code; a following
lower-case word (``京A12345email: …``) does not.
"""

from __future__ import annotations

from typing import ClassVar

from profileguard.collect.recognizers.base import Pattern, Recognizer

__all__ = ["LicensePlateRecognizer"]

_PROVINCES = "京津沪渝冀豫云辽黑湘皖鲁新苏浙赣鄂桂甘晋蒙陕吉闽贵粤青藏川宁琼"
_L = "A-HJ-NP-Z"


class LicensePlateRecognizer(Recognizer):
    """Chinese vehicle licence plate (车牌号)."""

    entity = "CN_LICENSE_PLATE"
    category = "user.government_id.license_plate"
    prefilter = f"[{_PROVINCES}][A-Z]"
    patterns: ClassVar[tuple[Pattern, ...]] = (
        Pattern(
            "plate",
            f"[{_PROVINCES}][A-Z][·• -]?"
            f"(?:[DF][{_L}0-9]\\d{{4}}|\\d{{5}}[DF]|[{_L}0-9]{{4}}[{_L}0-9挂学警])"
            f"(?![A-Z0-9])",
            0.75,
        ),
    )
    context = ("车牌", "号牌", "车辆", "plate", "license_plate", "vehicle", "car")

    def mask(self, value: str) -> str:
        """``京A***45``: province, city letter and the last two characters kept."""
        return value[:2] + "*" * (len(value) - 4) + value[-2:]
