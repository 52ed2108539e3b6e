"""Check-digit algorithms computed with numpy over a batch of candidates.

Hand-written rather than taken from python-stdnum because (a) stdnum checks one string at a
time in Python, and a column can hold a million candidates, and (b) its Chinese resident-id
module also rejects valid ids whose region code is not in its own table (REFERENCE.md), which
this project checks separately. Both algorithms are a few lines of arithmetic:

* Luhn (ISO/IEC 7812-1): from the right, double every second digit, subtract 9 when the
  result exceeds 9; valid when the sum is divisible by 10.
* GB 11643-1999 resident id: weights 7 9 10 5 8 4 2 1 6 3 7 9 10 5 8 4 2 on the first 17
  digits; the check character is ``"10X98765432"[sum mod 11]``.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict

import numpy as np

__all__ = ["gb11643_valid", "luhn_valid", "valid_dates"]

_ID_WEIGHTS = np.array([7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2], dtype=np.int64)
_ID_CHECK = np.frombuffer(b"10X98765432", dtype=np.uint8)
_DAYS = np.array([0, 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31], dtype=np.int64)


def _digit_matrix(values: list[str], length: int) -> np.ndarray:
    """``n`` strings of ``length`` ASCII characters → an ``n × length`` array of byte values."""
    buf = "".join(values).encode("ascii")
    return np.frombuffer(buf, dtype=np.uint8).reshape(len(values), length)


def luhn_valid(values: list[str]) -> np.ndarray:
    """Luhn check of digit-only strings (any mix of lengths); True where valid."""
    out = np.zeros(len(values), dtype=bool)
    groups: dict[int, list[int]] = defaultdict(list)
    for i, v in enumerate(values):
        if v.isdigit() and v.isascii():
            groups[len(v)].append(i)
    for length, idx in groups.items():
        digits = _digit_matrix([values[i] for i in idx], length).astype(np.int64) - 48
        # positions counted from the right: 0, 1, 2 … ; every odd one is doubled
        doubled = np.zeros(length, dtype=bool)
        doubled[length - 2 :: -2] = True
        d = digits.copy()
        d[:, doubled] *= 2
        d[d > 9] -= 9
        out[np.array(idx)] = d.sum(axis=1) % 10 == 0
    return out


def gb11643_valid(values: list[str]) -> np.ndarray:
    """GB 11643 check character of 18-character ids (17 digits + digit or X)."""
    out = np.zeros(len(values), dtype=bool)
    idx = [i for i, v in enumerate(values) if len(v) == 18 and v.isascii()]
    if not idx:
        return out
    chars = _digit_matrix([values[i].upper() for i in idx], 18)
    body = chars[:, :17].astype(np.int64) - 48
    body_ok = ((body >= 0) & (body <= 9)).all(axis=1)
    expected = _ID_CHECK[(np.clip(body, 0, 9) @ _ID_WEIGHTS) % 11]
    out[np.array(idx)] = body_ok & (chars[:, 17] == expected)
    return out


def valid_dates(yyyymmdd: list[str], earliest: int = 1900) -> np.ndarray:
    """Whether each 8-digit ``YYYYMMDD`` is a real calendar date between ``earliest`` and today."""
    out = np.zeros(len(yyyymmdd), dtype=bool)
    idx = [i for i, v in enumerate(yyyymmdd) if len(v) == 8 and v.isdigit() and v.isascii()]
    if not idx:
        return out
    n = np.array([int(yyyymmdd[i]) for i in idx], dtype=np.int64)
    year, month, day = n // 10000, (n // 100) % 100, n % 100
    leap = ((year % 4 == 0) & (year % 100 != 0)) | (year % 400 == 0)
    month_ok = (month >= 1) & (month <= 12)
    max_day = _DAYS[np.clip(month, 0, 12)] - ((month == 2) & ~leap)
    today = int(dt.date.today().strftime("%Y%m%d"))
    ok = month_ok & (day >= 1) & (day <= max_day) & (year >= earliest) & (n <= today)
    out[np.array(idx)] = ok
    return out
