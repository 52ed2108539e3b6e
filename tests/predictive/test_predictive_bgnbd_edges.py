"""BG/NBD expectations stay finite and continuous at a = 1 (a removable 0/0 of FHL eq. 9/10).

A fit on data without identifiable dropout leaves b at its bound and a at its start, 1.0.
"""

from __future__ import annotations

import numpy as np
import pytest

from profileguard.model.predictive.bgnbd import (
    BGNBDParams,
    conditional_expected_purchases,
    expected_purchases,
)

X = np.array([0.0, 1.0, 5.0, 30.0])
T = np.array([100.0, 100.0, 200.0, 300.0])
TX = 0.9 * T


@pytest.mark.parametrize("b", [3.0, float(np.exp(10.0))])
def test_expectations_at_a_equal_one_are_finite_and_continuous(b: float) -> None:
    def cond(a: float) -> np.ndarray:
        return conditional_expected_purchases(BGNBDParams(0.5, 10.0, a, b), 90.0, X, TX, T)

    def new(a: float) -> np.ndarray:
        return expected_purchases(BGNBDParams(0.5, 10.0, a, b), [10.0, 90.0])

    for f in (cond, new):
        at_one, low, high = f(1.0), f(1.0 - 1e-3), f(1.0 + 1e-3)
        assert np.all(np.isfinite(at_one))
        # continuous through a = 1: within 0.1% of both sides at a distance of 1e-3
        np.testing.assert_allclose(at_one, low, rtol=1e-3)
        np.testing.assert_allclose(at_one, high, rtol=1e-3)
