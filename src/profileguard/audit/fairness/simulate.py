"""A seeded market simulator for the price audit: quotes, users and items with known truth.

Tests, benchmarks and the demo share it so that "the audit finds a planted 3% surcharge"
and "the audit flags nothing under a confounded null" are checked against one model of
the world. The confounders are the ones a real platform has and a naive comparison of
prices by profile would mistake for discrimination:

* an A/B test whose bucket B is 4% dearer and is assigned mostly to iOS devices;
* coupons (5–12% off) given mostly to new users, so their net prices look lower;
* prices rising over the window (hour by hour) while new users arrive mostly late;
* membership prices (5% off on half the items) for members, who are mostly gold tier;
* a cheaper app channel used mostly by young users.

Surcharges are planted on the gross price of quotes whose user is in a given group
(optionally only in one item category).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

START = pd.Timestamp("2026-11-01T00:00:00Z")


@dataclass(frozen=True)
class Surcharge:
    """Charge ``pct`` (0.03 = 3%) more to users whose ``attribute`` equals ``group``."""

    attribute: str
    group: str
    pct: float
    category: str | None = None


@dataclass(frozen=True)
class SimulationSpec:
    n_quotes: int = 30_000
    #: default: one user per 15 quotes
    n_users: int | None = None
    n_items: int = 40
    n_categories: int = 4
    days: int = 3
    seed: int = 0
    surcharges: tuple[Surcharge, ...] = ()
    #: per-quote price noise (log scale) and a per-user multiplier unrelated to the profile
    noise: float = 0.08
    user_noise: float = 0.03


@dataclass(frozen=True)
class SimulatedMarket:
    quotes: pd.DataFrame
    users: pd.DataFrame
    items: pd.DataFrame


def _choice(rng: np.random.Generator, labels: list[str], probs: np.ndarray) -> np.ndarray:
    """Draw one label per row of ``probs`` (rows sum to 1)."""
    cum = np.cumsum(np.asarray(probs, dtype=np.float64), axis=1)
    draws: np.ndarray = rng.random(int(cum.shape[0]))
    idx = (draws[:, None] > cum).sum(axis=1)
    out: np.ndarray = np.asarray(labels, dtype=object)[np.minimum(idx, len(labels) - 1)]
    return out


def _users(rng: np.random.Generator, n: int) -> pd.DataFrame:
    tenure = rng.choice(np.array(["new", "1-2y", "3y+"], dtype=object), n, p=[0.35, 0.35, 0.30])
    is_new = tenure == "new"
    is_old = tenure == "3y+"
    orders_p = np.where(
        is_new[:, None], [0.8, 0.2, 0.0], np.where(is_old[:, None], [0.1, 0.4, 0.5], [0.3, 0.5, 0.2])
    )
    orders = _choice(rng, ["0-5", "6-20", "21+"], orders_p)
    loyalty_p = np.where(
        is_new[:, None], [0.85, 0.15, 0.0], np.where(is_old[:, None], [0.2, 0.35, 0.45], [0.5, 0.35, 0.15])
    )
    loyalty = _choice(rng, ["bronze", "silver", "gold"], loyalty_p)
    member = np.where(rng.random(n) < np.where(loyalty == "gold", 0.7, 0.2), "yes", "no")
    age = rng.choice(
        np.array(["18-24", "25-34", "35-44", "45-59", "60+"], dtype=object),
        n,
        p=[0.2, 0.3, 0.25, 0.17, 0.08],
    )
    return pd.DataFrame(
        {
            "user_id": [f"u{i:07d}" for i in range(n)],
            "tenure_band": tenure,
            "order_count_band": orders,
            "loyalty_tier": loyalty,
            "member": member,
            "device_os": rng.choice(np.array(["ios", "android"], dtype=object), n, p=[0.4, 0.6]),
            "city_tier": rng.choice(np.array(["1", "2", "3"], dtype=object), n, p=[0.3, 0.4, 0.3]),
            "age_band": age,
            "gender": rng.choice(np.array(["f", "m"], dtype=object), n, p=[0.55, 0.45]),
        }
    )


def simulate_market(spec: SimulationSpec) -> SimulatedMarket:
    """Draw one market from ``spec`` (same spec, same market)."""
    rng = np.random.default_rng(spec.seed)
    n = spec.n_quotes
    n_users = spec.n_users or max(n // 15, 20)
    users = _users(rng, n_users)
    categories = np.array([f"cat{c}" for c in range(spec.n_categories)], dtype=object)
    items = pd.DataFrame(
        {
            "item_id": [f"i{i:05d}" for i in range(spec.n_items)],
            "category": categories[np.arange(spec.n_items) % spec.n_categories],
        }
    )
    base = np.exp(rng.normal(np.log(120.0), 0.8, spec.n_items))
    member_item = rng.random(spec.n_items) < 0.5
    hours = spec.days * 24

    # who quotes what, when
    activity = rng.lognormal(0.0, 0.7, n_users)
    u = rng.choice(n_users, n, p=activity / activity.sum())
    popularity = 1.0 / np.arange(1, spec.n_items + 1) ** 0.6
    it = rng.choice(spec.n_items, n, p=popularity / popularity.sum())
    tenure = users["tenure_band"].to_numpy()[u]
    is_new = tenure == "new"
    position = np.where(is_new, rng.beta(3.0, 1.2, n), rng.random(n))
    hour = np.minimum((position * hours).astype(np.int64), hours - 1)
    ts = START + pd.to_timedelta(hour * 3600 + rng.integers(0, 3600, n), unit="s")

    # prices: item level, rising over the window, with item × hour movements
    drift = 0.10 * np.arange(hours) / hours
    item_hour = rng.normal(0.0, 0.02, (spec.n_items, hours)) + drift[None, :]
    log_list = np.log(base[it]) + item_hour[it, hour]

    os_ = users["device_os"].to_numpy()[u]
    ab_b = rng.random(n) < np.where(os_ == "ios", 0.8, 0.2)
    member = users["member"].to_numpy()[u] == "yes"
    member_price = member & member_item[it]
    age = users["age_band"].to_numpy()[u]
    young = np.isin(age, ["18-24", "25-34"])
    channel = _choice(
        rng,
        ["app", "web", "mini_program"],
        np.where(young[:, None], [0.7, 0.1, 0.2], [0.3, 0.5, 0.2]),
    )
    user_effect = rng.normal(0.0, spec.user_noise, n_users)[u]
    log_gross = (
        log_list
        + 0.04 * ab_b
        - 0.05 * member_price
        - 0.02 * (channel == "app")
        + user_effect
        + rng.normal(0.0, spec.noise, n)
    )
    for s in spec.surcharges:
        hit = users[s.attribute].to_numpy()[u] == s.group
        if s.category is not None:
            hit &= items["category"].to_numpy()[it] == s.category
        log_gross = log_gross + np.log1p(s.pct) * hit
    gross = np.round(np.exp(log_gross), 2)
    has_coupon = rng.random(n) < np.where(is_new, 0.6, 0.1)
    coupon = np.where(has_coupon, np.round(gross * rng.uniform(0.05, 0.12, n), 2), 0.0)
    quotes = pd.DataFrame(
        {
            "user_id": users["user_id"].to_numpy()[u],
            "item_id": items["item_id"].to_numpy()[it],
            "ts": ts,
            "price": np.round(gross - coupon, 2),
            "coupon": coupon,
            "member_price": member_price.astype(np.int64),
            "ab_bucket": np.where(ab_b, "B", "A"),
            "channel": channel,
            "list_price": np.round(np.exp(log_list), 2),
        }
    )
    return SimulatedMarket(quotes=quotes, users=users, items=items)
