"""Predictive scoring on Spark: the fitted models score the summary on the executors
(mapInArrow), with the very numbers the driver computes for DuckDB."""

from __future__ import annotations

from typing import Any

import numpy as np
import pyarrow as pa
import pytest

from profileguard.errors import ProfileguardError
from profileguard.model.predictive import scoring
from profileguard.model.predictive.clv import fit_customer_value
from profileguard.model.predictive.step import _score_in_engine
from profileguard.model.predictive.summary import RFMSummary

OUTPUTS = {
    "alive": {"output": "p_alive"},
    "churn": {"output": "churn_risk", "bands": [0.2, 0.6]},
    "next90": {"output": "expected_purchases", "horizon_days": 90},
    "clv180": {"output": "clv", "horizon_days": 180},
    "tier": {"output": "value_tier", "quantiles": [0.5, 0.9], "labels": ["a", "b", "c"]},
}


def synthetic_summary(n: int = 400, seed: int = 3) -> pa.Table:
    """A plausible RFM summary: buyers who stop after a while, one-time buyers without spend."""
    rng = np.random.default_rng(seed)
    T = rng.integers(60, 400, n).astype(float)
    life = np.minimum(T, rng.exponential(120.0, n))
    frequency = rng.poisson(life / 30.0).astype(float)
    recency = np.where(frequency > 0, np.floor(life * rng.uniform(0.7, 1.0, n)), 0.0)
    monetary = np.where(frequency > 0, np.round(rng.gamma(4.0, 30.0, n), 2), 0.0)
    return pa.table({"customer_id": [f"p_{i:05d}" for i in range(n)], "frequency": frequency,
                     "recency": recency, "T": T, "monetary_value": monetary})


@pytest.fixture(scope="module")
def model() -> Any:
    return fit_customer_value(RFMSummary.from_arrow(synthetic_summary()))


def rows(table: pa.Table) -> list[dict[str, Any]]:
    """Rows with NaN spelled out, so that a NaN score equals the same NaN score."""
    return [{k: "NaN" if isinstance(v, float) and v != v else v for k, v in r.items()}
            for r in table.to_pylist()]


def driver_scores(spec: scoring.ScoreSpec, table: pa.Table) -> tuple[pa.Table, scoring.ScoreSpec]:
    if spec.needs_edges:
        clv = np.concatenate([b.column(0).to_numpy()
                              for b in scoring.clv_batches(spec, table.to_batches())])
        spec = scoring.tier_edges(spec, clv)
    return pa.Table.from_batches([scoring.score_batch(spec, table)]), spec


@pytest.mark.spark
def test_spark_executors_score_exactly_what_the_driver_scores(
        spark_engine: Any, model: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    table = synthetic_summary()
    spark_engine.load_arrow("summary", table, mode="replace")
    expected = {name: driver_scores(scoring.score_spec(name, "clv", params, model), table)
                for name, params in OUTPUTS.items()}

    def not_here(*_: object) -> None:
        raise AssertionError("scored on the driver")

    # the driver's copy of the scorer is broken: the executors' Python workers import their own
    monkeypatch.setattr(scoring, "score_batch", not_here)
    for name, params in OUTPUTS.items():
        spec = scoring.score_spec(name, "clv", params, model)
        target, fitted = _score_in_engine(spark_engine, spec, "summary")
        got = spark_engine.query_arrow(f"SELECT * FROM {target} ORDER BY user_id")
        want, want_spec = expected[name]
        assert fitted.edges == want_spec.edges
        assert not any(v != v for v in got.column(name).to_pylist() if isinstance(v, float))
        assert got.column_names == want.column_names
        assert rows(got) == rows(want.sort_by("user_id")), name
    tiers = set(spark_engine.query_arrow(f"SELECT tier FROM {target}").column(0).to_pylist())
    assert tiers == {"a", "b", "c"}


@pytest.mark.spark
def test_a_failing_scorer_on_an_executor_is_a_user_error(spark_engine: Any, model: Any) -> None:
    spark_engine.load_arrow("summary", synthetic_summary().drop_columns(["T"]), mode="replace")
    spec = scoring.score_spec("alive", "bgnbd", {"output": "p_alive"}, model)
    with pytest.raises(ProfileguardError, match="failed on an executor"):
        _score_in_engine(spark_engine, spec, "summary")


def test_unknown_output_or_mismatched_tiers_are_refused_with_the_allowed_values(
        model: Any) -> None:
    with pytest.raises(ProfileguardError, match="allowed: p_alive, churn_risk"):
        scoring.score_spec("t", "bgnbd", {"output": "clv"}, model)
    with pytest.raises(ProfileguardError, match="3 quantiles make 4 tiers, but 2 labels"):
        scoring.score_spec("t", "clv", {"output": "value_tier", "labels": ["x", "y"]}, model)
    with pytest.raises(ProfileguardError, match="ascending"):
        scoring.score_spec("t", "clv", {"output": "value_tier", "quantiles": [0.9, 0.5],
                                        "labels": ["x", "y", "z"]}, model)
    spec = scoring.score_spec("t", "clv", {"output": "value_tier"}, model)
    with pytest.raises(ProfileguardError, match="tier edges fitted first"):
        scoring.score_batch(spec, synthetic_summary())


def test_scores_do_not_depend_on_how_the_summary_is_batched(model: Any) -> None:
    table = synthetic_summary()
    for name, params in OUTPUTS.items():
        whole, spec = driver_scores(scoring.score_spec(name, "clv", params, model), table)
        pieces = pa.Table.from_batches(list(scoring.score_batches(
            spec, table.to_batches(max_chunksize=37))))
        assert rows(pieces) == rows(whole), name
