"""CN_MOBILE: mainland China mobile numbers.

Format: 11 digits ``1[3-9]X XXXX XXXX`` (MIIT numbering plan). Accepted spellings:
``13812345678``; ``+86 138…``, ``+86-138…``, ``0086138…``, ``(+86)138…``; groups split by
spaces or dashes (``138 1234 5678``, ``138-1234-5678``); full-width digits (normalized to
ASCII first, offsets unchanged). The number must not sit inside a longer digit run: an
11-digit window of an 18-digit order number or a 14-digit timestamp is not a phone.
"""

from __future__ import annotations

from typing import ClassVar

from profileguard.collect.recognizers.base import DIGIT_NEGATIVE_CONTEXT, Pattern, Recognizer

__all__ = ["MobileRecognizer"]

_BODY = r"1[3-9]\d(?P<s>[ -]?)\d{4}(?P=s)\d{4}"


class MobileRecognizer(Recognizer):
    """Mainland China mobile phone number (手机号码)."""

    entity = "CN_MOBILE"
    category = "user.contact.phone_number"
    prefilter = r"1[3-9]\d[ -]?\d{4}[ -]?\d{4}"
    patterns: ClassVar[tuple[Pattern, ...]] = (
        Pattern("with_country_code", r"(?:(?<![\d+])\+|(?<!\d)00|\(\+?)86\)?[ -]?" + _BODY + r"(?!\d)", 0.75),
        Pattern("national", r"(?<![\d+])" + _BODY + r"(?!\d)", 0.65),
    )
    context = ("手机", "电话", "联系方式", "联系电话", "致电", "tel", "phone", "mobile", "cell",
               "contact", "whatsapp", "wechat", "微信")
    negative_context = DIGIT_NEGATIVE_CONTEXT

    def mask(self, value: str) -> str:
        """``138****5678``: the carrier prefix and the last four digits kept."""
        digits = "".join(c for c in value if c.isdigit())[-11:]
        return digits[:3] + "****" + digits[-4:]
