"""EMAIL: e-mail addresses.

Format (RFC 5321 ``local@domain``, the common subset): an ASCII local part of letters,
digits and ``._%+-``; a domain of dot-separated labels ending in an alphabetic top-level
label of two or more letters. Both character classes are ASCII, so an address touching
Chinese text (``邮箱abc@example.com联系``) ends exactly at its last ASCII character, which
``\\b`` alone would not guarantee.
"""

from __future__ import annotations

from typing import ClassVar

import numpy as np

from profileguard.collect.recognizers.base import Pattern, Recognizer

__all__ = ["EmailRecognizer"]


class EmailRecognizer(Recognizer):
    """E-mail address (电子邮箱)."""

    entity = "EMAIL"
    category = "user.contact.email"
    prefilter = r"[A-Za-z0-9_%+-]@[A-Za-z0-9-]+\.[A-Za-z]"
    patterns: ClassVar[tuple[Pattern, ...]] = (
        Pattern(
            "address",
            r"(?<![A-Za-z0-9._%+-])[A-Za-z0-9_%+-](?:[A-Za-z0-9._%+-]{0,63})@"
            r"(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,24}(?![A-Za-z0-9-])",
            0.85,
        ),
    )
    context = ("邮箱", "邮件", "email", "mail", "e-mail")

    def validate_result(self, values: list[str]) -> np.ndarray:
        local = [v.split("@", 1)[0] for v in values]
        return np.array([not lp.endswith(".") and ".." not in lp for lp in local], dtype=bool)

    def mask(self, value: str) -> str:
        """``a***@example.com``: first character of the local part and the domain kept."""
        local, _, domain = value.partition("@")
        return local[:1] + "***@" + domain
