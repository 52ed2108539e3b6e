"""Fitting and scoring on distinct rows: the same numbers as row by row, at any size."""

from __future__ import annotations

import numpy as np
import pytest

from profileguard.model.predictive import bgnbd
from profileguard.model.predictive.bgnbd import (
    BGNBDParams,
    WeightedRows,
    conditional_expected_purchases,
    discounted_purchases,
    distinct_rows,
    factorize,
    fit_bgnbd,
    log_likelihood,
)
from profileguard.model.predictive.clv import customer_lifetime_value, month_length
from profileguard.model.predictive.gamma_gamma import (
    GammaGammaParams,
    conditional_expected_average_value,
    fit_gamma_gamma,
)

PARAMS = BGNBDParams(r=0.243, alpha=4.414, a=0.793, b=2.426)


def _customers(n: int, seed: int = 1, unit: float = 1.0) -> tuple[np.ndarray, ...]:
    """Whole-day BG/NBD-like summaries (divided by ``unit``: 7 gives weeks)."""
    rng = np.random.default_rng(seed)
    T = rng.integers(1, 300, n).astype(float)
    x = rng.poisson(rng.gamma(0.5, 4.0, n)).astype(float)
    t_x = np.where(x > 0, np.floor(rng.random(n) * (T + 1)), 0.0)
    return x, t_x / unit, T / unit


@pytest.mark.parametrize("unit", [1.0, 7.0])
def test_distinct_rows_rebuild_every_customer_and_count_them(unit):
    x, t_x, T = _customers(5000, unit=unit)
    rows = distinct_rows(x, t_x, T)
    np.testing.assert_array_equal(rows.x[rows.inverse], x)
    np.testing.assert_array_equal(rows.t_x[rows.inverse], t_x)
    np.testing.assert_array_equal(rows.T[rows.inverse], T)
    expected = np.unique(np.column_stack([x, t_x, T]), axis=0)
    assert len(rows) == len(expected) < len(x)
    np.testing.assert_array_equal(np.column_stack([rows.x, rows.t_x, rows.T]), expected)
    assert rows.counts.sum() == len(x)


def test_distinct_rows_without_room_to_number_combinations_compare_whole_rows(monkeypatch):
    x, t_x, T = _customers(3000, unit=7.0)
    numbered = distinct_rows(x, t_x, T)
    monkeypatch.setattr(bgnbd, "MAX_ROW_KEYS", 1)
    compared = distinct_rows(x, t_x, T)
    for name in ("x", "t_x", "T", "counts", "inverse"):
        np.testing.assert_array_equal(getattr(compared, name), getattr(numbered, name))


def test_factorize_codes_whole_numbers_and_fractions_alike():
    integers = (np.array([5, 3, 5, 9, -2]), np.array([7, 2**40, 7]), 2**62 + np.arange(5)[::-1])
    for values in (np.array([5.0, 3.0, 5.0, 1e9, 3.0]), np.array([0.5, 2 / 7, 0.5, 3.0]),
                   *integers):
        levels, codes = factorize(values)
        want_levels, want_codes = np.unique(values, return_inverse=True)
        np.testing.assert_array_equal(levels, want_levels)
        np.testing.assert_array_equal(codes, want_codes)


def test_weighted_likelihood_on_rescaled_times_matches_the_row_by_row_likelihood():
    x, t_x, T = _customers(3000)
    rows = distinct_rows(x, t_x, T)
    scale = 0.05
    data = WeightedRows(rows.x, rows.t_x, rows.T, rows.counts, scale)
    theta = np.log([PARAMS.r, PARAMS.alpha * scale, PARAMS.a, PARAMS.b])
    nll, grad = data.nll_and_gradient(theta)
    # scaling α, t_x and T by c multiplies each customer's likelihood by c^(-x)
    want = log_likelihood(PARAMS, x, t_x, T) - np.log(scale) * x.sum()
    assert -nll * len(x) == pytest.approx(want, rel=1e-12)
    step = 1e-6
    for k in range(4):
        up, down = theta.copy(), theta.copy()
        up[k] += step
        down[k] -= step
        numeric = (data.nll_and_gradient(up)[0] - data.nll_and_gradient(down)[0]) / (2 * step)
        assert grad[k] == pytest.approx(numeric, rel=1e-5, abs=1e-9)


def test_fit_reports_the_log_likelihood_of_its_parameters_on_every_customer():
    x, t_x, T = _customers(4000)
    fit = fit_bgnbd(x, t_x, T)
    assert fit.log_likelihood == pytest.approx(log_likelihood(fit.params, x, t_x, T), rel=1e-10)
    assert fit.n_unique_rows == len(distinct_rows(x, t_x, T))


def test_screening_starts_on_a_sample_finds_the_same_optimum(monkeypatch):
    x, t_x, T = _customers(60_000, seed=4)
    assert len(distinct_rows(x, t_x, T)) > bgnbd.SCREENING_ROWS  # the sample is used
    sampled = fit_bgnbd(x, t_x, T)
    monkeypatch.setattr(bgnbd, "SCREENING_ROWS", 10**9)
    everything = fit_bgnbd(x, t_x, T)
    for name, value in everything.params.as_dict().items():
        assert getattr(sampled.params, name) == pytest.approx(value, rel=1e-5), name
    assert sampled.log_likelihood == pytest.approx(everything.log_likelihood, rel=1e-9)


def test_gamma_gamma_screening_on_a_sample_finds_the_same_optimum(monkeypatch):
    rng = np.random.default_rng(8)
    x = rng.integers(1, 30, 40_000).astype(float)
    zbar = rng.gamma(6.0 * x, 1.0 / rng.gamma(3.7, 1 / 15.4, x.size)) / x
    sampled = fit_gamma_gamma(x, zbar)
    monkeypatch.setattr(bgnbd, "SCREENING_ROWS", 10**9)
    everything = fit_gamma_gamma(x, zbar)
    for name, value in everything.params.as_dict().items():
        assert getattr(sampled.params, name) == pytest.approx(value, rel=1e-4), name


def test_expectations_with_a_horizon_per_customer_equal_one_by_one_values():
    x, t_x, T = _customers(400)
    horizon = np.where(np.arange(400) % 2 == 0, 30.0, 90.0)
    together = conditional_expected_purchases(PARAMS, horizon, x, t_x, T)
    one_by_one = [
        float(conditional_expected_purchases(PARAMS, h, xi, ti, Ti))
        for h, xi, ti, Ti in zip(horizon, x, t_x, T, strict=True)
    ]
    np.testing.assert_allclose(together, one_by_one, rtol=1e-13)


def test_clv_on_distinct_pairs_equals_the_month_by_month_sum_per_customer():
    x, t_x, T = _customers(2000)
    spend = np.where(x > 0, np.random.default_rng(2).gamma(4.0, 10.0, x.size), 0.0)
    gg = GammaGammaParams(p=6.25, q=3.74, gamma=15.44)
    got = customer_lifetime_value(PARAMS, gg, x, t_x, T, spend, months=6, time_unit="day")
    step, previous, want = month_length("day"), np.zeros_like(x), np.zeros_like(x)
    for i in range(1, 7):
        current = np.array(
            [
                float(conditional_expected_purchases(PARAMS, i * step, *row))
                for row in zip(x, t_x, T, strict=True)
            ]
        )
        want += (current - previous) / 1.01**i
        previous = current
    want *= conditional_expected_average_value(gg, x, spend)
    np.testing.assert_allclose(got, want, rtol=1e-12)
    alone = discounted_purchases(
        PARAMS, x[:3], t_x[:3], T[:3], period=step, periods=6, discount_rate=0.01
    )
    np.testing.assert_allclose(alone, (got / conditional_expected_average_value(gg, x, spend))[:3])


def test_fits_name_the_first_row_that_is_not_a_number():
    with pytest.raises(ValueError, match=r"finite T; row 1 has nan"):
        fit_bgnbd([1.0, 2.0], [1.0, 2.0], [5.0, np.nan])
    with pytest.raises(ValueError, match="one value per customer"):
        fit_bgnbd([1.0, 2.0], [1.0], [5.0, 6.0])
    with pytest.raises(ValueError, match=r"finite zbar; row 2 has nan"):
        fit_gamma_gamma([1.0, 2.0, 3.0], [10.0, 12.0, np.nan])


def test_gamma_gamma_ignores_a_missing_spend_of_customers_without_repeat_purchases():
    fit = fit_gamma_gamma([0.0, 1.0, 2.0, 3.0, 1.0], [np.nan, 10.0, 12.0, 30.0, 8.0])
    assert fit.n_customers == 4


def test_p_alive_in_chunks_equals_p_alive_at_once(monkeypatch):
    x, t_x, T = _customers(5000)
    chunked = bgnbd.p_alive(PARAMS, x, t_x, T)
    assert len(chunked) > 3 * 1024
    monkeypatch.setattr(bgnbd, "ALIVE_CHUNK", 1024)
    np.testing.assert_array_equal(bgnbd.p_alive(PARAMS, x, t_x, T), chunked)
    monkeypatch.setattr(bgnbd, "ALIVE_CHUNK", 10**9)
    np.testing.assert_array_equal(bgnbd.p_alive(PARAMS, x, t_x, T), chunked)
    assert bgnbd.p_alive(PARAMS, 2.0, 30.0, 40.0).shape == ()  # scalars stay scalars
    grid = bgnbd.p_alive(PARAMS, x[:6].reshape(3, 2), t_x[:6].reshape(3, 2), 300.0)
    np.testing.assert_array_equal(grid.ravel(), bgnbd.p_alive(PARAMS, x[:6], t_x[:6], 300.0))


def test_expected_order_value_is_the_textbook_formula_bit_for_bit():
    params = GammaGammaParams(p=6.25, q=3.74, gamma=15.44)
    rng = np.random.default_rng(4)
    x = rng.integers(0, 9, 1000).astype(float)
    zbar = np.where(x > 0, rng.gamma(2.0, 20.0, 1000), np.nan)  # no spend without repeats
    p, q, g = params.p, params.q, params.gamma
    textbook = p * (g + x * np.where(x > 0, zbar, 0.0)) / (p * x + q - 1.0)
    np.testing.assert_array_equal(conditional_expected_average_value(params, x, zbar), textbook)
