"""The hand-written within-OLS, CR1 covariance and Benjamini–Hochberg against direct formulas."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

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


def _refit(x: np.ndarray, y: np.ndarray, cells: np.ndarray) -> float:
    """First OLS coefficient with one fixed effect per cell, from scratch (lstsq on demeaned data)."""
    codes = np.unique(cells, return_inverse=True)[1]
    n_cells = int(codes.max()) + 1
    xd, yd = within(x, codes, n_cells), within(y[:, None], codes, n_cells)[:, 0]
    return float(np.linalg.lstsq(xd, yd, rcond=None)[0][0])


def _brute_force_jackknife(x: np.ndarray, y: np.ndarray, cells: np.ndarray, users: np.ndarray) -> float:
    """CV3 of the first coefficient by refitting with one user left out at a time."""
    beta = _refit(x, y, cells)
    changes = []
    for g in np.unique(users):
        keep = users != g
        changes.append(beta - _refit(x[keep], y[keep], cells[keep]))
    deltas = np.array(changes)
    return float(np.sqrt((deltas.size - 1) / deltas.size * deltas @ deltas))


def _grouped(seed: int, extra: int, share: float = 0.3) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    # small cells not nested in users, a per-user price level, a user-level group indicator
    rng = np.random.default_rng(seed)
    n, n_cells, n_users = 600, 150, 80
    cells = rng.integers(0, n_cells, n)
    users = rng.integers(0, n_users, n)
    group = (rng.random(n_users) < share)[users].astype(float)
    x = np.column_stack([group] + [rng.normal(size=n) for _ in range(extra)])
    y = 0.1 * group + rng.normal(size=n) + 0.5 * rng.normal(size=n_users)[users] + 0.01 * cells
    return x, y, cells, users


def _jackknife_fit(x: np.ndarray, y: np.ndarray, cells: np.ndarray, users: np.ndarray):  # type: ignore[no-untyped-def]
    n_cells = int(cells.max()) + 1
    mask = np.zeros(x.shape[1], dtype=bool)
    mask[0] = True
    return fit_clustered(
        within(x, cells, n_cells), within(y[:, None], cells, n_cells)[:, 0], users, n_cells,
        cells=cells, jackknife=mask,
    )


def test_jackknife_equals_refitting_without_each_user_when_the_group_is_the_only_regressor() -> None:
    x, y, cells, users = _grouped(1, extra=0)
    fit = _jackknife_fit(x, y, cells, users)
    assert fit.se()[0] == pytest.approx(_brute_force_jackknife(x, y, cells, users), rel=1e-9)
    # and CR1 is smaller here: demeaning small cells hides part of each user's own price level
    assert np.sqrt(fit.cov[0, 0]) < 0.95 * fit.se()[0]


def test_jackknife_stays_close_to_refitting_when_other_columns_are_in_the_model() -> None:
    x, y, cells, users = _grouped(2, extra=3)
    fit = _jackknife_fit(x, y, cells, users)
    assert fit.se()[0] == pytest.approx(_brute_force_jackknife(x, y, cells, users), rel=0.03)
    # columns not asked for keep CR1 and G - 1 degrees of freedom
    assert fit.se()[1] == pytest.approx(np.sqrt(fit.cov[1, 1]))
    assert fit.df_[1] == fit.n_clusters - 1


def test_jackknife_degrees_of_freedom_count_the_users_that_carry_the_test() -> None:
    wide = _jackknife_fit(*_grouped(3, extra=0, share=0.5))
    narrow = _jackknife_fit(*_grouped(3, extra=0, share=0.06))
    assert 30 < wide.df_[0] <= wide.n_clusters - 1
    assert narrow.df_[0] < 15  # a handful of users in the group, not 80
    lo, hi = narrow.conf_int()
    q = (hi[0] - lo[0]) / (2 * narrow.se()[0])
    assert q == pytest.approx(float(stats.t.ppf(0.975, narrow.df_[0])))


def test_a_group_of_one_user_has_no_jackknife_standard_error() -> None:
    x, y, cells, users = _grouped(4, extra=0)
    x[:, 0] = (users == users[0]).astype(float)
    fit = _jackknife_fit(x, y, cells, users)
    assert np.isfinite(fit.beta[0]) and np.isnan(fit.se()[0]) and np.isnan(fit.p_values()[0])
