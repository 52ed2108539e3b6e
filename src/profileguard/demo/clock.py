"""Time in the demo: one integer clock, the shop's declared start, and shoppers' hours.

Every timestamp is an ``int64`` count of seconds since 1970-01-01 of *naive local time*
(Asia/Shanghai), so arithmetic stays vectorised and writing ``timestamp[s]`` gives the
contract's ``'YYYY-MM-DD HH:MM:SS'``. Epoch seconds (the foreign extract) subtract 8 hours.
"""

from __future__ import annotations

from datetime import date, datetime

import numpy as np
import numpy.typing as npt

from profileguard.errors import ProfileguardError

DAY = 86_400
HOUR = 3_600
SHANGHAI_OFFSET = 8 * HOUR
SHOP_START = datetime(2024, 1, 1)
"""The shop's declared start: orders before it are dirt the collection gate quarantines."""
NOTICE_2025_2 = datetime(2025, 2, 15)
"""When privacy notice ``2025.2`` replaced ``2024.1``."""
MIN_HISTORY_DAYS = 180

# Share of shopping activity per hour of day (late morning and evening peaks).
_HOURLY = np.array(
    [
        2.0,
        1.2,
        0.7,
        0.4,
        0.3,
        0.4,
        0.8,
        1.6,
        2.6,
        3.6,
        4.6,
        5.0,
        4.8,
        4.2,
        4.0,
        4.1,
        4.3,
        4.5,
        4.8,
        5.8,
        6.8,
        7.2,
        6.4,
        4.0,
    ],
    dtype=np.float64,
)
HOUR_PROBABILITY = _HOURLY / _HOURLY.sum()

IntArray = npt.NDArray[np.int64]


def seconds(moment: datetime | date) -> int:
    """A naive local datetime (or a date at midnight) on the demo clock."""
    if not isinstance(moment, datetime):
        moment = datetime(moment.year, moment.month, moment.day)
    return int((moment.replace(tzinfo=None) - datetime(1970, 1, 1)).total_seconds())


def check_as_of(as_of: datetime) -> int:
    """The demo clock's "now"; it must leave enough history after :data:`SHOP_START`."""
    now = seconds(as_of)
    if now - seconds(SHOP_START) < MIN_HISTORY_DAYS * DAY:
        raise ProfileguardError(
            f"--as-of {as_of:%Y-%m-%d} is too early: the demo shop opened on "
            f"{SHOP_START:%Y-%m-%d} (orders before it are planted dirt) and needs at least "
            f"{MIN_HISTORY_DAYS} days of history; use a later date"
        )
    return now


def at_shopping_hour(rng: np.random.Generator, days: IntArray) -> IntArray:
    """Instants on the given day starts (multiples of :data:`DAY`) at realistic hours."""
    hours = rng.choice(24, size=len(days), p=HOUR_PROBABILITY)
    return days + hours * HOUR + rng.integers(0, HOUR, size=len(days))


def day_start(instants: IntArray) -> IntArray:
    """Midnight of each instant's day."""
    return instants - instants % DAY
