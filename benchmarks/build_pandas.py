"""The demo's descriptive and RFM tags written the straightforward pandas way.

This is the contender ``benchmarks/build.py`` compares the profile build with: read the
Parquet files with ``pandas.read_parquet`` (only the columns the tags use), parse the text
amounts, cut each window relative to ``as_of`` and compute every tag of the compliant demo
manifest with ``groupby`` — then the RFM scores (``ntile(5)`` as SQL defines it) and the
segment. Consent is not applied: the benchmark's decisions allow every user every purpose,
so in the build it removes nothing either. Not a library module: it is benchmark code.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np
import pandas as pd


def _window(frame: pd.DataFrame, col: str, as_of: datetime, days: int | None) -> pd.DataFrame:
    end = pd.Timestamp(as_of)
    keep = frame[col] <= end
    if days is not None:
        keep &= frame[col] > end - timedelta(days=days)
    return frame[keep]


def ntile(values: pd.Series, n: int, ascending: bool) -> pd.Series:
    """SQL ``ntile(n) OVER (ORDER BY values)``: buckets 1..n, the first ones one row larger."""
    order = values.sort_values(ascending=ascending, kind="stable").index
    rows = len(order)
    size, extra = divmod(rows, n)
    bounds = np.cumsum([size + 1 if i < extra else size for i in range(n)])
    bucket = np.searchsorted(bounds, np.arange(rows), side="right") + 1
    return pd.Series(bucket, index=order).reindex(values.index)


def _users(path: Path, as_of: datetime) -> pd.DataFrame:
    u = pd.read_parquet(path, columns=["user_id", "gender", "birth_date", "city_tier"])
    u["birth_date"] = pd.to_datetime(u["birth_date"], errors="coerce")
    g = u.groupby("user_id").agg(gender=("gender", "first"), birth=("birth_date", "max"),
                                 city_tier=("city_tier", "first"))
    days = (pd.Timestamp(as_of).normalize() - g["birth"]).dt.days
    edges = [18, 25, 31, 41, 60]
    labels = np.array(["<18", "18-24", "25-30", "31-40", "41-59", "60+"], dtype=object)
    idx = np.searchsorted(np.array(edges) * 365.25, days.to_numpy(dtype=float), side="right")
    g["age_band"] = pd.Series(np.where(days.isna(), None, labels[np.minimum(idx, 5)]),
                              index=g.index)
    return g[["gender", "age_band", "city_tier"]]


def _orders(path: Path, as_of: datetime) -> pd.DataFrame:
    o = pd.read_parquet(path, columns=["user_id", "order_time", "paid_amount", "coupon_amount",
                                       "status"])
    o["paid_amount"] = pd.to_numeric(o["paid_amount"], errors="coerce")
    o["coupon_amount"] = pd.to_numeric(o["coupon_amount"], errors="coerce")
    o["order_time"] = pd.to_datetime(o["order_time"], errors="coerce")
    paid = o[o["status"] == "paid"]
    out = pd.DataFrame(index=pd.Index(o["user_id"].dropna().unique(), name="user_id"))
    s30 = _window(paid, "order_time", as_of, 30).groupby("user_id")["paid_amount"].sum()
    out["spend_band_30d"] = pd.cut(s30, [-np.inf, 300, 500, np.inf], right=False,
                                   labels=["<300", "300-500", "500+"]).astype(object)
    out["orders_90d"] = _window(paid, "order_time", as_of, 90).groupby("user_id").size()
    p365 = _window(paid, "order_time", as_of, 365)
    g = p365.groupby("user_id")
    out["avg_order_value"] = g["paid_amount"].mean().round(2)
    with_coupon = (p365["coupon_amount"] > 0).groupby(p365["user_id"]).sum()
    out["coupon_share"] = (with_coupon / g.size()).round(3)
    out["frequency_365d"] = g.size()
    out["monetary_365d"] = g["paid_amount"].sum().round(2)
    a365 = _window(o, "order_time", as_of, 365)
    refunded = (a365["status"] == "refunded").groupby(a365["user_id"]).sum()
    out["refund_rate"] = (refunded / a365.groupby("user_id").size()).round(3)
    last = _window(paid, "order_time", as_of, None).groupby("user_id")["order_time"].max()
    out["recency_days"] = (pd.Timestamp(as_of).normalize() - last.dt.normalize()).dt.days
    return out


def _events(path: Path, as_of: datetime) -> pd.DataFrame:
    e = pd.read_parquet(path, columns=["user_id", "ts", "event_type", "category"])
    e90 = _window(e, "ts", as_of, 90)
    liked = e90[e90["event_type"].isin(["view", "add_to_cart", "purchase"])]
    counts = liked.groupby(["user_id", "category"]).size().reset_index(name="n")
    counts = counts.sort_values(["user_id", "n"], ascending=[True, False], kind="stable")
    out = pd.DataFrame(index=pd.Index(e["user_id"].dropna().unique(), name="user_id"))
    out["preferred_category"] = counts.drop_duplicates("user_id").set_index("user_id")["category"]
    e30 = _window(e, "ts", as_of, 30)
    out["active_days_30d"] = e30.assign(day=e30["ts"].dt.normalize()).groupby(
        "user_id")["day"].nunique()
    carts = (e30["event_type"] == "add_to_cart").groupby(e30["user_id"]).sum().astype("float64")
    checkouts = (e30["event_type"] == "checkout").groupby(e30["user_id"]).sum().astype("float64")
    rate = (1 - checkouts / carts.where(carts > 0)).clip(lower=0).round(3)
    rate = rate.fillna(0.0)  # DuckDB's greatest(0, NULL) is 0: no carts → 0, not absent
    out["cart_abandonment_rate"] = rate
    return out


Rule = Callable[[pd.Series, pd.Series, pd.Series], pd.Series]
SEGMENTS: list[tuple[str, Rule]] = [
    ("champions", lambda r, f, m: (r >= 4) & (f >= 4) & (m >= 4)),
    ("loyal", lambda r, f, m: (r >= 2) & (f >= 3) & (m >= 3)),
    ("potential_loyalist", lambda r, f, m: (r >= 3) & (f <= 3) & (m <= 3)),
    ("new", lambda r, f, m: (r >= 4) & (f == 1) & (m == 1)),
    ("promising", lambda r, f, m: r.between(3, 4) & (f == 1) & (m == 1)),
    ("need_attention", lambda r, f, m: r.between(2, 3) & f.between(2, 3) & m.between(2, 3)),
    ("about_to_sleep", lambda r, f, m: r.between(2, 3) & (f <= 2) & (m <= 2)),
    ("at_risk", lambda r, f, m: (r <= 2) & (f >= 2) & (m >= 2)),
    ("cant_lose_them", lambda r, f, m: (r == 1) & (f >= 4) & (m >= 4)),
    ("lost", lambda r, f, m: (r <= 2) & (f <= 2) & (m <= 2)),
]


def _rfm(wide: pd.DataFrame) -> pd.DataFrame:
    base = wide[["recency_days", "frequency_365d", "monetary_365d"]].dropna()
    r = ntile(base["recency_days"], 5, ascending=False)
    f = ntile(base["frequency_365d"], 5, ascending=True)
    m = ntile(base["monetary_365d"], 5, ascending=True)
    names = np.array([s for s, _ in SEGMENTS], dtype=object)
    hits = np.column_stack([cond(r, f, m).to_numpy(dtype=bool) for _, cond in SEGMENTS])
    first = hits.argmax(axis=1)  # the first rule that matches, as SQL CASE does
    seg = np.where(hits.any(axis=1), names[first], "unclassified")
    return pd.DataFrame({"r_score": r, "f_score": f, "m_score": m, "rfm_segment": seg},
                        index=base.index)


def build_tags(files: dict[str, Path], as_of: datetime) -> pd.DataFrame:
    """One row per user, one column per demo tag (NaN/None where the tag is absent)."""
    wide = _users(files["users"], as_of).join(
        [_orders(files["orders"], as_of), _events(files["events"], as_of)], how="outer")
    return wide.join(_rfm(wide), how="left")
