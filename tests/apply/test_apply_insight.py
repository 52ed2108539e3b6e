"""Product insight goes through the DP release path and spends the budget."""

from __future__ import annotations

import pytest

from profileguard.apply.insight import insight_report
from profileguard.errors import ProfileguardError
from profileguard.pipeline.services import Services
from profileguard.process.budget import BudgetStore


def test_insight_report_spends_the_budget_and_is_refused_when_it_is_spent(svc: Services
                                                                          ) -> None:
    budget = BudgetStore(svc.ws.state_dir / "dp_budget.json")
    rep = insight_report(svc, epsilon=0.6, budget=budget, seed=3)
    assert rep.release.budget is not None and rep.release.budget.spent == pytest.approx(0.6)
    assert rep.rows() and all(r["noise_scale"] > 0 for r in rep.rows())
    cats = {r["category"] for r in rep.rows()}
    assert len(cats) > 1
    status = budget.status(rep.dataset)
    assert status is not None and status.spent == pytest.approx(0.6)
    with pytest.raises(ProfileguardError, match="privacy budget"):
        insight_report(svc, epsilon=0.6, budget=budget)


def test_insight_counts_only_users_with_analytics_consent(svc: Services) -> None:
    allowed = svc.book.decisions("analytics")
    ok = {u for u, a in zip(allowed.column("user_pid").to_pylist(),
                            allowed.column("allowed").to_pylist(), strict=True) if a}
    orders = svc.engine.query_rows("SELECT user_id FROM orders")
    expected = sum(1 for (u,) in orders if u in ok)
    rep = insight_report(svc, epsilon=0.1, max_rows_per_user=10_000, seed=1)
    assert rep.release.rows_used + rep.release.rows_dropped_by_bounding == expected < len(orders)
    assert rep.release.rows_used > 0
