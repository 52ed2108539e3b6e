"""Pools of realistic zh_CN strings made once with Faker, then sampled by index with numpy.

Calling Faker per row costs tens of microseconds; a million users and fifty million events
would take hours. Faker therefore only fills fixed-size pools (family names, given names by
gender, streets, districts, brand names, e-mail user names, product titles, search queries),
seeded from the run's seed, and the generators draw indexes into them vectorised.
Byte-identical output assumes the same Faker version.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from faker import Faker

from profileguard.demo.vocabulary import CATEGORIES, QUERY_PATTERNS, TITLE_MODIFIERS

EMAIL_DOMAINS: tuple[str, ...] = (
    "qq.com",
    "163.com",
    "126.com",
    "sina.com",
    "foxmail.com",
    "gmail.com",
    "outlook.com",
    "139.com",
    "yeah.net",
    "hotmail.com",
)


@dataclass(frozen=True)
class Pools:
    """Faker-made strings; every list is sampled by integer index."""

    family_names: list[str]
    male_given: list[str]
    female_given: list[str]
    streets: list[str]
    districts: list[str]
    email_users: list[str]
    brands: list[str]
    queries: dict[str, list[str]]


def _unique(make: Callable[[], object], size: int, tries: int = 20) -> list[str]:
    """Up to ``size`` distinct values from a Faker method (order of first appearance)."""
    seen: dict[str, None] = {}
    for _ in range(size * tries):
        seen.setdefault(str(make()), None)
        if len(seen) >= size:
            break
    return list(seen)


def build_pools(seed: int) -> Pools:
    """Fill every pool from a Faker seeded with ``seed``; a few hundred ms."""
    fake = Faker("zh_CN")
    fake.seed_instance(seed)
    rng = np.random.default_rng([seed, 901])
    brands = [b for b in _unique(fake.company_prefix, 160) if "公司" not in b][:120]
    queries: dict[str, list[str]] = {}
    for cat in CATEGORIES:
        made: dict[str, None] = {}
        for _ in range(400):
            noun, spec = cat.nouns[int(rng.integers(len(cat.nouns)))]
            pattern = QUERY_PATTERNS[int(rng.integers(len(QUERY_PATTERNS)))]
            text = pattern.format(
                noun=noun,
                spec=spec,
                mod=TITLE_MODIFIERS[int(rng.integers(len(TITLE_MODIFIERS)))],
                brand=brands[int(rng.integers(len(brands)))],
            )
            made.setdefault(text, None)
        queries[cat.key] = list(made)
    return Pools(
        family_names=_unique(fake.last_name, 300),
        male_given=_unique(fake.first_name_male, 600),
        female_given=_unique(fake.first_name_female, 600),
        streets=_unique(fake.street_name, 400),
        districts=[d + "区" for d in _unique(fake.district, 200)],
        email_users=_unique(fake.user_name, 2000),
        brands=brands,
        queries=queries,
    )
