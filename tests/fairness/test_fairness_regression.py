"""The hand-written within-OLS, CR1 covariance and Benjamini–Hochberg against direct formulas."""

from __future__ import annotations

import numpy as np
import pytest

from profileguard.audit.fairness.regression import (
    benjamini_hochberg,
    fit_clustered,
    independent_columns,
    within,
)


def _data(seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    n, n_cells, n_users = 400, 40, 60
    cells = rng.integers(0, n_cells, n)
    users = rng.integers(0, n_users, n)
    x = rng.normal(size=(n, 2)) + cells[:, None] * 0.1
    y = 0.3 * x[:, 0] - 0.2 * x[:, 1] + cells * 0.5 + rng.normal(size=n) + users * 0.02
    return x, y, cells, users


def test_within_estimates_equal_explicit_cell_dummies_and_cr1_matches_the_sandwich() -> None:
    x, y, cells, users = _data()
    n_cells = int(cells.max()) + 1
    fit = fit_clustered(within(x, cells, n_cells), within(y[:, None], cells, n_cells)[:, 0], users, n_cells)
    dummies = (cells[:, None] == np.arange(n_cells)).astype(float)
    full = np.hstack([x, dummies])
    beta, *_ = np.linalg.lstsq(full, y, rcond=None)
    assert fit.beta == pytest.approx(beta[:2], abs=1e-10)
    # CR1 with all parameters (2 slopes + cell effects) counted in K, from the dummy regression
    resid = y - full @ beta
    bread = np.linalg.pinv(full.T @ full)
    scores = np.zeros((users.max() + 1, full.shape[1]))
    np.add.at(scores, users, full * resid[:, None])
    g, n, k = len(np.unique(users)), len(y), 2 + n_cells
    cov = g / (g - 1) * (n - 1) / (n - k) * bread @ scores.T @ scores @ bread
    assert fit.cov == pytest.approx(cov[:2, :2], rel=1e-8)


def test_collinear_column_is_dropped_and_reported_as_nan() -> None:
    x, y, cells, users = _data(1)
    n_cells = int(cells.max()) + 1
    x3 = np.hstack([x, x[:, :1] * 2.0])
    fit = fit_clustered(within(x3, cells, n_cells), within(y[:, None], cells, n_cells)[:, 0], users, n_cells)
    assert list(fit.kept) == [True, True, False]
    assert np.isnan(fit.beta[2]) and np.isfinite(fit.beta[:2]).all()
    assert list(independent_columns(np.eye(3))) == [True, True, True]


def test_benjamini_hochberg_matches_hand_computed_values() -> None:
    p = np.array([0.01, 0.04, 0.03, 0.20, np.nan])
    adjusted = benjamini_hochberg(p)
    assert adjusted[:4] == pytest.approx([0.04, 0.0533333, 0.0533333, 0.20], rel=1e-5)
    assert np.isnan(adjusted[4])


def test_confidence_interval_uses_t_with_clusters_minus_one_df() -> None:
    x, y, cells, users = _data(2)
    n_cells = int(cells.max()) + 1
    fit = fit_clustered(within(x, cells, n_cells), within(y[:, None], cells, n_cells)[:, 0], users, n_cells)
    lo, hi = fit.conf_int()
    assert fit.df == len(np.unique(users)) - 1
    assert (hi - lo)[0] == pytest.approx(2 * 2.0 * fit.se()[0], rel=0.05)
    assert 0 < fit.p_values()[0] < 1
