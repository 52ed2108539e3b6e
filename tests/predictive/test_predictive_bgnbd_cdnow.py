"""BG/NBD against the published CDNOW figures (Fader, Hardie & Lee 2005; REFERENCE.md)."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.special import hyp2f1

from profileguard.model.predictive.bgnbd import (
    BGNBDParams,
    collapse_rows,
    conditional_expected_purchases,
    expected_purchases,
    fit_bgnbd,
    log_likelihood,
    p_alive,
    probability_of_purchases,
)

PUBLISHED = BGNBDParams(r=0.243, alpha=4.414, a=0.793, b=2.426)


@pytest.fixture
def summary(cdnow_summary: np.ndarray) -> np.ndarray:
    return cdnow_summary


def test_fit_on_cdnow_summary_matches_published_parameters_within_one_percent(summary):
    fit = fit_bgnbd(summary["frequency"], summary["recency"], summary["T"])
    got = fit.params
    for name, want in PUBLISHED.as_dict().items():
        assert getattr(got, name) == pytest.approx(want, rel=0.01), name
    assert fit.log_likelihood == pytest.approx(-9582.4, abs=0.5)
    assert fit.n_customers == 2357
    assert fit.n_unique_rows < fit.n_customers  # identical rows were collapsed


def test_conditional_expectation_at_published_parameters_matches_reference():
    value = conditional_expected_purchases(PUBLISHED, 39.0, 2, 30.43, 38.86)
    assert round(float(value), 3) == 1.226


def test_unconditional_expectation_at_published_parameters_matches_reference():
    t = [0.1429, 1, 3, 31.8571, 32, 78]
    want = [0.0078, 0.0533, 0.1509, 1.0420, 1.0452, 1.8605]
    got = expected_purchases(PUBLISHED, t)
    np.testing.assert_allclose(got, want, atol=5e-4)


def test_probability_of_no_purchase_in_39_weeks_matches_reference():
    assert round(probability_of_purchases(PUBLISHED, 39.0, 0), 4) == 0.5738


def test_purchase_count_distribution_sums_to_one_and_matches_its_mean():
    probs = np.array([probability_of_purchases(PUBLISHED, 39.0, n) for n in range(400)])
    assert probs.sum() == pytest.approx(1.0, abs=1e-9)
    mean = float(np.dot(np.arange(400), probs))
    assert mean == pytest.approx(float(expected_purchases(PUBLISHED, 39.0)), rel=1e-6)


def test_collapsed_weighted_likelihood_equals_row_by_row_likelihood(summary):
    x, t_x, T = summary["frequency"], summary["recency"], summary["T"]
    ux, ut, uT, w = collapse_rows(x, t_x, T)
    assert w.sum() == len(x)
    assert log_likelihood(PUBLISHED, ux, ut, uT, w) == pytest.approx(
        log_likelihood(PUBLISHED, x, t_x, T), rel=1e-12
    )


def test_p_alive_is_one_without_repeat_and_falls_with_a_long_silence():
    alive = p_alive(PUBLISHED, [0, 5, 5], [0.0, 38.0, 5.0], [38.86, 38.86, 38.86])
    assert alive[0] == 1.0
    assert alive[1] > 0.8 > 0.01 > alive[2]


def test_expectation_stays_finite_for_very_frequent_customers():
    value = conditional_expected_purchases(PUBLISHED, 52.0, 2000, 38.86, 38.86)
    assert np.isfinite(value) and value > 1000


def test_stable_expectation_equals_the_textbook_hypergeometric_form():
    r, alpha, a, b = PUBLISHED.r, PUBLISHED.alpha, PUBLISHED.a, PUBLISHED.b
    x = np.arange(0, 15, dtype=float)
    t_x, T, t = np.minimum(x * 2.5, 38.0), 38.86, 39.0
    z = t / (alpha + T + t)
    textbook = (
        (a + b + x - 1)
        / (a - 1)
        * (1 - ((alpha + T) / (alpha + T + t)) ** (r + x) * hyp2f1(r + x, b + x, a + b + x - 1, z))
    )
    textbook /= 1 + (x > 0) * a / np.maximum(b + x - 1, 1e-12) * ((alpha + T) / (alpha + t_x)) ** (
        r + x
    )
    got = conditional_expected_purchases(PUBLISHED, t, x, t_x, T)
    np.testing.assert_allclose(got, textbook, rtol=1e-9)


def test_fit_rejects_recency_larger_than_T():
    with pytest.raises(ValueError, match="t_x <= T"):
        fit_bgnbd([1, 2], [5.0, 50.0], [10.0, 10.0])


def test_analytic_gradient_matches_finite_differences(summary):
    from scipy.optimize import check_grad

    from profileguard.model.predictive.bgnbd import negative_log_likelihood_and_gradient

    ux, ut, uT, w = collapse_rows(summary["frequency"], summary["recency"], summary["T"])
    theta = np.log([0.3, 3.0, 0.9, 2.0])
    err = check_grad(
        lambda th: negative_log_likelihood_and_gradient(th, ux, ut, uT, w)[0],
        lambda th: negative_log_likelihood_and_gradient(th, ux, ut, uT, w)[1],
        theta,
    )
    assert err < 1e-5
