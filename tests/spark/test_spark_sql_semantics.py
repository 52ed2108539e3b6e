"""Differential: DuckDB expressions whose meaning differs on Spark give DuckDB's answer after
transpilation (rounding of doubles, averages of decimals, integer casts, date_diff
boundaries, deterministic mode)."""

from __future__ import annotations

from typing import Any

import pyarrow as pa
import pytest

from profileguard.store.engine import DuckDBEngine
from profileguard.store.spark_sql import parse, to_spark

SAMPLE = pa.table({
    "u": [1, 1, 1, 2, 2, 3, 3, 3, 3],
    "amount": pa.array(["52.73", "86.68", "271.77", "0.01", "0.02", "1141.85", "0", "0", "0"]
                       ).cast(pa.decimal128(18, 2)),
    "x": [2.675, 0.125, -0.125, 413.715, 1.005, 114.185, 8.345, 10.005, -2.5],
    "cat": ["b", "a", "b", "z", "y", "c", "a", "c", "a"],
    "ts": pa.array(["2026-10-31 23:00:00", "2026-10-01 01:00:00", "2026-01-31 12:00:00",
                    "2026-10-31 23:59:59", "2025-12-31 23:00:00", "2026-06-30 00:00:00",
                    "2026-10-01 00:00:00", "2026-10-31 00:00:01", "2024-02-29 12:00:00"]
                   ).cast(pa.timestamp("us")),
})

#: DuckDB expressions over SAMPLE, grouped by u; each one differs on Spark untranslated
GROUPED = [
    "round(avg(amount), 2)",
    "round(avg(amount) FILTER (WHERE amount > 0), 2)",
    "CAST(sum(amount) / count(*) AS VARCHAR)",
    "round(sum(amount) / 3, 2)",
    "mode(cat ORDER BY cat)",
    "mode(cat ORDER BY cat) FILTER (WHERE cat <> 'z')",
    "CAST(avg(x) * 7 AS INTEGER)",
    "date_diff('day', max(ts), TIMESTAMP '2026-11-01 00:00:00')",
    "date_diff('month', min(ts), TIMESTAMP '2026-11-01 00:00:00')",
    "date_diff('hour', min(ts), max(ts))",
]
#: row-level expressions over SAMPLE
ROWS = [
    "round(x, 2)", "round(x / 1, 2)", "round(CAST(x AS DOUBLE), 0)", "round(x * 1.0 / 1, 1)",
    "CAST(x / 1 AS INTEGER)", "CAST(x * 2 / 2 AS BIGINT)", "CAST(u / 2 AS INTEGER)",
    "CAST(amount / 7 AS VARCHAR)",
]


def duckdb_rows(sql: str) -> list[tuple[Any, ...]]:
    duck = DuckDBEngine()
    duck.load_arrow("sample", SAMPLE, mode="replace")
    rows = duck.query_rows(sql)
    duck.close()
    return rows


@pytest.fixture
def sample_engine(spark_engine: Any) -> Any:
    spark_engine.load_arrow("sample", SAMPLE, mode="replace")
    return spark_engine


def normalised(rows: list[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
    """Decimals and doubles compared by value (DECIMAL(38,2) vs DECIMAL(28,2) is no difference)."""
    return [tuple(float(v) if hasattr(v, "as_tuple") else v for v in r) for r in rows]


def differences(engine: Any, expressions: list[str], template: str) -> list[str]:
    """Expressions whose values differ between DuckDB and the Spark engine (one query each
    side, so the JVM runs one job for the whole list)."""
    columns = ", ".join(f"{e} AS v{i}" for i, e in enumerate(expressions))
    sql = template.format(columns=columns)
    spark, duck = normalised(engine.query_rows(sql)), normalised(duckdb_rows(sql))
    assert len(spark) == len(duck)
    return [f"{e}: spark {[r[i + 1] for r in spark]} duckdb {[r[i + 1] for r in duck]}"
            for i, e in enumerate(expressions)
            if [r[i + 1] for r in spark] != [r[i + 1] for r in duck]]


@pytest.mark.spark
def test_grouped_expressions_give_duckdbs_values_on_spark(sample_engine: Any) -> None:
    template = "SELECT u, {columns} FROM sample GROUP BY u ORDER BY u"
    assert differences(sample_engine, GROUPED, template) == []


@pytest.mark.spark
def test_row_expressions_give_duckdbs_values_on_spark(sample_engine: Any) -> None:
    template = "SELECT x, {columns} FROM sample ORDER BY x"
    assert differences(sample_engine, ROWS, template) == []


def test_parameters_become_literals_in_the_tree_not_pasted_text() -> None:
    [statement] = parse("SELECT * FROM t WHERE a = ? AND b = ?", ["x' OR '1'='1", 3])
    sql = to_spark(statement)
    assert "OR '1'='1" not in sql.replace("\\'", "")  # the quote is escaped, not closing
    assert sql.endswith("= 3")


def test_date_diff_counts_boundaries_like_duckdb_in_the_spark_text() -> None:
    [statement] = parse("SELECT date_diff('day', a, b) FROM t")
    assert "DATE_TRUNC('DAY', a)" in to_spark(statement)
