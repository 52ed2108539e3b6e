"""Differential test: the demo's tag values equal an independent pandas computation."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pandas as pd

from profileguard.model import snapshot
from profileguard.pipeline.profiles import build_profiles
from profileguard.pipeline.services import open_services

AS_OF = pd.Timestamp("2026-11-01")


def window(df: pd.DataFrame, col: str, days: int | None) -> pd.DataFrame:
    upper = df[col] <= AS_OF
    if days is None:
        return df[upper]
    return df[upper & (df[col] > AS_OF - pd.Timedelta(days=days))]


def expected_tags(orders: pd.DataFrame, events: pd.DataFrame, users: pd.DataFrame
                  ) -> dict[str, pd.Series]:
    paid = orders[orders.status == "paid"]
    o30, o90, o365 = (window(paid, "order_time", d) for d in (30, 90, 365))
    all365 = window(orders, "order_time", 365)
    e30 = window(events, "ts", 30)
    out: dict[str, pd.Series] = {}
    s30 = o30.groupby("user_id").paid_amount.sum()
    out["spend_band_30d"] = s30.map(lambda v: "<300" if v < 300 else "300-500" if v < 500 else "500+")
    out["orders_90d"] = o90.groupby("user_id").size().astype(str)
    out["avg_order_value"] = o365.groupby("user_id").paid_amount.mean().map(lambda v: f"{v:.2f}")
    g = all365.groupby("user_id")
    out["refund_rate"] = (g.status.apply(lambda s: (s == "refunded").sum()) / g.size()).map(
        lambda v: f"{round(v, 3)}")
    out["active_days_30d"] = e30.groupby("user_id").ts.apply(lambda s: s.dt.date.nunique()).astype(str)
    out["coupon_share"] = o365.groupby("user_id").coupon_amount.apply(
        lambda s: round((s > 0).sum() / len(s), 3)).map(str)
    last = window(paid, "order_time", None).groupby("user_id").order_time.max()
    out["recency_days"] = ((AS_OF.normalize() - last.dt.normalize()).dt.days).astype(str)
    out["frequency_365d"] = o365.groupby("user_id").size().astype(str)
    age_days = (AS_OF - pd.to_datetime(users.set_index("user_id").birth_date)).dt.days
    edges = [(18, "<18"), (25, "18-24"), (31, "25-30"), (41, "31-40"), (60, "41-59")]
    out["age_band"] = age_days.map(lambda d: next((b for y, b in edges if d < y * 365.25), "60+"))
    return out


def test_descriptive_tags_match_pandas(demo_ws: Path) -> None:
    with open_services(demo_ws) as svc:
        build_profiles(svc, dt.datetime(2026, 11, 1))
        e = svc.engine
        orders = e.query_arrow("SELECT user_id, order_time, status, "
                               "CAST(paid_amount AS DOUBLE) AS paid_amount, "
                               "CAST(coupon_amount AS DOUBLE) AS coupon_amount FROM orders").to_pandas()
        events = e.query_arrow("SELECT user_id, ts, event_type, category FROM events").to_pandas()
        users = e.query_arrow("SELECT user_id, birth_date FROM users").to_pandas()
        snap = snapshot.current(e)
        assert snap is not None
        held = e.query_arrow(f"SELECT user_id, tag, value FROM {snap.long}").to_pandas()
        allowed = {(r[0], r[1]) for r in e.query_rows(
            f"SELECT DISTINCT user_id, purpose FROM {snap.long}")}
    expected = expected_tags(orders, events, users)
    checked = 0
    for tag, series in expected.items():
        got = held[held.tag == tag].set_index("user_id").value
        assert len(got) > 0, tag
        for user, value in got.items():
            want = series.get(user)
            assert want is not None, (tag, user)
            if tag in {"avg_order_value"}:  # SQL rounds the exact decimal, pandas a float
                assert abs(float(value) - float(want)) <= 0.01 + 1e-9, (tag, user, value, want)
            elif tag in {"refund_rate", "coupon_share"}:
                assert np.isclose(float(value), float(want)), (tag, user, value, want)
            else:
                assert str(value) == str(want), (tag, user, value, want)
            checked += 1
        # users the build left out must lack consent for the tag's purpose
        purpose = "tiered_operations" if tag in {"recency_days", "frequency_365d"} else "personalization"
        for user in set(series.index) - set(got.index):
            assert (user, purpose) not in allowed, (tag, user)
    assert checked > 500
