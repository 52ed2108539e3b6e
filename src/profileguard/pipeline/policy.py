"""The manifest's consent rules as a :class:`~profileguard.consent.policy.ConsentPolicy`."""

from __future__ import annotations

from profileguard.consent.policy import BirthDateLookup, ConsentPolicy, NoticeVersion, Recipient
from profileguard.manifest.model import Manifest
from profileguard.taxonomy import CATEGORIES, cn_level, eu_special
from profileguard.taxonomy.categories import CNSensitivity


def consent_policy(m: Manifest, birth_date_of: BirthDateLookup | None = None) -> ConsentPolicy:
    versions: list[NoticeVersion] = []
    seen_p: set[str] = set()
    seen_c: set[str] = set()
    if m.notice is not None:
        for v in m.notice.history:
            adds_p = frozenset(v.purposes) - seen_p
            adds_c = frozenset(v.categories) - seen_c
            # the first version is the baseline: it adds everything it states
            versions.append(NoticeVersion(v.version, v.published, adds_p, adds_c))
            seen_p |= set(v.purposes)
            seen_c |= set(v.categories)
        if m.notice.version not in {v.version for v in versions}:
            versions.append(NoticeVersion(m.notice.version, m.notice.published))
    juris = m.jurisdictions
    sensitive = frozenset(k for k in CATEGORIES if "CN" in juris
                          and cn_level(k) is CNSensitivity.SENSITIVE)
    explicit = frozenset(k for k in CATEGORIES if "EU" in juris and eu_special(k))
    recipients = {r.name: Recipient(r.name, r.role, r.country) for r in m.recipients}
    home = "CN" if "CN" in juris else "EU"
    return ConsentPolicy(
        notice_versions=tuple(versions),
        current_version=m.notice.version if m.notice else None,
        sensitive_categories=sensitive,
        explicit_categories=explicit,
        recipients=recipients,
        home_country=home,
        guardian_age=m.consent.guardian_under,
        birth_date_of=birth_date_of,
    )
