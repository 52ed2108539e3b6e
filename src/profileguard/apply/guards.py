"""The guards every application passes: pure decisions over plain data, no I/O.

Each guard answers one question with a named rule, the law it enforces and a reason a
person can read, so a blocked send, an excluded user or a non-personalized result always
says *which* rule decided it:

* :func:`choose_mode` — personalized or not, decided from the consent decision, the
  person's choices and age *before* anything reads their profile (PIPL 24, ALG 17/18,
  ECL 18);
* :func:`criterion_refusal` — may this tag select people for this purpose? Not if it reads
  or infers sensitive information (PIPL 28/29, GDPR 9), was refused by the catalog, or
  reads fields not declared for the purpose (PIPL 6);
* age helpers shared by audiences and campaigns: minors (< 18: MINOR 24, ALG 18), under-14
  (PIPL 31) and elderly users (≥ 60: ALG 19).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Literal

from profileguard.consent.decisions import Decision
from profileguard.manifest.model import Manifest
from profileguard.model.catalog import Catalog
from profileguard.taxonomy import cn_level, eu_special, is_automated_marketing
from profileguard.taxonomy.categories import CNSensitivity

Mode = Literal["personalized", "non_personalized"]
MODES: tuple[Mode, ...] = ("personalized", "non_personalized")
MINOR_AGE = 18
CHILD_AGE = 14
ELDERLY_AGE = 60


@dataclass(frozen=True)
class Rule:
    """A guard rule that decided something: its id, the law and article, and why."""

    rule: str
    law: str
    article: str
    reason: str

    def as_dict(self) -> dict[str, str]:
        return {"rule": self.rule, "law": self.law, "article": self.article,
                "reason": self.reason}


@dataclass(frozen=True)
class ModeChoice:
    """The mode a request is served in, and the rule that forced it when not as asked."""

    requested: Mode
    mode: Mode
    rule: Rule | None = None

    @property
    def personalized(self) -> bool:
        return self.mode == "personalized"


def age_on(birth: dt.date, day: dt.date) -> int:
    return day.year - birth.year - ((day.month, day.day) < (birth.month, birth.day))


def is_minor(birth: dt.date | None, day: dt.date) -> bool:
    return birth is not None and age_on(birth, day) < MINOR_AGE


def is_elderly(birth: dt.date | None, day: dt.date) -> bool:
    return birth is not None and age_on(birth, day) >= ELDERLY_AGE


def automated_marketing(manifest: Manifest, purpose: str) -> bool:
    """Whether ``purpose`` is automated (commercial) marketing; the manifest may say so."""
    declared = manifest.purposes.get(purpose)
    if declared is not None and declared.automated_marketing is not None:
        return declared.automated_marketing
    return is_automated_marketing(purpose)


def choose_mode(
    requested: Mode,
    *,
    enabled: bool,
    consent: Decision | None,
    minor_in_marketing: bool = False,
) -> ModeChoice:
    """Personalized only when asked for, switched on, consented and not a minor in marketing.

    ``consent`` is the ConsentBook's decision for the personalization purpose; it already
    folds in objections (PIPL 44, GDPR 21), the non-personalized choice (PIPL 24, ECL 18),
    withdrawals (PIPL 15) and guardian consent (PIPL 31). ``None`` means it was not asked
    because the request was non-personalized anyway.
    """
    if requested not in MODES:
        raise ValueError(f"mode {requested!r}; allowed: {', '.join(MODES)}")
    if requested == "non_personalized":
        return ModeChoice(requested, "non_personalized")
    if not enabled:
        return ModeChoice(requested, "non_personalized", Rule(
            "personalization_disabled", "ALG", "17",
            "personalized recommendation is switched off in the manifest"))
    if consent is None or not consent.allowed:
        why = consent.reason if consent is not None else "no consent decision"
        return ModeChoice(requested, "non_personalized", Rule("consent", "PIPL", "24", why))
    if minor_in_marketing:
        return ModeChoice(requested, "non_personalized", Rule(
            "minor", "MINOR", "24",
            "user is under 18: no personalized commercial marketing to minors (ALG 18)"))
    return ModeChoice(requested, "personalized")


def is_sensitive(category: str, jurisdictions: list[str]) -> bool:
    return ("CN" in jurisdictions and cn_level(category) is CNSensitivity.SENSITIVE) or (
        "EU" in jurisdictions and eu_special(category))


def criterion_refusal(manifest: Manifest, catalog: Catalog, tag: str, purpose: str
                      ) -> Rule | None:
    """Why ``tag`` may not select or personalize for ``purpose`` (None when it may)."""
    info = catalog.get(tag)
    if info is None:
        return Rule("unknown_tag", "PIPL", "6", f"{tag!r} is not a tag of the manifest")
    juris = manifest.jurisdictions
    if info.sensitive_categories:
        return Rule("sensitive_tag", "PIPL", "29",
                    f"tag {tag!r} reads sensitive information "
                    f"({', '.join(info.sensitive_categories)}); it may not be a criterion")
    if info.tag.infers and is_sensitive(info.tag.infers, juris):
        return Rule("sensitive_inference", "PIPL", "28",
                    f"tag {tag!r} infers sensitive information ({info.tag.infers}); it may "
                    "not be a criterion")
    if info.refused:
        return Rule("refused_tag", info.refusals[0].law, info.refusals[0].article,
                    info.refusals[0].message)
    for ref in info.fields:
        src, _, col = ref.partition(".")
        decl = manifest.field(src, col)
        if decl is not None and purpose not in decl.purposes:
            return Rule("purpose_limitation", "PIPL", "6",
                        f"tag {tag!r} reads {ref}, which is not declared for purpose "
                        f"{purpose!r} (declared: {', '.join(decl.purposes) or 'none'})")
    return None
