"""When a rights request must be answered, by jurisdiction.

* EU (GDPR 12(3)): one month from receipt, extendable once by up to two further months
  (three in total) when the person is told why within the first month.
* CN (PIPL 50 asks for a "convenient mechanism" and prompt handling; the national
  standard GB/T 35273 8.7 uses 15 working days as guidance): configurable, default 15
  days, not extendable unless configured.

Months are calendar months: 31 January + 1 month = 28/29 February (clamped to month end).
"""

from __future__ import annotations

import calendar
import datetime as dt
from dataclasses import dataclass

from profileguard.errors import ProfileguardError

JURISDICTIONS = ("CN", "EU")
_ALIASES = {"GDPR": "EU", "EEA": "EU", "PIPL": "CN", "PRC": "CN"}


def normalize_jurisdiction(value: str) -> str:
    code = _ALIASES.get(value.strip().upper(), value.strip().upper())
    if code not in JURISDICTIONS:
        raise ProfileguardError(f"jurisdiction {value!r} is not supported; use one of "
                                f"{', '.join(JURISDICTIONS)} (aliases: {', '.join(_ALIASES)})")
    return code


def add_months(moment: dt.datetime, months: int) -> dt.datetime:
    """Same day ``months`` later, clamped to the end of a shorter month."""
    index = moment.month - 1 + months
    year, month = moment.year + index // 12, index % 12 + 1
    day = min(moment.day, calendar.monthrange(year, month)[1])
    return moment.replace(year=year, month=month, day=day)


@dataclass(frozen=True)
class DeadlineRules:
    cn_days: int = 15
    #: extra days a CN request may be extended by; None = not extendable
    cn_extension_days: int | None = None
    gdpr_months: int = 1
    gdpr_max_months: int = 3

    def initial(self, jurisdiction: str, received_at: dt.datetime) -> dt.datetime:
        if normalize_jurisdiction(jurisdiction) == "EU":
            return add_months(received_at, self.gdpr_months)
        return received_at + dt.timedelta(days=self.cn_days)

    def latest_extension(self, jurisdiction: str, received_at: dt.datetime) -> dt.datetime:
        """The furthest a deadline may be extended to; raises when it may not be extended."""
        if normalize_jurisdiction(jurisdiction) == "EU":
            return add_months(received_at, self.gdpr_max_months)
        if self.cn_extension_days is None:
            raise ProfileguardError(
                f"CN requests are not extendable under the configured rules (answer within "
                f"{self.cn_days} days); set DeadlineRules.cn_extension_days to allow it"
            )
        return received_at + dt.timedelta(days=self.cn_days + self.cn_extension_days)
