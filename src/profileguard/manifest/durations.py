"""Durations as written in a manifest: ``30d``, ``12w``, ``6m``, ``3y`` or ``all``."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import timedelta

_RE = re.compile(r"^\s*(\d+)\s*([dwmy])\s*$")
_DAYS = {"d": 1, "w": 7, "m": 30, "y": 365}


@dataclass(frozen=True)
class Duration:
    """A length of time; ``days is None`` means unbounded (``all``)."""

    text: str
    days: int | None

    @property
    def unbounded(self) -> bool:
        return self.days is None

    def as_timedelta(self) -> timedelta | None:
        return None if self.days is None else timedelta(days=self.days)

    def __str__(self) -> str:
        return self.text


def parse_duration(value: object) -> Duration:
    """Parse ``30d`` / ``3y`` / ``all``; raise ``ValueError`` saying what is allowed."""
    if isinstance(value, Duration):
        return value
    text = str(value).strip().lower()
    if text in {"all", "forever", "unbounded"}:
        return Duration("all", None)
    m = _RE.match(text)
    if not m:
        raise ValueError(f"{value!r} is not a duration; use e.g. 30d, 12w, 6m, 3y or all")
    n, unit = int(m.group(1)), m.group(2)
    return Duration(f"{n}{unit}", n * _DAYS[unit])
