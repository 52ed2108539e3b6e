"""CN_RESIDENT_ID: the 18-character citizen identity number of mainland China.

Format (GB 11643-1999): six-digit administrative region code, eight-digit birth date
``YYYYMMDD`` (digits 7–14), three-digit sequence (odd for men), and a check character
(digit or ``X``) from the weighted sum mod 11. A match must pass all three checks: the
check character, a real birth date not in the future, and a first-two-digit province code
that exists (GB/T 2260). The old 15-digit form (before 1999) is not recognized.
"""

from __future__ import annotations

from typing import ClassVar

import numpy as np

from profileguard.collect.recognizers.base import DIGIT_NEGATIVE_CONTEXT, Pattern, Recognizer
from profileguard.collect.recognizers.checksums import gb11643_valid, valid_dates

__all__ = ["PROVINCE_CODES", "ResidentIdRecognizer", "valid_resident_ids"]

#: first two digits of GB/T 2260 region codes: 31 provincial-level divisions, Taiwan (71),
#: Hong Kong (81) and Macao (82); 83 is used by residence permits of Taiwan residents
#: (港澳台居民居住证 share the format, with 810000 / 820000 / 830000)
PROVINCE_CODES = frozenset(
    {"11", "12", "13", "14", "15", "21", "22", "23", "31", "32", "33", "34", "35", "36", "37",
     "41", "42", "43", "44", "45", "46", "50", "51", "52", "53", "54", "61", "62", "63", "64",
     "65", "71", "81", "82", "83"}
)


def valid_resident_ids(values: list[str]) -> np.ndarray:
    """Check character, birth date and province code of each 18-character candidate."""
    region = np.array([v[:2] in PROVINCE_CODES for v in values], dtype=bool)
    born = valid_dates([v[6:14] for v in values])
    valid: np.ndarray = gb11643_valid(values) & born & region
    return valid


class ResidentIdRecognizer(Recognizer):
    """Chinese resident identity card number (居民身份证号码), GB 11643-1999."""

    entity = "CN_RESIDENT_ID"
    category = "user.government_id.national_identification_number"
    prefilter = r"\d{17}[\dXx]"
    patterns: ClassVar[tuple[Pattern, ...]] = (
        Pattern(
            "gb11643",
            r"(?<!\d)[1-9]\d{5}(?:18|19|20)\d{2}(?:0[1-9]|1[0-2])(?:0[1-9]|[12]\d|3[01])\d{3}[\dXx](?![\dXx])",
            0.9,
        ),
    )
    context = ("身份证", "证件", "公民身份", "idcard", "id_card", "id_no", "id_number",
               "identity", "national_id", "citizen_id", "sfz", "sfzh")
    negative_context = DIGIT_NEGATIVE_CONTEXT

    def validate_result(self, values: list[str]) -> np.ndarray:
        return valid_resident_ids(values)

    def mask(self, value: str) -> str:
        """``110***********1234``: region prefix and the last four kept."""
        return value[:3] + "*" * (len(value) - 7) + value[-4:]
