"""BANK_CARD: payment card numbers (UnionPay and the international schemes).

Format (ISO/IEC 7812): 15–19 digits, last digit a Luhn check digit, written contiguous or in
groups of four separated by single spaces or dashes (``6222 0212 3456 7890 123``). A
candidate must also carry a known scheme prefix with a length that scheme issues:

=================  ========================  =========
scheme             prefix                    lengths
=================  ========================  =========
UnionPay (银联)     62, 81                    16–19
Visa               4                         16, 19
Mastercard         51–55, 2221–2720          16
JCB                3528–3589                 16–19
Discover           6011, 65, 644–649         16–19
Amex               34, 37                    15
Maestro            50, 56–58, 63, 67         16–19
=================  ========================  =========

Presidio's credit-card pattern stops at 16 digits and relies on ``\\b``; here 19-digit
UnionPay debit cards and cards touching Chinese text (``卡号6222…，``) are found. An
18-digit candidate that is also a valid resident id is left to ``CN_RESIDENT_ID``.
"""

from __future__ import annotations

from typing import ClassVar

import numpy as np

from profileguard.collect.recognizers.base import DIGIT_NEGATIVE_CONTEXT, Pattern, Recognizer
from profileguard.collect.recognizers.checksums import luhn_valid
from profileguard.collect.recognizers.resident_id import valid_resident_ids

__all__ = ["BankCardRecognizer", "scheme_ok"]


def scheme_ok(digits: str) -> bool:
    """Whether ``digits`` starts with a card-scheme prefix issued at this length."""
    n = len(digits)
    p2, p4 = int(digits[:2]), int(digits[:4])
    if digits[0] == "4":
        return n in (16, 19)
    if 51 <= p2 <= 55 or 2221 <= p4 <= 2720:
        return n == 16
    if p2 in (34, 37):
        return n == 15
    if n < 16:
        return False
    return (
        p2 in (62, 81, 65, 50, 56, 57, 58, 63, 67)
        or 3528 <= p4 <= 3589
        or p4 == 6011
        or 644 <= p4 // 10 <= 649
    )


class BankCardRecognizer(Recognizer):
    """Bank card number (银行卡号), Luhn-checked, with a scheme prefix."""

    entity = "BANK_CARD"
    category = "user.financial.credit_card"
    prefilter = r"(?:\d[ -]?){14}\d"
    patterns: ClassVar[tuple[Pattern, ...]] = (
        Pattern("contiguous", r"(?<!\d)\d{15,19}(?!\d)", 0.7),
        Pattern("grouped", r"(?<!\d)\d{4}(?P<s>[ -])\d{4}(?P=s)\d{4}(?P=s)\d{3,4}(?:(?P=s)?\d{1,3})?(?!\d)", 0.7),
        Pattern("amex", r"(?<!\d)3[47]\d{2}(?P<a>[ -])\d{6}(?P=a)\d{5}(?!\d)", 0.7),
    )
    context = ("卡号", "银行卡", "信用卡", "借记卡", "储蓄卡", "银联", "账号", "card", "pan",
               "bank", "credit", "debit", "visa", "mastercard", "unionpay")
    negative_context = DIGIT_NEGATIVE_CONTEXT

    def validate_result(self, values: list[str]) -> np.ndarray:
        digits = [v.replace(" ", "").replace("-", "") for v in values]
        scheme = np.array([15 <= len(d) <= 19 and scheme_ok(d) for d in digits], dtype=bool)
        # an 18-digit string that is a valid resident id (check character, birth date and
        # region all pass — 1 in ~10^4 card numbers) is reported as the id, not as a card
        is_id = valid_resident_ids([d if len(d) == 18 else "" for d in digits])
        valid: np.ndarray = scheme & luhn_valid(digits) & ~is_id
        return valid

    def mask(self, value: str) -> str:
        """``6222 **** **** 0123``-style: first four and last four digits kept."""
        digits = value.replace(" ", "").replace("-", "")
        return digits[:4] + "*" * (len(digits) - 8) + digits[-4:]
