"""Gamma-Gamma against the published CDNOW figures (Fader & Hardie note; REFERENCE.md)."""

from __future__ import annotations

import numpy as np
import pytest

from profileguard.model.predictive.gamma_gamma import (
    GammaGammaParams,
    conditional_expected_average_value,
    fit_gamma_gamma,
)

PUBLISHED = GammaGammaParams(p=6.25, q=3.74, gamma=15.44)


@pytest.fixture
def data(cdnow_with_transactions: np.ndarray) -> np.ndarray:
    return cdnow_with_transactions


def test_fit_on_cdnow_repeat_buyers_matches_published_parameters_within_one_percent(data):
    fit = fit_gamma_gamma(data["x"], data["zbar"])
    assert fit.n_customers == 946
    for name, want in PUBLISHED.as_dict().items():
        assert getattr(fit.params, name) == pytest.approx(want, rel=0.01), name


def test_expected_order_value_of_first_ten_customers_matches_reference(data):
    got = conditional_expected_average_value(PUBLISHED, data["x"][:10], data["zbar"][:10])
    want = [24.66, 18.92, 35.22, 35.22, 35.22, 71.47, 18.92, 35.22, 27.29, 35.22]
    assert [round(float(v), 2) for v in got] == want


def test_customer_without_repeat_gets_the_population_mean():
    got = conditional_expected_average_value(PUBLISHED, [0], [123.0])
    assert float(got[0]) == pytest.approx(PUBLISHED.population_mean)


def test_fit_needs_repeat_customers():
    with pytest.raises(ValueError, match="repeat"):
        fit_gamma_gamma([0, 0, 1], [0.0, 0.0, 5.0])


def test_analytic_gradient_matches_finite_differences(data):
    from scipy.optimize import check_grad

    from profileguard.model.predictive.gamma_gamma import negative_log_likelihood_and_gradient

    keep = data["x"] > 0
    x, z = data["x"][keep], data["zbar"][keep] / 30.0
    theta = np.log([5.0, 3.0, 0.5])
    err = check_grad(
        lambda th: negative_log_likelihood_and_gradient(th, x, z)[0],
        lambda th: negative_log_likelihood_and_gradient(th, x, z)[1],
        theta,
    )
    assert err < 1e-5
