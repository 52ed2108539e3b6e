"""Selection-rate disparity and the minors / elderly inclusion checks."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from profileguard.audit.fairness.findings import targeting_findings
from profileguard.audit.fairness.targeting import audit_targeting


def _selection(seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    n = 4_000
    tier = rng.choice(["new", "old"], n)
    selected = rng.random(n) < np.where(tier == "new", 0.30, 0.15)
    return pd.DataFrame(
        {
            "user_id": [f"u{i}" for i in range(n)],
            "selected": selected.astype(int),
            "tenure_band": tier,
            "age_band": rng.choice(["18-24", "25-59", "60+"], n, p=[0.3, 0.6, 0.1]),
        }
    )


def test_ratio_to_most_selected_group_is_computed_with_a_ci_below_the_line() -> None:
    result = audit_targeting(_selection(), ("tenure_band",), seed=1)
    by_group = {g.group: g for g in result.groups}
    assert by_group["new"].ratio == 1.0
    old = by_group["old"]
    assert old.ratio == pytest.approx(0.5, abs=0.08)
    assert old.ratio_ci[0] < old.ratio < old.ratio_ci[1] < 0.8
    assert old.below_line and old.clearly_below


def test_bootstrap_is_reproducible_with_the_seed() -> None:
    a = audit_targeting(_selection(), ("tenure_band",), seed=7)
    b = audit_targeting(_selection(), ("tenure_band",), seed=7)
    assert [g.ratio_ci for g in a.groups] == [g.ratio_ci for g in b.groups]


def test_equal_rates_are_not_below_the_line() -> None:
    frame = _selection()
    frame["selected"] = (np.arange(len(frame)) % 4 == 0).astype(int)
    result = audit_targeting(frame, ("tenure_band",))
    assert result.below_line == []
    assert targeting_findings(result) == [] or all(
        f["rule"].startswith("ALG-19") for f in targeting_findings(result)
    )


def test_minor_in_marketing_audience_is_a_high_finding() -> None:
    frame = _selection()
    frame.loc[0, ["age_band", "selected"]] = ["<18", 1]
    result = audit_targeting(frame, ("tenure_band",))
    assert result.ages is not None and result.ages.selected_minors == 1
    rules = {f["rule"]: f for f in targeting_findings(result)}
    assert rules["ALG-18-minors-in-marketing-audience"]["severity"] == "high"
    assert rules["ALG-19-elderly-in-marketing-audience"]["severity"] == "review"
    assert "PIPL-24-selection-disparity" in rules


def test_numeric_age_column_drives_the_checks_and_non_marketing_skips_them() -> None:
    frame = pd.DataFrame(
        {"user_id": ["a", "b", "c", "d"], "selected": [1, 1, 0, 1], "age": [16, 65, 30, 40], "g": ["x", "x", "y", "y"]}
    )
    result = audit_targeting(frame, ("g",))
    assert result.ages is not None
    assert (result.ages.selected_minors, result.ages.selected_elderly) == (1, 1)
    assert audit_targeting(frame, ("g",), marketing=False).ages is None
