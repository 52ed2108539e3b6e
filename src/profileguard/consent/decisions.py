"""May we? — one pure function from a consent record and the policy to a decision.

Both the single check (:meth:`ConsentBook.allows`) and the bulk export call
:func:`decide`, so a build and a person asking "why am I in this audience?" get the same
answer with the same reason. Default deny: no record means no.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from profileguard.consent.policy import ConsentPolicy
from profileguard.store.operational import as_utc
from profileguard.taxonomy.purposes import is_automated_marketing, is_profiling

STATUSES = ("granted", "refused", "withdrawn")
CONSENT_TYPES = ("general", "separate", "explicit", "guardian")
#: consent types that count as a separate consent (单独同意)
SEPARATE_TYPES = frozenset({"separate", "explicit", "guardian"})
#: purposes switched off by the non-personalized choice (PIPL 24, ECL 18, ALG 17)
PERSONALIZED_PURPOSES = frozenset({"personalization", "personalized_search"})


@dataclass(frozen=True)
class ConsentRecord:
    """One row of the consent history (the latest per user × purpose × recipient is in force)."""

    id: int | None
    user_pid: str
    purpose: str
    recipient: str  # '' when not about a recipient
    status: str
    consent_type: str
    notice_version: str | None
    surface: str | None
    pre_ticked: bool
    bundled: bool
    clicks_to_give: int | None
    clicks_to_withdraw: int | None
    source: str
    given_at: dt.datetime
    recorded_at: dt.datetime


@dataclass(frozen=True)
class Preference:
    objected: bool = False
    non_personalized: bool = False


@dataclass(frozen=True)
class Decision:
    allowed: bool
    reason: str
    record: ConsentRecord | None = None

    def __bool__(self) -> bool:
        return self.allowed


def row_to_record(row: Mapping[Any, Any]) -> ConsentRecord:
    return ConsentRecord(
        id=None if row["id"] is None else int(row["id"]),
        user_pid=str(row["user_pid"]),
        purpose=str(row["purpose"]),
        recipient=str(row["recipient"] or ""),
        status=str(row["status"]),
        consent_type=str(row["consent_type"]),
        notice_version=row["notice_version"],
        surface=row["surface"],
        pre_ticked=bool(row["pre_ticked"]),
        bundled=bool(row["bundled"]),
        clicks_to_give=row["clicks_to_give"],
        clicks_to_withdraw=row["clicks_to_withdraw"],
        source=str(row["source"]),
        given_at=as_utc(row["given_at"]),
        recorded_at=as_utc(row["recorded_at"]),
    )


def record_key(policy: ConsentPolicy, recipient: str | None) -> str:
    """Which recipient column a use is looked up under.

    A declared domestic processor acts on the controller's behalf (PIPL 21): the purpose
    consent covers it. Any other recipient needs its own (separate) consent record.
    """
    if not recipient:
        return ""
    info = policy.recipients.get(recipient)
    if info is not None and info.role == "processor" and (
        info.country.upper() == policy.home_country.upper()
    ):
        return ""
    return recipient


@dataclass(frozen=True)
class Requirements:
    """What one use (purpose, categories, recipient) needs under a policy, whoever asks:
    the explicit- and separate-consent reasons and the notice version that introduced it."""

    explicit: tuple[str, ...]
    separate: tuple[str, ...]
    introduced: tuple[int, str] | None


#: (id(policy), purpose, categories, recipient) → (policy, requirements). A bulk decision asks
#: the same question for every user, and the category matching behind it costs far more than
#: the per-user part, so it is answered once per policy and use. The policy is frozen and
#: kept in the entry, so an id is never reused while its entry lives.
_REQUIREMENTS: dict[tuple[int, str, tuple[str, ...], str | None],
                    tuple[ConsentPolicy, Requirements]] = {}
_REQUIREMENTS_MAX = 4096
_REQUIREMENTS_LOCK = threading.Lock()


def requirements(policy: ConsentPolicy, purpose: str, categories: Sequence[str] = (),
                 recipient: str | None = None) -> Requirements:
    """:class:`Requirements` of a use, memoised per policy object (see ``_REQUIREMENTS``)."""
    cats = tuple(categories)
    key = (id(policy), purpose, cats, recipient)
    hit = _REQUIREMENTS.get(key)
    if hit is not None and hit[0] is policy:
        return hit[1]
    needs = Requirements(tuple(policy.explicit_reasons(cats)),
                         tuple(policy.separate_reasons(purpose, cats, recipient)),
                         policy.introduced_in(purpose, cats, recipient)
                         if policy.notice_versions else None)
    with _REQUIREMENTS_LOCK:
        if len(_REQUIREMENTS) >= _REQUIREMENTS_MAX:
            _REQUIREMENTS.clear()
        _REQUIREMENTS[key] = (policy, needs)
    return needs


def minor_age(policy: ConsentPolicy, birth_date: dt.date | None, at: dt.datetime) -> int | None:
    """The user's age at ``at`` when under the policy's guardian age, else None (an adult, or
    no birth date): all that :func:`decide` reads of a birth date and of ``at``."""
    if birth_date is None:
        return None
    age = policy.age_on(birth_date, at.date())
    return age if age < policy.guardian_age else None


def decide(
    policy: ConsentPolicy,
    purpose: str,
    record: ConsentRecord | None,
    *,
    categories: Sequence[str] = (),
    recipient: str | None = None,
    preference: Preference | None = None,
    birth_date: dt.date | None = None,
    at: dt.datetime,
) -> Decision:
    """The decision for one user and one use. Pure: data in, decision out."""
    return decide_at_age(policy, purpose, record, categories=categories, recipient=recipient,
                         preference=preference, minor=minor_age(policy, birth_date, at))


def decide_at_age(
    policy: ConsentPolicy,
    purpose: str,
    record: ConsentRecord | None,
    *,
    categories: Sequence[str] = (),
    recipient: str | None = None,
    preference: Preference | None = None,
    minor: int | None = None,
) -> Decision:
    """:func:`decide` given :func:`minor_age` instead of the birth date and ``at``: the bulk
    decisions evaluate it once per distinct (record facts, preference, minor age) and hand
    the answer to every user who has them. Of the record it reads the status, consent type,
    notice version, pre-ticked and bundled flags, and the day it was given (for the reason)."""
    what = purpose + (f" (recipient {recipient})" if recipient else "")
    pref = preference or Preference()
    if pref.objected and (is_profiling(purpose) or is_automated_marketing(purpose)):
        return Decision(False, f"objected to profiling: no {purpose} (PIPL 44, GDPR 21)", record)
    if pref.non_personalized and purpose in PERSONALIZED_PURPOSES:
        return Decision(False, f"chose non-personalized results: no {purpose} (PIPL 24, "
                        "ECL 18)", record)
    if record is None:
        return Decision(False, f"no consent record for purpose {what}")
    when = record.given_at.date().isoformat()
    if record.status != "granted":
        return Decision(False, f"consent for {what} {record.status} on {when}", record)
    if record.pre_ticked and not policy.accept_pre_ticked:
        return Decision(False, f"consent for {what} was pre-ticked, so it was not given "
                        "(PIPL 14, GDPR 7)", record)
    if record.bundled and not policy.accept_bundled:
        return Decision(False, f"consent for {what} was bundled with others (一揽子授权), so "
                        "it was not freely given (PIPL 5/14, GDPR 7)", record)

    if minor is not None and record.consent_type != "guardian":
        return Decision(False, f"user is {minor}, under {policy.guardian_age}: {what} needs "
                        f"a guardian consent, found {record.consent_type} (PIPL 31)", record)

    needs = requirements(policy, purpose, categories, recipient)
    if needs.explicit and record.consent_type not in {"explicit", "guardian"}:
        return Decision(False, f"{needs.explicit[0]}: {what} needs explicit consent, found "
                        f"{record.consent_type}", record)
    if needs.separate and record.consent_type not in SEPARATE_TYPES:
        return Decision(False, f"{needs.separate[0]}: {what} needs separate consent, found "
                        f"{record.consent_type}", record)

    if policy.notice_versions:
        rank = policy.version_rank(record.notice_version)
        if rank is None:
            return Decision(False, f"consent for {what} was given to notice version "
                            f"{record.notice_version!r}, which the policy does not know "
                            "(PIPL 14)", record)
        introduced = needs.introduced
        if introduced is not None and rank < introduced[0]:
            version = policy.notice_versions[introduced[0]].version
            return Decision(False, f"consent for {what} was given to notice "
                            f"{record.notice_version}, older than {version} which added "
                            f"{introduced[1]}: ask again (PIPL 14)", record)

    return Decision(True, f"{record.consent_type} consent for {what} granted on {when} "
                    f"(notice {record.notice_version})", record)
