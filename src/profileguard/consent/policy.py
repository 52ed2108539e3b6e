"""What the law and the privacy notice require of a consent: plain data, no I/O.

The :class:`ConsentPolicy` is deliberately not the manifest: the lead adapts the manifest
to it, and tests build one in a few lines. It says

* which notice versions exist, in order, and what each one added (purposes, categories,
  recipients) — a consent given to an older version than the one that added a purpose or
  category in use does not cover that use (PIPL 14);
* which categories need separate consent (单独同意) for which purposes (PIPL 28/29), and
  which need explicit consent (GDPR Art 9);
* the recipients and their role and country — an independent controller (PIPL 23) or a
  recipient abroad (PIPL 39) needs separate consent;
* the age under which a guardian must consent (PIPL 31: 14) and how to learn a user's
  birth date;
* whether pre-ticked or bundled consents count (they do not: PIPL 5/14, GDPR 7).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Literal

from profileguard.errors import ProfileguardError

RecipientRole = Literal["controller", "processor", "joint_controller"]
BirthDateLookup = Callable[[str], dt.date | None]


@dataclass(frozen=True)
class NoticeVersion:
    """One published version of the privacy notice and what it introduced."""

    version: str
    published: dt.date | None = None
    adds_purposes: frozenset[str] = frozenset()
    adds_categories: frozenset[str] = frozenset()
    adds_recipients: frozenset[str] = frozenset()


@dataclass(frozen=True)
class Recipient:
    name: str
    role: RecipientRole = "processor"
    country: str = "CN"


@dataclass(frozen=True)
class ConsentPolicy:
    """The consent rules in force; see the module docstring."""

    #: oldest first; the last one is the version in force unless ``current_version`` says
    notice_versions: tuple[NoticeVersion, ...] = ()
    current_version: str | None = None
    #: purpose → categories that need separate consent when used for that purpose
    separate_consent: Mapping[str, frozenset[str]] = field(default_factory=dict)
    #: categories that need separate consent whatever the purpose (sensitive PI)
    sensitive_categories: frozenset[str] = frozenset()
    #: categories that need explicit consent (GDPR Art 9 special categories)
    explicit_categories: frozenset[str] = frozenset()
    recipients: Mapping[str, Recipient] = field(default_factory=dict)
    home_country: str = "CN"
    guardian_age: int = 14
    birth_date_of: BirthDateLookup | None = None
    accept_pre_ticked: bool = False
    accept_bundled: bool = False

    def __post_init__(self) -> None:
        names = [v.version for v in self.notice_versions]
        if len(set(names)) != len(names):
            raise ProfileguardError(
                f"consent policy: notice versions {names} repeat a version; each version "
                "must appear once, oldest first"
            )
        if self.current_version is not None and self.current_version not in names:
            raise ProfileguardError(
                f"consent policy: current notice version {self.current_version!r} is not "
                f"among the versions {names}"
            )

    # -- notice versions ----------------------------------------------------------------

    @property
    def version_in_force(self) -> str | None:
        if self.current_version is not None:
            return self.current_version
        return self.notice_versions[-1].version if self.notice_versions else None

    def version_rank(self, version: str | None) -> int | None:
        """Position of ``version`` in the ordered list; None when unknown."""
        for i, v in enumerate(self.notice_versions):
            if v.version == version:
                return i
        return None

    def introduced_in(
        self, purpose: str, categories: Iterable[str] = (), recipient: str | None = None
    ) -> tuple[int, str] | None:
        """The latest version that added the purpose, a category or the recipient.

        Returns (rank, what it added) or None when no version added any of them.
        """
        found: tuple[int, str] | None = None
        cats = list(categories)
        for i, v in enumerate(self.notice_versions):
            what: str | None = None
            if purpose in v.adds_purposes:
                what = f"purpose {purpose}"
            for c in cats:
                if any(covers(added, c) for added in v.adds_categories):
                    what = f"category {c}"
            if recipient and recipient in v.adds_recipients:
                what = f"recipient {recipient}"
            if what is not None:
                found = (i, what)
        return found

    # -- what kind of consent is needed ------------------------------------------------

    def separate_reasons(
        self, purpose: str, categories: Iterable[str] = (), recipient: str | None = None
    ) -> list[str]:
        """Why a separate consent is needed for this use (empty when it is not)."""
        reasons: list[str] = []
        per_purpose = self.separate_consent.get(purpose, frozenset())
        for c in categories:
            if any(covers(s, c) for s in self.sensitive_categories):
                reasons.append(f"category {c} is sensitive (PIPL 28/29)")
            elif any(covers(s, c) for s in per_purpose):
                reasons.append(f"category {c} needs separate consent for {purpose}")
        if recipient:
            info = self.recipients.get(recipient)
            if info is None:
                reasons.append(f"recipient {recipient} is not a declared processor (PIPL 23)")
            else:
                if info.role != "processor":
                    reasons.append(f"recipient {recipient} is an independent {info.role} "
                                   "(PIPL 23)")
                if info.country.upper() != self.home_country.upper():
                    reasons.append(f"recipient {recipient} is in {info.country} (PIPL 39)")
        return reasons

    def explicit_reasons(self, categories: Iterable[str] = ()) -> list[str]:
        return [
            f"category {c} is a special category (GDPR 9)"
            for c in categories
            if any(covers(s, c) for s in self.explicit_categories)
        ]

    def age_on(self, birth: dt.date, day: dt.date) -> int:
        return day.year - birth.year - ((day.month, day.day) < (birth.month, birth.day))


def covers(declared: str, used: str) -> bool:
    """A dotted category covers itself and its children (``user.health`` ⊇ ``user.health.x``)."""
    return used == declared or used.startswith(declared + ".")
