"""CLV over a horizon with discounting, and model cards that round-trip through JSON."""

from __future__ import annotations

import json

import numpy as np
import pyarrow as pa
import pytest

from profileguard.model.predictive.bgnbd import BGNBDParams, conditional_expected_purchases
from profileguard.model.predictive.cards import ModelCard
from profileguard.model.predictive.clv import (
    customer_lifetime_value,
    fit_customer_value,
    model_cards,
    month_length,
)
from profileguard.model.predictive.gamma_gamma import (
    GammaGammaParams,
    conditional_expected_average_value,
)
from profileguard.model.predictive.summary import RFMSummary

BG = BGNBDParams(r=0.243, alpha=4.414, a=0.793, b=2.426)
GG = GammaGammaParams(p=6.25, q=3.74, gamma=15.44)
X, TX, T, M = (
    np.array([0.0, 2.0, 7.0]),
    np.array([0.0, 30.43, 29.43]),
    38.86,
    np.array([0, 22.35, 73.74]),
)


def test_undiscounted_clv_is_expected_purchases_times_expected_order_value():
    clv = customer_lifetime_value(
        BG, GG, X, TX, T, M, months=6, monthly_discount_rate=0.0, time_unit="week"
    )
    purchases = conditional_expected_purchases(BG, 6 * month_length("week"), X, TX, T)
    value = conditional_expected_average_value(GG, X, M)
    np.testing.assert_allclose(clv, purchases * value, rtol=1e-12)


def test_discounting_lowers_clv_and_a_longer_horizon_raises_it():
    base = customer_lifetime_value(
        BG, GG, X, TX, T, M, months=12, monthly_discount_rate=0.0, time_unit="week"
    )
    discounted = customer_lifetime_value(
        BG, GG, X, TX, T, M, months=12, monthly_discount_rate=0.02, time_unit="week"
    )
    longer = customer_lifetime_value(
        BG, GG, X, TX, T, M, months=24, monthly_discount_rate=0.02, time_unit="week"
    )
    assert np.all(discounted < base)
    assert np.all(longer > discounted)


def test_clv_rejects_a_negative_discount_rate():
    with pytest.raises(ValueError, match="discount"):
        customer_lifetime_value(BG, GG, X, TX, T, M, monthly_discount_rate=-0.1)


def test_model_cards_describe_both_models_and_round_trip_through_json(cdnow_with_transactions):
    d = cdnow_with_transactions
    summary = RFMSummary.from_arrow(
        pa.table(
            {"frequency": d["x"], "recency": d["t_x"], "T": d["T"], "monetary_value": d["zbar"]}
        ),
        time_unit="week",
    )
    model = fit_customer_value(summary)
    cards = model_cards(model, training_window=("1997-01-01", "1997-09-30"), transactions=6919)
    assert [c.model for c in cards] == ["bgnbd", "gamma_gamma"]
    assert cards[0].parameters["r"] == pytest.approx(0.243, rel=0.01)
    assert cards[0].data_size == {"customers": 2357, "transactions": 6919}
    for card in cards:
        text = card.to_json()
        assert json.loads(text)["training_window"] == ["1997-01-01", "1997-09-30"]
        assert ModelCard.from_json(text) == card
    assert np.all(model.clv(summary, months=3) > 0)
