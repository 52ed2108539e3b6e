"""count(DISTINCT x) in a fused plan, computed as two aggregations, equals DuckDB's own."""

from __future__ import annotations

from datetime import datetime

import duckdb
import pytest

from profileguard.model.plan import SourceTable, fuse_plan
from profileguard.model.tagsql import ValidatedTag, validate_tag

AS_OF = datetime(2024, 6, 30)
COLS = ["uid", "kind", "shop", "ts"]
EVENTS = SourceTable("events", "events", user_column="uid", time_column="ts")


@pytest.fixture
def con() -> duckdb.DuckDBPyConnection:
    c = duckdb.connect()
    c.execute("CREATE TABLE events (uid VARCHAR, kind VARCHAR, shop VARCHAR, ts TIMESTAMP)")
    c.execute("""INSERT INTO events VALUES
        ('u1', 'view', 's1', '2024-06-29 10:00:00'),
        ('u1', 'view', 's1', '2024-06-29 11:00:00'),  -- same day, same shop
        ('u1', 'cart', 's2', '2024-06-20 10:00:00'),
        ('u1', 'view', NULL, '2024-06-18 10:00:00'),  -- NULL shop: not a value
        ('u1', 'view', 's3', '2024-05-01 10:00:00'),  -- in 90d, not in 30d
        ('u2', 'cart', NULL, '2024-06-25 10:00:00'),  -- only NULL shops in 30d
        ('u3', 'view', 's1', '2024-04-15 10:00:00'),  -- no row in 30d
        ('u4', 'view', 's9', '2024-06-30 00:00:01')   -- after as_of: not read
    """)
    return c


def tag(name: str, value: str, window: str, **kw: object) -> ValidatedTag:
    return validate_tag(name, "descriptive", value, columns=COLS, source="events",
                        window=window, **kw)  # type: ignore[arg-type]


def test_distinct_counts_match_duckdb_count_distinct_per_window_and_filter(
        con: duckdb.DuckDBPyConnection) -> None:
    tags = [tag("days_30d", "count(DISTINCT CAST(ts AS DATE))", "30d"),
            tag("shops_30d", "count(DISTINCT shop)", "30d"),
            tag("view_shops_90d", "count(DISTINCT shop)", "90d", filter="kind = 'view'"),
            tag("shop_share_90d", "round(count(DISTINCT shop) / count(*), 3)", "90d",
                inputs={"shops": "count(DISTINCT shop)"})]
    step = fuse_plan(tags, EVENTS, AS_OF)
    assert "_distinct" in step.sql and "COUNT(DISTINCT" not in step.sql.upper()
    got = {r[0]: r[1:] for r in con.sql(step.sql).fetchall()}
    expected = {r[0]: r[1:] for r in con.sql("""
        SELECT uid,
          CASE WHEN count(*) FILTER (WHERE ts > TIMESTAMP '2024-05-31') > 0 THEN
            count(DISTINCT CAST(ts AS DATE)) FILTER (WHERE ts > TIMESTAMP '2024-05-31') END,
          CASE WHEN count(*) FILTER (WHERE ts > TIMESTAMP '2024-05-31') > 0 THEN
            count(DISTINCT shop) FILTER (WHERE ts > TIMESTAMP '2024-05-31') END,
          CASE WHEN count(*) FILTER (WHERE kind = 'view') > 0 THEN
            count(DISTINCT shop) FILTER (WHERE kind = 'view') END,
          round(count(DISTINCT shop) / count(*), 3), count(DISTINCT shop)
        FROM events WHERE ts > TIMESTAMP '2024-04-01' AND ts <= TIMESTAMP '2024-06-30'
        GROUP BY uid""").fetchall()}
    assert got == expected
    assert got["u2"][1] == 0  # rows in the window, none with a value: 0, as count() gives
    assert got["u3"][0] is None  # no row in the window: absent
    types = con.sql(f"DESCRIBE {step.sql}").fetchall()
    assert {r[0]: r[1] for r in types}["days_30d"] == "BIGINT"


def test_distinct_days_in_a_short_window_are_a_bitmap_and_exact(
        con: duckdb.DuckDBPyConnection) -> None:
    """Days of the time column in a window of ≤ DAY_BITS days: one aggregate (no per-value
    step), equal to count(DISTINCT) at the window's edges (offset 0 and offset span)."""
    con.execute("""INSERT INTO events VALUES
        ('u5', 'view', 's1', '2024-06-30 00:00:00'),   -- as_of itself: offset 0
        ('u5', 'view', 's1', '2024-05-31 00:00:01'),   -- first second of the 30d window
        ('u5', 'view', 's1', '2024-05-31 00:00:00'),   -- just outside it (in the 90d scan)
        ('u5', 'view', 's1', '2024-04-01 00:00:01')    -- 90 days back: the scan's edge
    """)
    tags = [tag("days_30d", "count(DISTINCT CAST(ts AS DATE))", "30d"),
            tag("view_days_60d", "count(DISTINCT CAST(ts AS DATE))", "60d", filter="kind = 'view'"),
            tag("days_90d", "count(DISTINCT CAST(ts AS DATE))", "90d")]
    step = fuse_plan(tags, EVENTS, AS_OF)
    sql = step.sql.upper()
    assert sql.count("BIT_OR(") == 2  # 30d and 60d; 90 days do not fit 63 bits
    assert sql.count("_DISTINCT") >= 1 and "COUNT(DISTINCT" not in sql
    got = {r[0]: r[1:] for r in con.sql(step.sql).fetchall()}
    expected = {r[0]: r[1:] for r in con.sql("""
        SELECT uid,
          CASE WHEN count(*) FILTER (WHERE ts > TIMESTAMP '2024-05-31') > 0 THEN
            count(DISTINCT CAST(ts AS DATE)) FILTER (WHERE ts > TIMESTAMP '2024-05-31') END,
          CASE WHEN count(*) FILTER (WHERE ts > TIMESTAMP '2024-05-01' AND kind = 'view') > 0
            THEN count(DISTINCT CAST(ts AS DATE)) FILTER (WHERE ts > TIMESTAMP '2024-05-01'
            AND kind = 'view') END,
          count(DISTINCT CAST(ts AS DATE))
        FROM events WHERE ts > TIMESTAMP '2024-04-01' AND ts <= TIMESTAMP '2024-06-30'
        GROUP BY uid""").fetchall()}
    assert got == expected
    assert got["u5"] == (2, 2, 3)
    types = {r[0]: r[1] for r in con.sql(f"DESCRIBE {step.sql}").fetchall()}
    assert types["days_30d"] == types["view_days_60d"] == "BIGINT"
