"""The vocabulary every other room speaks: categories, sensitivity, legal bases, purposes.

Plain data and pure functions, no I/O.
"""

from profileguard.taxonomy.bases import ALL_BASIS_IDS, GDPR_BASES, PIPL_BASES, LegalBasis
from profileguard.taxonomy.categories import (
    CATEGORIES,
    Category,
    CNSensitivity,
    EUSensitivity,
    ancestors,
    cn_basis,
    cn_level,
    covers,
    eu_special,
    is_category,
    is_direct_identifier,
    is_personal,
    is_sensitive,
)
from profileguard.taxonomy.purposes import (
    PURPOSES,
    PurposeKind,
    is_automated_marketing,
    is_profiling,
)

__all__ = [
    "ALL_BASIS_IDS",
    "CATEGORIES",
    "GDPR_BASES",
    "PIPL_BASES",
    "PURPOSES",
    "CNSensitivity",
    "Category",
    "EUSensitivity",
    "LegalBasis",
    "PurposeKind",
    "ancestors",
    "cn_basis",
    "cn_level",
    "covers",
    "eu_special",
    "is_automated_marketing",
    "is_category",
    "is_direct_identifier",
    "is_personal",
    "is_profiling",
    "is_sensitive",
]
