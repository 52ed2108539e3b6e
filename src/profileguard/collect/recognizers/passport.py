"""CN_PASSPORT: passport numbers of the People's Republic of China.

Format (exit-entry administration numbering): ordinary passports ``E`` + 8 digits, the
2019 series ``E`` + a letter + 7 digits, older ``G`` + 8 digits; diplomatic, service and
public-affairs passports ``DE``/``SE``/``PE`` + 7 digits. A bare letter-and-digits code is
also what many SKUs look like, so the pattern score is modest and context (护照, passport)
decides; product and order words lower it. A following capital or digit means a longer
code, a following lower-case letter does not (``E12345678ip=…``).
"""

from __future__ import annotations

from typing import ClassVar

from profileguard.collect.recognizers.base import DIGIT_NEGATIVE_CONTEXT, Pattern, Recognizer

__all__ = ["PassportRecognizer"]


class PassportRecognizer(Recognizer):
    """Chinese passport number (护照号码)."""

    entity = "CN_PASSPORT"
    category = "user.government_id.passport_number"
    prefilter = r"[EGDSP][A-Z0-9]\d{7}"
    patterns: ClassVar[tuple[Pattern, ...]] = (
        Pattern(
            "passport",
            r"(?<![A-Za-z0-9])(?:[EG]\d{8}|E[A-HJ-NP-Z]\d{7}|[DSP]E\d{7})(?![A-Z0-9])",
            0.55,
        ),
    )
    context = ("护照", "passport", "证件", "旅行证", "出入境")
    negative_context = (*DIGIT_NEGATIVE_CONTEXT, "型号", "货号", "model", "product", "item")

    def mask(self, value: str) -> str:
        """``E******78``: series letter and last two digits kept."""
        return value[:1] + "*" * (len(value) - 3) + value[-2:]
