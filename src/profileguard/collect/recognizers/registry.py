"""The default set of recognizers, by fixed type name, and the category each suggests.

Order matters only for ties: when two types claim overlapping text with the same score the
earlier one wins (a valid resident id that happens to be Luhn-valid is an id, not a card).
"""

from __future__ import annotations

from functools import lru_cache

from profileguard.collect.recognizers.address import AddressRecognizer
from profileguard.collect.recognizers.bank_card import BankCardRecognizer
from profileguard.collect.recognizers.base import Recognizer
from profileguard.collect.recognizers.email import EmailRecognizer
from profileguard.collect.recognizers.geo import GeoCoordinateRecognizer
from profileguard.collect.recognizers.ip_address import IpAddressRecognizer
from profileguard.collect.recognizers.mobile import MobileRecognizer
from profileguard.collect.recognizers.passport import PassportRecognizer
from profileguard.collect.recognizers.person_name import PersonNameRecognizer
from profileguard.collect.recognizers.plate import LicensePlateRecognizer
from profileguard.collect.recognizers.resident_id import ResidentIdRecognizer

__all__ = ["RECOGNIZER_CLASSES", "category_of", "default_recognizers", "entity_types"]

RECOGNIZER_CLASSES: tuple[type[Recognizer], ...] = (
    ResidentIdRecognizer,
    EmailRecognizer,
    BankCardRecognizer,
    MobileRecognizer,
    IpAddressRecognizer,
    GeoCoordinateRecognizer,
    LicensePlateRecognizer,
    PassportRecognizer,
    AddressRecognizer,
    PersonNameRecognizer,
)


@lru_cache(maxsize=1)
def default_recognizers() -> tuple[Recognizer, ...]:
    """One shared instance of each recognizer (they hold only compiled regexes)."""
    return tuple(cls() for cls in RECOGNIZER_CLASSES)


def entity_types() -> tuple[str, ...]:
    """The fixed type names, in priority order."""
    return tuple(cls.entity for cls in RECOGNIZER_CLASSES)


def category_of(entity: str) -> str:
    """The taxonomy category a type suggests (``CN_MOBILE`` → ``user.contact.phone_number``)."""
    for cls in RECOGNIZER_CLASSES:
        if cls.entity == entity:
            return cls.category
    raise KeyError(entity)
