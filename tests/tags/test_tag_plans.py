"""Fused tag plans run on DuckDB with the expected values, and transpile to Spark."""

from __future__ import annotations

from datetime import datetime

import duckdb
import pytest
import sqlglot

from profileguard.model.plan import (
    PlanStep,
    SourceTable,
    derived_plan,
    explain,
    fuse_plan,
    group_descriptive,
)
from profileguard.model.tagsql import TagSQLError, ValidatedTag, validate_tag

AS_OF = datetime(2024, 6, 30, 12, 0, 0)
COLS = ["uid", "amount", "status", "ts"]
ORDERS = SourceTable("orders", "orders", user_column="uid", time_column="ts")


@pytest.fixture
def con() -> duckdb.DuckDBPyConnection:
    c = duckdb.connect()
    c.execute("CREATE TABLE orders (uid VARCHAR, amount DECIMAL(10,2), status VARCHAR, ts TIMESTAMP)")
    c.execute("""INSERT INTO orders VALUES
        ('u1', 100.00, 'paid',     '2024-06-30 12:00:00'),  -- exactly as_of: inside
        ('u1', 250.50, 'paid',     '2024-06-10 08:00:00'),
        ('u1',  40.00, 'refunded', '2024-06-20 08:00:00'),
        ('u1', 999.00, 'paid',     '2024-05-31 12:00:00'),  -- exactly as_of - 30d: outside
        ('u1', 500.00, 'paid',     '2024-06-30 12:00:01'),  -- after as_of: outside
        ('u2',  30.00, 'refunded', '2024-06-15 09:00:00'),  -- no paid rows in window
        ('u3', 600.00, 'paid',     '2024-06-01 00:00:00'),
        ('u4',  70.00, 'paid',     '2024-01-01 00:00:00')   -- no rows in window
    """)
    c.execute("CREATE TABLE allowed (user_id VARCHAR)")
    c.execute("INSERT INTO allowed VALUES ('u1'), ('u2')")
    return c


def tag(name: str, value: str, window: str = "30d", **kw: object) -> ValidatedTag:
    return validate_tag(name, "descriptive", value, columns=COLS, source="orders",
                        window=window, **kw)  # type: ignore[arg-type]


def run(con: duckdb.DuckDBPyConnection, step: PlanStep) -> dict[str, tuple[object, ...]]:
    rows = con.sql(step.sql).fetchall()
    return {str(r[0]): tuple(r[1:]) for r in rows}


def spend_tags() -> list[ValidatedTag]:
    return [
        tag("spend_band_30d",
            "CASE WHEN sum(amount) < 300 THEN '<300' WHEN sum(amount) < 500 THEN '300-500' "
            "ELSE '500+' END", filter="status = 'paid'",
            inputs={"n_orders": "count(*)", "total": "round(sum(amount), 2)"}),
        tag("orders_30d", "count(*)"),
        tag("refund_rate_30d", "round(count_if(status = 'refunded') / count(*), 2)"),
    ]


def test_fused_plan_values_window_bounds_filter_and_absent_users(
        con: duckdb.DuckDBPyConnection) -> None:
    step = fuse_plan(spend_tags(), ORDERS, AS_OF)
    assert step.columns == ("spend_band_30d", "spend_band_30d__n_orders", "spend_band_30d__total",
                            "orders_30d", "refund_rate_30d")
    got = run(con, step)
    assert set(got) == {"u1", "u2", "u3"}  # u4 has no rows in the window
    assert got["u1"][0] == "300-500" and got["u1"][1] == 2 and float(got["u1"][2]) == 350.5
    assert got["u1"][3] == 3 and float(got["u1"][4]) == 0.33
    assert got["u2"][:3] == (None, None, None)  # rows in window, none pass the filter
    assert got["u2"][3] == 1 and float(got["u2"][4]) == 1.0
    assert got["u3"][0] == "500+"
    assert step.sql.count("FROM orders") == 1 and "GROUP BY" in step.sql


def test_window_all_keeps_rows_up_to_as_of_only(con: duckdb.DuckDBPyConnection) -> None:
    step = fuse_plan([tag("orders_all", "count(*)", window="all")], ORDERS, AS_OF)
    assert run(con, step) == {"u1": (4,), "u2": (1,), "u3": (1,), "u4": (1,)}


def test_as_of_is_substituted_as_a_timestamp_literal(con: duckdb.DuckDBPyConnection) -> None:
    t = tag("days_since_last", "date_diff('day', max(ts), as_of)", window="all")
    step = fuse_plan([t], ORDERS, AS_OF)
    assert "as_of" not in step.sql and "2024-06-30 12:00:00" in step.sql
    assert run(con, step)["u4"] == (181,)


def test_static_source_reads_the_whole_table() -> None:
    c = duckdb.connect()
    c.execute("CREATE TABLE users (id VARCHAR, birth DATE)")
    c.execute("INSERT INTO users VALUES ('a', '2000-07-01'), ('b', '1990-01-01')")
    t = validate_tag("age_band", "descriptive",
                     "CASE WHEN date_diff('year', max(birth), as_of) < 30 THEN '<30' ELSE '30+' END",
                     columns=["id", "birth"], source="users", window="all")
    step = fuse_plan([t], SourceTable("users", "users", "id"), AS_OF)
    assert "WHERE" not in step.sql
    assert dict(c.sql(step.sql).fetchall()) == {"a": "<30", "b": "30+"}


def test_static_source_refuses_a_day_window() -> None:
    t = validate_tag("x", "descriptive", "count(*)", columns=["id"], source="users", window="7d")
    with pytest.raises(TagSQLError, match="no time column"):
        fuse_plan([t], SourceTable("users", "users", "id"), AS_OF)


def test_windows_of_one_source_fuse_into_one_scan_with_their_own_bounds(
        con: duckdb.DuckDBPyConnection) -> None:
    tags = [tag("n_30d", "count(*)"), tag("n_90d", "count(*)", window="90d"),
            tag("n_all", "count(*)", window="all"),
            tag("paid_90d", "sum(amount)", window="90d", filter="status = 'paid'")]
    step = fuse_plan(tags, ORDERS, AS_OF)
    assert step.sql.count("FROM orders") == 1 and step.window == "30d,90d,all"
    got = run(con, step)
    # u1: the row at exactly as_of - 30d is in 90d only; the one after as_of in none
    assert got["u1"][:3] == (3, 4, 4) and float(got["u1"][3]) == 1349.5
    assert got["u2"] == (1, 1, 1, None)  # rows in the windows, none paid
    assert got["u4"] == (None, None, 1, None)  # no row in 30d or 90d: absent there, not 0


def test_tags_of_other_sources_do_not_fuse() -> None:
    other = validate_tag("b", "descriptive", "count(*)", columns=["id"], source="users",
                         window="all")
    with pytest.raises(TagSQLError, match="cannot fuse"):
        fuse_plan([tag("a", "count(*)"), other], ORDERS, AS_OF)
    groups = group_descriptive([tag("a", "count(*)"), tag("b", "count(*)", window="90d"), other,
                                tag("c", "sum(amount)")])
    assert {k: [t.name for t in v] for k, v in groups.items()} == {
        "orders": ["a", "b", "c"], "users": ["b"]}


@pytest.fixture
def views() -> duckdb.DuckDBPyConnection:
    c = duckdb.connect()
    c.execute("CREATE TABLE events (uid VARCHAR, cat VARCHAR, kind VARCHAR, ts TIMESTAMP)")
    c.execute("""INSERT INTO events VALUES
        ('u1', 'b', 'view', '2024-06-29'), ('u1', 'b', 'view', '2024-06-28'),
        ('u1', 'a', 'view', '2024-06-27'), ('u1', 'a', 'view', '2024-06-26'),
        ('u1', NULL, 'view', '2024-06-25'), ('u1', NULL, 'view', '2024-06-24'),
        ('u1', NULL, 'view', '2024-06-23'),          -- NULLs do not count
        ('u1', 'c', 'view', '2024-03-01'), ('u1', 'c', 'view', '2024-03-02'),
        ('u1', 'c', 'view', '2024-03-03'),           -- most frequent in 180d, not in 30d
        ('u2', 'z', 'view', '2024-06-20'), ('u2', 'y', 'cart', '2024-06-20'),
        ('u2', 'y', 'cart', '2024-06-21'),           -- filtered out
        ('u3', NULL, 'view', '2024-06-20'),          -- only NULLs: no mode
        ('u4', 'q', 'cart', '2024-06-20')            -- nothing passes the filter
    """)
    return c


def view_tag(name: str, value: str, window: str = "30d", **kw: object) -> ValidatedTag:
    return validate_tag(name, "descriptive", value, columns=["uid", "cat", "kind", "ts"],
                        source="events", window=window, **kw)  # type: ignore[arg-type]


def test_mode_is_the_most_frequent_value_ties_to_the_smallest_nulls_ignored(
        views: duckdb.DuckDBPyConnection) -> None:
    tags = [view_tag("fav", "mode(cat)", filter="kind = 'view'",
                     inputs={"n": "count(*)", "shout": "upper(mode(cat)) || '!' "}),
            view_tag("fav_180d", "mode(cat)", window="180d"),
            view_tag("views", "count(*)")]
    step = fuse_plan(tags, SourceTable("events", "events", "uid", "ts"), AS_OF)
    assert "_mode1" in step.sql and "ORDER BY" not in step.sql
    got = {str(r[0]): tuple(r[1:]) for r in views.sql(step.sql).fetchall()}
    assert got["u1"] == ("a", 7, "A!", "c", 7)  # b and a tie at 2 in 30d: the smaller wins
    assert got["u2"] == ("z", 1, "Z!", "y", 3)
    assert got["u3"] == (None, 1, None, None, 1)  # rows pass the filter, all NULL
    assert got["u4"] == (None, None, None, "q", 1)  # no row passes the filter


def test_mode_plan_transpiles_to_spark_with_a_struct_minimum() -> None:
    step = fuse_plan([view_tag("fav", "mode(cat)", filter="kind = 'view'")],
                     SourceTable("events", "events", "uid", "ts"), AS_OF, dialect="spark")
    assert "MIN(STRUCT(-`_n` AS n, `_v` AS v)).v" in step.sql
    assert sqlglot.parse_one(step.sql, read="spark").sql("spark") == step.sql


def test_allowed_users_restrict_the_rows_read(con: duckdb.DuckDBPyConnection) -> None:
    step = fuse_plan(spend_tags(), ORDERS, AS_OF, allowed_users="allowed")
    assert set(run(con, step)) == {"u1", "u2"}


def test_output_name_clash_is_refused() -> None:
    with pytest.raises(TagSQLError, match="clash"):
        fuse_plan([tag("a__n", "count(*)"), tag("a", "count(*)", inputs={"n": "count(*)"})],
                  ORDERS, AS_OF)


def test_any_value_with_filter_keeps_both_dialects_parseable(
        con: duckdb.DuckDBPyConnection) -> None:
    step = fuse_plan([tag("st", "any_value(status)", filter="amount > 200")], ORDERS, AS_OF)
    assert run(con, step)["u1"] == ("paid",) and run(con, step)["u2"] == (None,)
    spark = fuse_plan([tag("st", "any_value(status)", filter="amount > 200")], ORDERS, AS_OF,
                      dialect="spark")
    assert sqlglot.parse_one(spark.sql, read="spark").sql("spark") == spark.sql


def test_spark_plan_parses_back_and_keeps_filter_clauses() -> None:
    step = fuse_plan(spend_tags(), ORDERS, AS_OF, dialect="spark", allowed_users="allowed")
    assert "`uid`" in step.sql and "FILTER(WHERE" in step.sql
    parsed = sqlglot.parse_one(step.sql, read="spark")
    assert parsed.sql("spark") == step.sql
    assert len(list(parsed.find_all(sqlglot.exp.Filter))) >= 4


def derived_tags() -> list[ValidatedTag]:
    cat = {"spend": ["total"], "orders": [], "r_score": [], "m_score": [], "segment": []}
    return [
        validate_tag("segment", "derived",
                     "CASE WHEN r_score >= 2 AND m_score >= 2 THEN 'top' ELSE 'rest' END",
                     tags=cat),
        validate_tag("r_score", "derived", "ntile(2) OVER (ORDER BY orders DESC, spend__total)",
                     tags=cat),
        validate_tag("m_score", "derived", "ntile(2) OVER (ORDER BY spend__total)",
                     inputs={"rank": "rank() OVER (ORDER BY spend__total DESC)"}, tags=cat),
    ]


def test_derived_plan_runs_in_dependency_layers() -> None:
    c = duckdb.connect()
    c.execute("CREATE TABLE wide (user_id VARCHAR, spend VARCHAR, spend__total DOUBLE, orders INT)")
    c.execute("INSERT INTO wide VALUES ('a','x',10,5), ('b','x',20,1), ('c','x',30,3), ('d','x',40,2)")
    step = derived_plan(derived_tags(), "wide", {"spend", "orders"}, AS_OF)
    assert step.columns == ("m_score", "m_score__rank", "r_score", "segment")
    got = {r[0]: r[1:] for r in c.sql(step.sql).fetchall()}
    assert got["d"] == (2, 1, 2, "top")
    assert got["a"] == (1, 4, 1, "rest")
    assert got["c"] == (2, 2, 1, "rest")
    assert step.sql.count("layer_") >= 3


def test_derived_plan_transpiles_to_spark() -> None:
    step = derived_plan(derived_tags(), "wide", {"spend", "orders"}, AS_OF, dialect="spark")
    assert sqlglot.parse_one(step.sql, read="spark").sql("spark") == step.sql
    assert "NTILE(2) OVER (ORDER BY `spend__total` NULLS LAST, `user_id` NULLS LAST)" in step.sql


def test_explain_prints_each_step() -> None:
    text = explain([fuse_plan(spend_tags(), ORDERS, AS_OF),
                    derived_plan(derived_tags(), "wide", {"spend", "orders"}, AS_OF)])
    assert "-- step 1: orders@30d (source orders, window 30d)" in text
    assert "-- step 2: derived (derived)" in text and text.count("SELECT") >= 3


def test_average_beside_a_mode_stays_visibly_double_for_spark(
        views: duckdb.DuckDBPyConnection) -> None:
    t = view_tag("mix", "round(avg(length(cat)) + length(mode(cat)), 2)", window="all")
    step = fuse_plan([t], SourceTable("events", "events", "uid", "ts"), AS_OF)
    got = {str(r[0]): r[1] for r in views.sql(step.sql).fetchall()}
    assert got["u1"] == 2.0 and got["u3"] is None  # avg 1 + length('c') 1; all NULL
    spark = fuse_plan([t], SourceTable("events", "events", "uid", "ts"), AS_OF, dialect="spark")
    # the Spark transpiler rounds DOUBLEs by DuckDB's rule only when it can see the type
    assert "ROUND(CAST(`_a1` AS DOUBLE) + LENGTH(`_mode1`), 2)" in spark.sql
