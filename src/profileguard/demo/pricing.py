"""``quotes``: the prices people were offered in the last 90 days, with planted effects.

What is planted, so the pricing audit (issue 8) can show that only the surcharge is flagged:

1. **Loyal-customer surcharge (unlawful, 大数据杀熟)**: people with at least
   :data:`LOYAL_MIN_ORDERS` clean orders (the top order-count band, ~10% of people) pay
   +3% in ``electronics`` and ``beauty`` — nothing else differs.
2. **A/B price test (legitimate, ``ab_bucket``)**: bucket ``B`` pays 2% less, and the
   bucket correlates with the phone OS (B for ~70% of iOS, ~50% of HarmonyOS, ~35% of
   Android), so OS alone looks like a price factor unless the bucket is controlled for.
3. **Coupons (legitimate, ``coupon``)**: mostly for people in their first 30 days;
   ``price`` is what was offered after the coupon, so gross price = price + coupon.
4. **Member price (legitimate, ``member_price``)**: members pay 5% less, and members
   order more, so loyalty correlates with it.
5. **Price drift (time)**: every list price rises 6% a year (1.5% over the window); people
   who registered recently only have quotes late in the window, when prices were higher.

Gross price = list price × drift(ts) × 0.98 [B] × 0.95 [member price] × 1.03 [surcharge],
rounded to the fen; there is no noise, so each factor is recoverable exactly.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

from profileguard.demo.catalog import Catalog
from profileguard.demo.clock import DAY
from profileguard.demo.orders import MEMBER_DISCOUNT, price_index
from profileguard.demo.population import CHANNELS, Population
from profileguard.demo.text_columns import money, pick, prefixed_ids, timestamps
from profileguard.demo.vocabulary import CATEGORY_KEYS

IntArray = npt.NDArray[np.int64]

QUOTE_WINDOW_DAYS = 90
QUOTES_PER_USER = 3.0
LOYAL_MIN_ORDERS = 8
SURCHARGE = 0.03
SURCHARGE_CATEGORIES: tuple[str, ...] = ("electronics", "beauty")
BUCKET_B_DISCOUNT = 0.02
BUCKET_B_SHARE_BY_OS = np.array([0.70, 0.35, 0.50], dtype=np.float64)  # iOS, Android, HarmonyOS
NEW_USER_DAYS = 30
_COUPONS = np.array([500, 1000, 2000], dtype=np.int64)


def planted_effects() -> dict[str, object]:
    """The planted pricing effects, as the summary reports them."""
    return {
        "loyal_surcharge": {
            "pct": SURCHARGE * 100,
            "min_orders": LOYAL_MIN_ORDERS,
            "categories": list(SURCHARGE_CATEGORIES),
            "lawful": False,
        },
        "ab_test": {
            "bucket_b_discount_pct": BUCKET_B_DISCOUNT * 100,
            "bucket_b_share_by_os": dict(
                zip(("iOS", "Android", "HarmonyOS"), BUCKET_B_SHARE_BY_OS.tolist(), strict=True)
            ),
            "lawful": True,
        },
        "coupons": {"mostly_for_new_users_days": NEW_USER_DAYS, "lawful": True},
        "member_price": {"discount_pct": MEMBER_DISCOUNT * 100, "lawful": True},
        "price_drift": {"pct_per_year": 6.0, "lawful": True},
    }


def make_quotes(
    rng: np.random.Generator,
    pop: Population,
    catalog: Catalog,
    order_counts: IntArray,
    now: int,
    last_quote: int,
) -> tuple[pa.Table, int]:
    """The quotes of one block, sorted by time; quote numbers continue after ``last_quote``."""
    window_start = now - QUOTE_WINDOW_DAYS * DAY
    counts = rng.poisson(QUOTES_PER_USER, size=pop.size)
    user = np.repeat(np.arange(pop.size, dtype=np.int64), counts)
    n = len(user)
    start = np.maximum(window_start, pop.register[user])
    ts = start + (rng.random(n) * (now - start)).astype(np.int64)
    cumulative = np.cumsum(pop.preference[user], axis=1)
    category = (rng.random(n)[:, None] > cumulative[:, :-1]).sum(axis=1).astype(np.int64)
    item = catalog.sample(rng, category)

    bucket_b = rng.random(n) < BUCKET_B_SHARE_BY_OS[pop.os[user]]
    member_price = pop.member[user] & (rng.random(n) < 0.9)
    surcharge_cats = np.isin(category, [CATEGORY_KEYS.index(c) for c in SURCHARGE_CATEGORIES])
    loyal = order_counts[user] >= LOYAL_MIN_ORDERS
    factor = (
        price_index(ts)
        * np.where(bucket_b, 1.0 - BUCKET_B_DISCOUNT, 1.0)
        * np.where(member_price, 1.0 - MEMBER_DISCOUNT, 1.0)
        * np.where(loyal & surcharge_cats, 1.0 + SURCHARGE, 1.0)
    )
    list_cents = catalog.price_cents[item]
    gross = np.round(list_cents * factor).astype(np.int64)
    new_user = ts - pop.register[user] < NEW_USER_DAYS * DAY
    gets_coupon = rng.random(n) < np.where(new_user, 0.55, 0.06)
    coupon = np.minimum(_COUPONS[rng.integers(0, len(_COUPONS), size=n)], gross // 500 * 100)
    coupon = np.where(gets_coupon, coupon, 0)
    channel = np.where(rng.random(n) < 0.8, pop.channel[user], rng.integers(0, 3, size=n))

    order = np.argsort(ts, kind="stable")
    money_type = pa.decimal128(12, 2)
    table = pa.table(
        {
            "quote_id": prefixed_ids("Q", last_quote + 1 + np.arange(n), 10),
            "user_id": pc.take(pop.user_id, pa.array(user[order])),
            "item_id": pc.take(catalog.item_id, pa.array(item[order])),
            "ts": timestamps(ts[order]),
            "price": money((gross - coupon)[order]).cast(money_type),
            "list_price": money(list_cents[order]).cast(money_type),
            "coupon": money(coupon[order]).cast(money_type),
            "member_price": pa.array(member_price[order]),
            "ab_bucket": pick(("A", "B"), bucket_b[order].astype(np.int64)),
            "channel": pick(CHANNELS, channel[order]),
        }
    )
    return table, last_quote + n
