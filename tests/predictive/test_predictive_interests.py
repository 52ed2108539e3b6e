"""Interests with exponential time decay: fading, refunds, top-3, and SQL equal to Arrow."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pyarrow as pa
import pytest
import sqlglot

from profileguard.errors import ProfileguardError
from profileguard.model.predictive.interests import (
    InterestConfig,
    interests_from_arrow,
    interests_sql,
)
from profileguard.store.engine import DuckDBEngine

T0 = dt.datetime(2025, 3, 1, 12, 0)


def _events(rows: list[tuple[str, dt.datetime, str, str, bool]]) -> pa.Table:
    cols = list(zip(*rows, strict=True))
    return pa.table(
        {
            "user": list(cols[0]),
            "ts": pa.array(list(cols[1]), pa.timestamp("us")),
            "event_type": list(cols[2]),
            "category": list(cols[3]),
            "refunded": list(cols[4]),
        }
    )


def _categories(table: pa.Table, user: str) -> list[str]:
    return [r["category"] for r in table.to_pylist() if r["user"] == user]


def test_a_single_accidental_purchase_fades_below_the_threshold_without_new_events():
    cfg = InterestConfig(half_life_days=30.0, threshold=2.0)
    events = _events([("u1", T0, "purchase", "baby", False)])
    fade = cfg.fade_days(cfg.weights["purchase"])  # 30 * log2(10 / 2) ≈ 69.7 days
    assert 60 < fade < 80
    soon = interests_from_arrow(events, T0 + dt.timedelta(days=fade - 1), cfg)
    later = interests_from_arrow(events, T0 + dt.timedelta(days=fade + 1), cfg)
    assert _categories(soon, "u1") == ["baby"]
    assert _categories(later, "u1") == []
    # the same holds when the engine computes it in SQL
    with DuckDBEngine() as engine:
        engine.load_arrow("events", events)
        sql = interests_sql("events", T0 + dt.timedelta(days=fade + 1), cfg)
        assert engine.query_arrow(sql).num_rows == 0


def test_a_longer_half_life_keeps_the_interest_longer():
    events = _events([("u1", T0, "purchase", "baby", False)])
    as_of = T0 + dt.timedelta(days=90)
    assert _categories(interests_from_arrow(events, as_of, InterestConfig()), "u1") == []
    kept = interests_from_arrow(events, as_of, InterestConfig(half_life_days=60.0))
    assert _categories(kept, "u1") == ["baby"]


def test_purchase_outweighs_cart_which_outweighs_view_and_refunds_subtract():
    events = _events(
        [
            ("u1", T0, "view", "books", False),
            ("u1", T0, "add_to_cart", "toys", False),
            ("u1", T0, "purchase", "shoes", False),
            ("u1", T0, "purchase", "phones", False),
            ("u1", T0, "purchase", "phones", True),  # bought then refunded: cancels out
            ("u1", T0, "view", "books", False),
        ]
    )
    got = interests_from_arrow(events, T0, InterestConfig(threshold=0.5))
    assert _categories(got, "u1") == ["shoes", "toys", "books"]
    assert got.column("rank").to_pylist() == [1, 2, 3]


def test_only_top_three_categories_are_kept_and_future_events_are_ignored():
    events = _events(
        [("u1", T0, "purchase", c, False) for c in ["a", "b", "c", "d"]]
        + [
            ("u1", T0, "purchase", "a", False),
            ("u1", T0 + dt.timedelta(days=1), "purchase", "z", False),
        ]
    )
    got = interests_from_arrow(events, T0, InterestConfig())
    assert _categories(got, "u1") == ["a", "b", "c"]


def test_sql_on_the_engine_agrees_with_the_arrow_function():
    rng = np.random.default_rng(7)
    n = 2000
    types = np.array(["view", "add_to_cart", "purchase", "share"])
    events = pa.table(
        {
            "user": rng.integers(0, 60, n).astype(str),
            "ts": pa.array(
                np.datetime64(T0, "s")
                - rng.integers(-5 * 86400, 120 * 86400, n).astype("timedelta64[s]"),
                pa.timestamp("us"),
            ),
            "event_type": types[rng.integers(0, 4, n)],
            "category": rng.choice(["a", "b", "c", "d", "e"], n),
            "refunded": rng.random(n) < 0.1,
        }
    )
    cfg = InterestConfig(half_life_days=20.0, threshold=1.0)
    arrow = interests_from_arrow(events, T0, cfg).to_pylist()
    with DuckDBEngine() as engine:
        engine.load_arrow("events", events)
        sql = engine.query_arrow(interests_sql("events", T0, cfg)).to_pylist()
    assert len(arrow) == len(sql) > 50
    for a, s in zip(arrow, sql, strict=True):
        assert (a["user"], a["category"], a["rank"]) == (s["user"], s["category"], s["rank"])
        assert a["affinity"] == pytest.approx(s["affinity"], rel=1e-9)


def test_interest_sql_transpiles_for_spark():
    sql = interests_sql("events", T0, dialect="spark")
    assert "POWER(" in sql and "UNIX" not in sql and "ROW_NUMBER()" in sql
    assert sqlglot.parse_one(sql, read="spark") is not None


def test_a_non_positive_half_life_is_refused():
    with pytest.raises(ProfileguardError, match="half-life"):
        InterestConfig(half_life_days=0)
