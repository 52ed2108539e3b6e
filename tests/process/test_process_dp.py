"""OpenDP releases: noise scale reported, contributions bounded, budget refused once spent."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pytest

from profileguard.errors import ProfileguardError
from profileguard.process.budget import BudgetStore
from profileguard.process.dp import bound_contributions, release

ORDERS = pa.table(
    {
        "user": ["u1", "u1", "u1", "u1", "u2", "u3", "u4"],
        "city": ["北京", "北京", "上海", "上海", "上海", "广州", "广州"],
        "amount": [10.0, 20.0, 30.0, 500.0, 40.0, 50.0, 60.0],
    }
)


def test_count_reports_noise_scale_of_contribution_bound_over_epsilon() -> None:
    out = release(ORDERS, "count", "city", 0.5, user="user", max_rows_per_user=2, seed=1)
    assert [v.group for v in out.values] == ["上海", "北京", "广州"]
    assert all(v.noise_scale == pytest.approx(2 / 0.5) for v in out.values)
    assert all(v.mechanism == "discrete Laplace" for v in out.values)
    assert out.rows_dropped_by_bounding == 2 and out.keys_from_data


def test_sum_noise_scale_follows_clamping_bounds() -> None:
    out = release(
        ORDERS,
        "sum",
        "city",
        1.0,
        value="amount",
        bounds=(0.0, 100.0),
        keys=["北京", "上海", "广州", "深圳"],
    )
    assert [v.group for v in out.values] == ["北京", "上海", "广州", "深圳"]
    assert all(v.noise_scale == pytest.approx(100.0, rel=1e-6) for v in out.values)
    assert not out.keys_from_data


def test_mean_splits_epsilon_and_reports_both_scales() -> None:
    out = release(ORDERS, "mean", "city", 1.0, value="amount", bounds=(0.0, 100.0))
    parts = out.values[0].parts
    assert parts["count_noise_scale"] == pytest.approx(2.0)
    assert parts["sum_noise_scale"] == pytest.approx(200.0, rel=1e-6)
    assert all(0.0 <= v.value <= 100.0 for v in out.values)


def test_histogram_of_numeric_value_has_one_count_per_group_and_bin() -> None:
    out = release(ORDERS, "histogram", "city", 1.0, value="amount", bounds=(0.0, 100.0), bins=4)
    assert len(out.values) == 3 * 4
    assert out.values[0].bin == "[0, 25)" and out.values[3].bin == "[75, 100]"


def test_contribution_bounding_keeps_at_most_n_rows_per_user() -> None:
    out = bound_contributions(ORDERS, "user", 1, seed=3)
    assert sorted(out.column("user").to_pylist()) == ["u1", "u2", "u3", "u4"]


def test_budget_refuses_query_once_spent(tmp_path: Path) -> None:
    store = BudgetStore(tmp_path / "budget.json")
    store.set_total("orders", 1.0)
    release(ORDERS, "count", "city", 0.6, budget=store, dataset="orders")
    release(ORDERS, "count", "city", 0.4, budget=store, dataset="orders")
    with pytest.raises(ProfileguardError, match="budget of dataset 'orders' refused"):
        release(ORDERS, "count", "city", 0.1, budget=store, dataset="orders")
    status = store.status("orders")
    assert status is not None and status.spent == pytest.approx(1.0)


def test_budget_persists_across_store_instances(tmp_path: Path) -> None:
    path = tmp_path / "budget.json"
    BudgetStore(path).charge("orders", 0.9, "count", default_total=1.0)
    with pytest.raises(ProfileguardError, match=r"remaining 0\.1"):
        BudgetStore(path).charge("orders", 0.2, "count")
    assert BudgetStore(path).charge("other", 0.2, "count").spent == pytest.approx(0.2)


def test_sum_without_bounds_is_refused() -> None:
    with pytest.raises(ProfileguardError, match="--bounds"):
        release(ORDERS, "sum", "city", 1.0, value="amount")
