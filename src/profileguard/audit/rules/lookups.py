"""What the manifest says, asked the way the rules ask it (pure functions, no I/O)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

from profileguard.manifest.model import FieldDecl, Manifest
from profileguard.taxonomy import PURPOSES, covers, is_automated_marketing, is_profiling
from profileguard.taxonomy.categories import CNSensitivity, cn_level, eu_special

#: NPI 4: the only personal information necessary for online shopping — registered mobile
#: number; consignee name, address and phone; payment time, amount and channel (plus the
#: account's own id, which names the person the other items belong to)
NPI_SHOPPING_NECESSARY: tuple[str, ...] = (
    "user.contact.phone_number", "user.name", "user.contact.address", "user.payment.time",
    "user.payment.amount", "user.payment.channel", "user.unique_id", "user.account",
    "non_personal",
)
#: PIA scope names and the PIPL 55 triggers they cover
PIA_SCOPES: dict[str, tuple[str, ...]] = {
    "sensitive": ("sensitive",),
    "automated_decisions": ("automated_decisions", "profiling"),
    "provision": ("provision", "entrusted", "public"),
    "cross_border": ("cross_border",),
}


def personal_fields(m: Manifest) -> Iterator[tuple[str, str, FieldDecl]]:
    for src, cols in m.fields.items():
        for col, decl in cols.items():
            if decl.category != "non_personal":
                yield src, col, decl


def cn_weight(category: str) -> str | None:
    """``high`` for CN ``sensitive``, ``medium`` for ``sensitive_by_standard``, else None."""
    level = cn_level(category)
    if level is CNSensitivity.SENSITIVE:
        return "high"
    if level is CNSensitivity.SENSITIVE_BY_STANDARD:
        return "medium"
    return None


def is_cn_sensitive(category: str) -> bool:
    return cn_level(category) is CNSensitivity.SENSITIVE


def profiles_or_markets(m: Manifest, purpose: str) -> bool:
    p = m.purposes.get(purpose)
    profiling = p.profiling if p and p.profiling is not None else is_profiling(purpose)
    marketing = (p.automated_marketing if p and p.automated_marketing is not None
                 else is_automated_marketing(purpose))
    return profiling or marketing


def is_marketing(m: Manifest, purpose: str) -> bool:
    p = m.purposes.get(purpose)
    return (p.automated_marketing if p and p.automated_marketing is not None
            else is_automated_marketing(purpose))


def consent_based(m: Manifest, purpose: str) -> bool:
    p = m.purposes.get(purpose)
    return p is not None and p.basis == "consent"


def basic_service(purpose: str) -> bool:
    kind = PURPOSES.get(purpose)
    return bool(kind and kind.basic_service)


def separately_consented(m: Manifest, purpose: str, category: str | None = None,
                         recipient: str | None = None) -> bool:
    """A ``consent.separate`` entry covers this purpose (category, recipient)."""
    for s in m.consent.separate:
        if s.purpose != purpose:
            continue
        if category and s.categories and not any(covers(c, category) for c in s.categories):
            continue
        if recipient and s.recipient not in (None, recipient):
            continue
        return True
    return False


def special_eu(category: str) -> bool:
    return eu_special(category)


def pia_covering(m: Manifest, trigger: str, as_of: dt.date) -> dt.date | None:
    """Date of the latest PIA on or before ``as_of`` whose scope covers ``trigger``."""
    dates = [p.date for p in m.governance.pia if p.date <= as_of and any(
        trigger in PIA_SCOPES.get(s, (s,)) for s in p.scope)]
    return max(dates) if dates else None


def foreign(m: Manifest, country: str) -> bool:
    home = {"CN"} if "CN" in m.jurisdictions else set()
    if "EU" in m.jurisdictions:
        home |= {"EU", "EEA", "DE", "FR", "IT", "ES", "NL", "IE", "BE", "AT", "PL", "SE", "DK",
                 "FI", "PT", "GR", "CZ", "HU", "RO", "BG", "HR", "SI", "SK", "LT", "LV", "EE",
                 "LU", "MT", "CY", "IS", "NO", "LI"}
    return country.upper() not in home


def user_column(m: Manifest, source: str) -> str | None:
    s = m.sources.get(source)
    return s.user if s else None


def key_columns(m: Manifest, source: str) -> set[str]:
    s = m.sources.get(source)
    return {c for c in (s.key, s.user) if c} if s else set()
