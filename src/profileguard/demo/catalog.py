"""The demo catalogue: ``items.csv`` with Chinese titles, categories, list prices and shops.

About twenty shops (``S001`` …) each sell a few categories; within a category item
popularity is Zipf-like, so a few items get most views and orders (what makes
item × hour cells in the pricing audit dense enough to compare).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pyarrow as pa

from profileguard.demo.pools import Pools
from profileguard.demo.text_columns import concat, money, pick, prefixed_ids
from profileguard.demo.vocabulary import CATEGORIES, CATEGORY_KEYS, TITLE_MODIFIERS

IntArray = npt.NDArray[np.int64]
SHOPS = 20


@dataclass(frozen=True)
class Catalog:
    """Items as arrays plus, per category, the items and their popularity."""

    table: pa.Table
    item_id: pa.Array
    category: IntArray
    price_cents: IntArray
    shop: IntArray
    shop_id: pa.Array
    by_category: list[IntArray]
    popularity: list[npt.NDArray[np.float64]]

    def sample(self, rng: np.random.Generator, categories: IntArray) -> IntArray:
        """One item per entry of ``categories``, drawn by popularity within the category."""
        out = np.empty(len(categories), dtype=np.int64)
        for c, members in enumerate(self.by_category):
            where = np.flatnonzero(categories == c)
            if len(where):
                out[where] = rng.choice(members, size=len(where), p=self.popularity[c])
        return out


def catalog_size(users: int) -> int:
    """Items for a shop of ``users`` customers: one per eight users, 200 to 20,000."""
    return int(min(max(users // 8, 200), 20_000))


def make_catalog(rng: np.random.Generator, pools: Pools, n: int) -> Catalog:
    """``n`` items, at least a handful per category."""
    share = np.array([c.share for c in CATEGORIES], dtype=np.float64)
    category = np.concatenate(
        [np.arange(len(CATEGORIES)), rng.choice(len(CATEGORIES), size=n - len(CATEGORIES), p=share)]
    ).astype(np.int64)
    noun_index = np.array([rng.integers(len(CATEGORIES[c].nouns)) for c in category])
    nouns = [f"{CATEGORIES[c].nouns[k][0]}" for c, k in zip(category, noun_index, strict=True)]
    specs = [f" {CATEGORIES[c].nouns[k][1]}" for c, k in zip(category, noun_index, strict=True)]
    title = concat(
        pick(pools.brands, rng.integers(0, len(pools.brands), size=n)),
        pick(TITLE_MODIFIERS, rng.integers(0, len(TITLE_MODIFIERS), size=n)),
        pa.array(nouns),
        pa.array(specs),
    )
    median = np.array([c.median_price for c in CATEGORIES])[category]
    spread = np.array([c.price_spread for c in CATEGORIES])[category]
    yuan = np.maximum(median * np.exp(rng.normal(0.0, spread)), 3.0)
    price_cents = (np.floor(yuan) * 100 + np.where(yuan > 100, 0, 90)).astype(np.int64)
    serving = [
        np.sort(rng.choice(SHOPS, size=int(rng.integers(3, 7)), replace=False)) for _ in CATEGORIES
    ]
    shop = np.array([serving[c][rng.integers(len(serving[c]))] for c in category], dtype=np.int64)
    by_category: list[IntArray] = []
    popularity: list[npt.NDArray[np.float64]] = []
    for c in range(len(CATEGORIES)):
        members = np.flatnonzero(category == c).astype(np.int64)
        weight = 1.0 / (rng.permutation(len(members)) + 1.0) ** 1.05
        by_category.append(members)
        popularity.append(weight / weight.sum())
    item_id = prefixed_ids("I", np.arange(1, n + 1), 6)
    shop_id = prefixed_ids("S", shop + 1, 3)
    table = pa.table(
        {
            "item_id": item_id,
            "title": title,
            "category": pick(CATEGORY_KEYS, category),
            "list_price": money(price_cents).cast(pa.decimal128(12, 2)),
            "shop_id": shop_id,
        }
    )
    return Catalog(table, item_id, category, price_cents, shop, shop_id, by_category, popularity)
