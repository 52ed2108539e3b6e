"""Orders from a BG/NBD-like repeat-purchase process, so customer-value models have signal.

Each buyer makes a first purchase soon after registering; afterwards purchases arrive as a
Poisson process with the person's rate ``λ`` (Gamma across people) and after every repeat
purchase the person drops out for good with probability ``p`` (Beta across people) — the
generative story of Fader, Hardie & Lee (2005). The simulation is vectorised over the
people still active, one purchase round at a time. Categories follow each person's
Dirichlet preference; expecting parents add a run of baby & mother orders every two to
five weeks; ~5% of orders are refunded. Prices rise slowly over time
(:func:`price_index`), members pay 5% less and new customers get most coupons.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

from profileguard.demo.catalog import Catalog
from profileguard.demo.clock import DAY, HOUR, SHOP_START, at_shopping_hour, day_start, seconds
from profileguard.demo.geography import CityColumns
from profileguard.demo.identity import mobile_numbers
from profileguard.demo.pools import Pools
from profileguard.demo.population import Population, addresses
from profileguard.demo.text_columns import concat, pick
from profileguard.demo.vocabulary import CATEGORY_KEYS

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]

PAYMENT_CHANNELS: tuple[str, ...] = ("alipay", "wechat_pay", "unionpay")
PRICE_DRIFT_PER_YEAR = 0.06
MEMBER_DISCOUNT = 0.05
_MAX_ROUNDS = 2_000
_COUPONS = np.array([500, 1000, 2000, 3000, 5000], dtype=np.int64)


def price_index(instants: IntArray) -> FloatArray:
    """Price level at each instant relative to the shop's start (+6% a year)."""
    years = (instants - seconds(SHOP_START)) / (365.25 * DAY)
    return np.asarray(1.0 + PRICE_DRIFT_PER_YEAR * years, dtype=np.float64)


@dataclass(frozen=True)
class Purchases:
    """Clean orders of one block of users, sorted by time (before any dirt is planted)."""

    user: IntArray
    item: IntArray
    time: IntArray
    quantity: IntArray
    coupon_cents: IntArray
    paid_cents: IntArray
    channel: IntArray
    refunded: BoolArray
    refund_time: IntArray
    consignee_name: pa.Array
    consignee_phone: pa.Array
    consignee_address: pa.Array

    @property
    def size(self) -> int:
        return len(self.user)

    def counts(self, users: int) -> IntArray:
        """Orders per user of the block."""
        return np.bincount(self.user, minlength=users).astype(np.int64)


def _purchase_times(
    rng: np.random.Generator, pop: Population, now: int
) -> tuple[IntArray, IntArray]:
    users: list[IntArray] = []
    times: list[IntArray] = []
    first = pop.register + (rng.exponential(3.0, size=pop.size) * DAY).astype(np.int64)
    active = np.flatnonzero(pop.buyer & (first < now))
    t = first[active]
    for _ in range(_MAX_ROUNDS):
        if not len(active):
            break
        users.append(active)
        times.append(t)
        alive = rng.random(len(active)) >= pop.dropout[active]
        gap = rng.exponential(1.0, size=len(active)) / np.maximum(pop.rate_per_day[active], 1e-6)
        t = t + (gap * DAY).astype(np.int64)
        keep = alive & (t < now)
        active, t = active[keep], t[keep]
    return np.concatenate(users or [np.empty(0, np.int64)]), np.concatenate(
        times or [np.empty(0, np.int64)]
    )


def _pregnancy_runs(
    rng: np.random.Generator, pop: Population, now: int
) -> tuple[IntArray, IntArray]:
    who = np.flatnonzero(pop.expecting)
    room = np.maximum(now - 60 * DAY - pop.register[who], 0)
    start = pop.register[who] + (rng.random(len(who)) * room).astype(np.int64)
    runs = rng.integers(4, 10, size=len(who))
    users = np.repeat(who, runs)
    step = rng.integers(14, 36, size=len(users)) * DAY
    group_first = np.repeat(np.cumsum(runs) - runs, runs)
    cumulative = np.cumsum(step)
    offset = cumulative - (cumulative[group_first] - step[group_first])
    times = np.repeat(start, runs) + offset
    keep = times < now
    return users[keep].astype(np.int64), times[keep].astype(np.int64)


def make_purchases(
    rng: np.random.Generator,
    pop: Population,
    catalog: Catalog,
    pools: Pools,
    cities: CityColumns,
    as_of: datetime,
) -> Purchases:
    """All clean orders of ``pop`` up to ``as_of``."""
    now = seconds(as_of)
    users, times = _purchase_times(rng, pop, now)
    baby_users, baby_times = _pregnancy_runs(rng, pop, now)
    n_regular = len(users)
    users = np.concatenate([users, baby_users])
    times = np.concatenate([times, baby_times])
    times = np.maximum(at_shopping_hour(rng, day_start(times)), pop.register[users] + 2 * HOUR)
    times = np.minimum(times, now - 1)
    cumulative = np.cumsum(pop.preference[users], axis=1)
    category = (rng.random(len(users))[:, None] > cumulative[:, :-1]).sum(axis=1).astype(np.int64)
    category[n_regular:] = CATEGORY_KEYS.index("baby_mother")
    order = np.argsort(times, kind="stable")
    users, times, category = users[order], times[order], category[order]
    n = len(users)
    item = catalog.sample(rng, category)
    bulk = category == CATEGORY_KEYS.index("groceries")
    quantity = np.where(
        bulk,
        rng.choice([1, 2, 3], size=n, p=[0.6, 0.25, 0.15]),
        rng.choice([1, 2, 3], size=n, p=[0.82, 0.13, 0.05]),
    ).astype(np.int64)
    member_factor = np.where(pop.member[users], 1.0 - MEMBER_DISCOUNT, 1.0)
    gross = np.round(
        catalog.price_cents[item] * quantity * price_index(times) * member_factor
    ).astype(np.int64)
    new_customer = times - pop.register[users] < 30 * DAY
    gets_coupon = rng.random(n) < np.where(new_customer, 0.5, 0.12)
    coupon = np.minimum(
        _COUPONS[rng.integers(0, len(_COUPONS), size=n)],
        (gross * 0.3).astype(np.int64) // 100 * 100,
    )
    coupon = np.where(gets_coupon, coupon, 0)
    paid = np.maximum(gross - coupon, 1)
    refund_p = np.where(category == CATEGORY_KEYS.index("apparel"), 0.09, 0.04)
    refund_time = times + rng.integers(1, 15, size=n) * DAY + rng.integers(0, DAY, size=n)
    refunded = (rng.random(n) < refund_p) & (refund_time <= now)
    own_name = rng.random(n) < 0.82
    name = pc.if_else(
        pa.array(own_name), pc.take(pop.name, pa.array(users)), _other_names(rng, pools, n)
    )
    phone = pc.if_else(
        pa.array(rng.random(n) < 0.85), pc.take(pop.phone, pa.array(users)), mobile_numbers(rng, n)
    )
    address = pc.if_else(
        pa.array(rng.random(n) < 0.75),
        pc.take(pop.address, pa.array(users)),
        addresses(rng, pools, cities, pop.city[users]),
    )
    return Purchases(
        user=users,
        item=item,
        time=times,
        quantity=quantity,
        coupon_cents=coupon,
        paid_cents=paid,
        channel=rng.choice(3, size=n, p=[0.5, 0.42, 0.08]).astype(np.int64),
        refunded=refunded,
        refund_time=refund_time,
        consignee_name=name,
        consignee_phone=phone,
        consignee_address=address,
    )


def _other_names(rng: np.random.Generator, pools: Pools, n: int) -> pa.Array:
    given = pools.male_given + pools.female_given
    return concat(
        pick(pools.family_names, rng.integers(0, len(pools.family_names), size=n)),
        pick(given, rng.integers(0, len(given), size=n)),
    )
