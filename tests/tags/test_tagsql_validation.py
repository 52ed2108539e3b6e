"""Tag SQL validation: what is refused (with tag, fragment and position) and the lineage."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from profileguard.errors import ProfileguardError
from profileguard.model.plan import derived_layers
from profileguard.model.tagsql import (
    TagSQLError,
    ValidatedTag,
    parse_window,
    validate_tag,
)

ORDERS = {"user_id": "user.id", "paid_amount": "user.financial.purchase",
          "status": "system.operations", "created_at": "system.operations",
          "birth_date": "user.demographic.age"}


def descriptive(value: str, **kw: object) -> ValidatedTag:
    return validate_tag("spend_band_30d", "descriptive", value, columns=ORDERS,
                        source="orders", window="30d", **kw)  # type: ignore[arg-type]


def refused(value: str, **kw: object) -> TagSQLError:
    with pytest.raises(TagSQLError) as info:
        descriptive(value, **kw)
    return info.value


@pytest.mark.parametrize(
    ("value", "fragment", "line", "column", "problem"),
    [
        ("sum(paid_amount) + (SELECT 1 FROM users)", "(SELECT 1 FROM users)", 1, 20,
         "subqueries"),
        ("max(created_at) > now()", "now()", 1, 19, "now() is not on the allow-list"),
        ("sum(amount)", "amount", 1, 5, "unknown column 'amount'"),
        ("1; DROP TABLE users", ";", 1, 2, "multiple statements"),
        ("DROP TABLE x", "DROP TABLE x", 1, 1, "not a statement"),
        ("count(*) -- everything", "-- everything", 1, 10, "comments"),
        ("count(*) /* x */ + 1", "/* x */", 1, 10, "comments"),
        ('sum("secrets")', '"secrets"', 1, 5, "unknown column 'secrets'"),
        ("sum(users.paid_amount)", "users.paid_amount", 1, 5, "qualified names"),
        ("count(*) + length(read_parquet('x'))", "read_parquet('x')", 1, 19,
         "read_parquet() is not on the allow-list"),
        ("paid_amount", "paid_amount", 1, 1, "outside an aggregate"),
        ("CASE WHEN count(*) > 1\n  THEN max(current_date) END", "current_date", 2, 12,
         "volatile"),
        ("count(*) + sum(random())", "random()", 1, 16, "volatile"),
        ("sum(sum(paid_amount))", "sum(paid_amount)", 1, 5, "nested aggregates"),
        ("sum(*)", "*", 1, 5, "not allowed here"),
        ("sum(CAST(paid_amount AS JSON))", "CAST(paid_amount AS JSON)", 1, 5, "CAST to JSON"),
        ("count(*) FILTER (WHERE status = 'x')", "count(*) FILTER (WHERE status = 'x')", 1, 1,
         "filter field"),
    ],
)
def test_refused_descriptive_value_names_tag_fragment_and_position(
        value: str, fragment: str, line: int, column: int, problem: str) -> None:
    err = refused(value)
    assert (err.tag, err.field, err.fragment) == ("spend_band_30d", "value", fragment)
    assert (err.line, err.column) == (line, column)
    assert problem in str(err)
    assert "spend_band_30d" in str(err) and f"{line}:{column}" in str(err)
    assert "Allowed:" in str(err)
    assert isinstance(err, ProfileguardError)


def test_statements_and_table_functions_refused_as_whole_expression() -> None:
    for text in ["PRAGMA database_list", "SET threads = 1", "ATTACH 'x.db'",
                 "COPY orders TO 'x.csv'", "SELECT * FROM read_csv('x')",
                 "INSERT INTO t VALUES (1)"]:
        err = refused(text)
        assert err.tag == "spend_band_30d" and err.field == "value"


def test_filter_refuses_aggregates_and_reports_filter_field() -> None:
    err = refused("count(*)", filter="sum(paid_amount) > 1")
    assert (err.field, err.fragment, err.column) == ("filter", "sum(paid_amount)", 1)
    assert "aggregate sum() is not allowed in a filter" in str(err)


def test_input_errors_name_the_input_field() -> None:
    err = refused("count(*)", inputs={"total": "sum(t.paid_amount)"})
    assert err.field == "inputs.total" and err.fragment == "t.paid_amount"


def test_parse_errors_become_tag_errors_with_position() -> None:
    err = refused("sum(paid_amount")
    assert err.line == 1 and "not valid SQL" in err.problem


def test_accepted_expression_lineage_columns_and_categories() -> None:
    tag = descriptive(
        "CASE WHEN sum(paid_amount) < 300 THEN '<300' ELSE '300+' END",
        filter="status = 'paid' AND created_at <= as_of",
        inputs={"n": "count(DISTINCT status)", "age": "date_diff('year', max(birth_date), as_of)"})
    assert tag.columns == ("paid_amount", "status", "created_at", "birth_date")
    assert tag.field_columns["filter"] == ("status", "created_at")
    assert tag.categories(ORDERS) == ("user.financial.purchase", "system.operations",
                                      "user.demographic.age")
    assert tag.uses_as_of and tag.depends_on == ()


def test_allow_list_covers_the_documented_functions() -> None:
    for value in ["coalesce(sum(paid_amount), 0)", "nullif(count(*), 0)", "abs(min(paid_amount))",
                  "least(max(paid_amount), 5)", "upper(any_value(status))",
                  "length(max(status))", "substr(max(status), 1, 2)",
                  "date_trunc('month', max(created_at))", "year(max(created_at))",
                  "extract(month FROM max(created_at))", "iff(count(*) > 1, 'a', 'b')",
                  "if(count(*) > 1, 'a', 'b')", "concat(max(status), '-')", "median(paid_amount)",
                  "mode(status)", "stddev(paid_amount)", "var(paid_amount)",
                  "count_if(status IN ('paid', 'done'))", "bool_or(paid_amount BETWEEN 1 AND 2)",
                  "bool_and(status IS NULL)", "arg_max(status, created_at)",
                  "CAST(sum(paid_amount) AS DECIMAL(10, 2))", "max(created_at) > as_of - INTERVAL 7 DAY",
                  "datediff('day', max(created_at), as_of)", "avg(paid_amount) / 2 % 3",
                  "SUM(PAID_AMOUNT)"]:
        assert descriptive(value).value is not None, value


def test_quoted_identifier_must_match_declared_spelling_exactly() -> None:
    assert descriptive('sum("paid_amount")').columns == ("paid_amount",)
    assert refused('sum("PAID_AMOUNT")').fragment == '"PAID_AMOUNT"'


DERIVED_CATALOG = {"recency_days": [], "orders_90d": ["n"], "r_score": [], "f_score": []}


def test_derived_tag_references_tags_and_inputs_with_ranking_windows() -> None:
    tag = validate_tag("r_score", "derived",
                       "ntile(5) OVER (PARTITION BY orders_90d ORDER BY recency_days DESC)",
                       inputs={"pos": "percent_rank() OVER (ORDER BY orders_90d__n)"},
                       tags=DERIVED_CATALOG)
    assert tag.depends_on == ("orders_90d", "recency_days")
    assert tag.columns == ()


@pytest.mark.parametrize(
    ("value", "fragment", "problem"),
    [
        ("sum(recency_days)", "sum(recency_days)", "not allowed in a derived tag"),
        ("ntile(5) OVER (ORDER BY paid_amount)", "paid_amount", "unknown tag 'paid_amount'"),
        ("rank() OVER (ORDER BY r_score ROWS BETWEEN 1 PRECEDING AND CURRENT ROW)",
         "rank() OVER (ORDER BY r_score ROWS BETWEEN 1 PRECEDING AND CURRENT ROW)", "frames"),
        ("lag(r_score) OVER (ORDER BY r_score)", "lag(r_score)", "only ranking functions"),
        ("ntile(r_score) OVER (ORDER BY r_score)", "ntile(r_score)", "whole number"),
        ("ntile(5)", "ntile(5)", "OVER"),
        ("ntile(5) OVER (ORDER BY r_score + 1)", "r_score + 1", "must be tag names"),
    ],
)
def test_refused_derived_value(value: str, fragment: str, problem: str) -> None:
    with pytest.raises(TagSQLError) as info:
        validate_tag("segment", "derived", value, tags=DERIVED_CATALOG)
    assert info.value.tag == "segment" and info.value.fragment == fragment
    assert problem in str(info.value)


def _derived(name: str, value: str, catalog: dict[str, list[str]]) -> ValidatedTag:
    return validate_tag(name, "derived", value, tags=catalog)


def test_derived_layers_follow_dependencies() -> None:
    cat: dict[str, list[str]] = {"spend": [], "r": [], "f": [], "seg": []}
    tags = [_derived("seg", "concat(r, f)", cat), _derived("f", "ntile(5) OVER (ORDER BY spend)", cat),
            _derived("r", "ntile(5) OVER (ORDER BY spend DESC)", cat)]
    assert derived_layers(tags, {"spend"}) == [["f", "r"], ["seg"]]


def test_derived_cycle_is_refused_with_the_cycle_path() -> None:
    cat: dict[str, list[str]] = {"a": [], "b": [], "c": []}
    tags = [_derived("a", "b + 1", cat), _derived("b", "c + 1", cat), _derived("c", "a", cat)]
    with pytest.raises(TagSQLError) as info:
        derived_layers(tags, set())
    assert info.value.fragment == "a -> b -> c -> a" and "cycle" in str(info.value)


def test_derived_reference_to_undeclared_tag_is_refused_in_layering() -> None:
    cat: dict[str, list[str]] = {"ghost": [], "x": []}
    with pytest.raises(TagSQLError, match="unknown tag 'ghost'"):
        derived_layers([_derived("x", "ghost * 2", cat)], {"spend"})


def test_windows_are_days_or_all() -> None:
    assert parse_window("t", "30d") == 30 and parse_window("t", "all") is None
    with pytest.raises(TagSQLError, match="window"):
        parse_window("t", "30 days")


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=80))
def test_arbitrary_text_validates_or_raises_tag_error(text: str) -> None:
    try:
        tag = descriptive(text)
    except TagSQLError as err:
        assert err.tag == "spend_band_30d" and err.line >= 1 and err.column >= 1
    else:
        assert tag.value is not None


SQLISH = st.lists(st.sampled_from(
    ["sum(", "count(", ")", "(", "*", "paid_amount", "status", "'x'", "1", ",", "+", "CASE",
     "WHEN", "THEN", "END", "SELECT", "FROM", "users", ";", "--", "/*", "*/", '"', "as_of",
     "OVER", "ORDER BY", "IN", "AND", "::", "INT", ".", "now()", "DISTINCT", "\n"]),
    max_size=15).map(" ".join)


@settings(max_examples=300, deadline=None)
@given(SQLISH)
def test_sql_shaped_text_validates_or_raises_tag_error(text: str) -> None:
    for kind in ("descriptive", "derived"):
        try:
            validate_tag("t", kind, text, columns=ORDERS, tags=DERIVED_CATALOG,  # type: ignore[arg-type]
                         window="all")
        except TagSQLError as err:
            assert err.tag == "t" and err.line >= 1
