"""Segments: k by silhouette, names from centroids, labels stable across rebuilds."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pytest

from profileguard.model.predictive.segments import build_segments, rfm_features
from profileguard.model.predictive.summary import RFMSummary


def _customers(rng: np.random.Generator, n_per: int = 200) -> dict[str, np.ndarray]:
    """Three kinds: champions (rich, recent, frequent), sleepers, and new one-off buyers."""
    groups = [  # monetary, days since last purchase, repeat purchases
        (300.0, 5.0, 12.0),
        (40.0, 200.0, 1.0),
        (60.0, 20.0, 0.0),
    ]
    cols = {"monetary": [], "recency_days": [], "frequency": []}
    for m, r, f in groups:
        cols["monetary"].append(rng.lognormal(np.log(m), 0.15, n_per))
        cols["recency_days"].append(rng.lognormal(np.log(r), 0.15, n_per))
        cols["frequency"].append(np.round(rng.lognormal(np.log(f + 1), 0.1, n_per)) - 1)
    return {k: np.concatenate(v) for k, v in cols.items()}


def test_silhouette_finds_the_three_planted_groups_and_names_them():
    data = _customers(np.random.default_rng(1))
    seg = build_segments(data, k_range=range(2, 6))
    assert seg.k == 3 and seg.silhouette > 0.5
    names = {s.name_en for s in seg.segments}
    assert "high value, recent, frequent" in names
    champions = next(s for s in seg.segments if s.name_en == "high value, recent, frequent")
    assert champions.name_zh == "高价值、近期活跃、高频"
    assert champions.size == 200
    assert any("lapsed" in s.name_en for s in seg.segments)


def test_two_builds_on_perturbed_data_keep_the_same_labels():
    rng = np.random.default_rng(2)
    data = _customers(rng)
    first = build_segments(data, k_range=range(2, 6), seed=0)
    noisy = {k: v * rng.lognormal(0.0, 0.03, len(v)) for k, v in data.items()}
    order = rng.permutation(len(data["monetary"]))  # shuffled rows, another k-means seed
    shuffled = {k: v[order] for k, v in noisy.items()}
    second = build_segments(shuffled, k_range=range(2, 6), seed=11, previous=first)
    agreement = np.mean(second.labels == first.labels[order])
    assert agreement > 0.99
    assert {s.label: s.name_en for s in second.segments} == {
        s.label: s.name_en for s in first.segments
    }


def test_a_new_segment_gets_a_fresh_label():
    data = _customers(np.random.default_rng(4))
    first = build_segments(data, k=2, seed=0)
    second = build_segments(data, k=3, seed=0, previous=first)
    assert {s.label for s in second.segments} == {0, 1, 2}


def test_rfm_features_come_from_the_summary():
    summary = RFMSummary.from_arrow(
        pa.table(
            {
                "frequency": [2.0, 0.0],
                "recency": [30.0, 0.0],
                "T": [40.0, 10.0],
                "monetary_value": [25.0, 0.0],
            }
        )
    )
    features = rfm_features(summary)
    np.testing.assert_array_equal(features["recency_days"], [10.0, 10.0])
    with pytest.raises(ValueError, match="finite"):
        build_segments({"monetary": np.array([1.0, np.nan, 2.0])}, k=2)
