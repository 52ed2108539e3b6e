"""Mondrian output always reaches the target k; information loss is reported."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
from hypothesis import given, settings
from hypothesis import strategies as st
from process_adult_like import QUASI, adult_like

from profileguard.process.mondrian import mondrian
from profileguard.process.risk import risk_report


@st.composite
def tables(draw: st.DrawFn) -> pa.Table:
    rows = draw(st.integers(0, 120))
    ages = draw(st.lists(st.one_of(st.none(), st.integers(0, 99)), min_size=rows, max_size=rows))
    cities = draw(
        st.lists(st.sampled_from(["北京", "上海", "a", "b", "c"]), min_size=rows, max_size=rows)
    )
    scores = draw(st.lists(st.floats(-5, 5, allow_nan=False), min_size=rows, max_size=rows))
    return pa.table(
        {
            "age": pa.array(ages, type=pa.int64()),
            "city": pa.array(cities, type=pa.string()),
            "score": pa.array(scores, type=pa.float64()),
        }
    )


@settings(max_examples=60, deadline=None)
@given(table=tables(), k=st.integers(1, 15))
def test_target_k_output_always_has_k_at_least_target(table: pa.Table, k: int) -> None:
    out, loss = mondrian(table, ["age", "city", "score"], k)
    assert loss.rows_out + loss.suppressed_rows == table.num_rows
    if out.num_rows:
        assert risk_report(out, ["age", "city", "score"]).k >= k
        assert loss.k >= k


def test_adult_like_reaches_public_k_with_reported_loss() -> None:
    table = pa.Table.from_pandas(adult_like(5_000), preserve_index=False)
    out, loss = mondrian(table, QUASI, 20)
    report = risk_report(out, QUASI, "income", release="public")
    assert report.k >= 20 and report.passes
    assert loss.suppressed_rows == 0 and loss.rows_out == 5_000
    sizes = out.group_by(QUASI).aggregate([([], "count_all")]).column("count_all")
    assert loss.discernibility == int(np.sum(np.asarray(sizes.to_pylist()) ** 2))
    assert loss.avg_class_size == 5_000 / loss.classes
    assert out.column("income").to_pylist() == table.column("income").to_pylist()


def test_numeric_ranges_and_categorical_sets_are_rendered() -> None:
    table = pa.table({"age": [20, 21, 22, 40, 41, 42], "city": ["a", "b", "a", "c", "c", "d"]})
    out, _ = mondrian(table, ["age", "city"], 3)
    assert out.column("age").to_pylist() == ["[20-22]"] * 3 + ["[40-42]"] * 3
    assert out.column("city").to_pylist() == ["a|b"] * 3 + ["c|d"] * 3


def test_rows_whose_null_pattern_is_rare_are_suppressed() -> None:
    table = pa.table({"age": [20, 21, 22, 23, None], "city": ["a"] * 5})
    out, loss = mondrian(table, ["age", "city"], 2)
    assert loss.suppressed_rows == 1 and out.num_rows == 4
    assert loss.classes == 2
    assert loss.discernibility == 2**2 + 2**2 + 1 * 5  # suppressed rows cost |D| each
