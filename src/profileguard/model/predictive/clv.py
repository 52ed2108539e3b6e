"""Customer lifetime value: BG/NBD purchases × Gamma-Gamma order value, discounted monthly.

This module joins the two models over one :class:`RFMSummary`: it fits them, scores each
customer (expected purchases over a horizon, P(alive), expected order value, CLV), and
checks predictions against a holdout period when the summary has one.

CLV over ``months`` follows the usual discrete form: for month i = 1..months, the expected
purchases in month i (difference of the conditional expectations at the end and the start
of the month) times the expected order value, discounted by (1 + monthly rate)^i. A month
is 365.25/12 days (or that divided by 7 in weeks). The monthly increments depend on a
customer's (x, T) only, so they are computed once per distinct pair
(:func:`~profileguard.model.predictive.bgnbd.discounted_purchases`), not per customer.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from profileguard.model.predictive.bgnbd import (
    BGNBDFit,
    BGNBDParams,
    conditional_expected_purchases,
    discounted_purchases,
    fit_bgnbd,
    p_alive,
)
from profileguard.model.predictive.cards import ModelCard
from profileguard.model.predictive.gamma_gamma import (
    GammaGammaFit,
    GammaGammaParams,
    conditional_expected_average_value,
    fit_gamma_gamma,
)
from profileguard.model.predictive.summary import DAYS_PER_UNIT, RFMSummary, TimeUnit

FloatArray = npt.NDArray[np.float64]
DAYS_PER_MONTH = 365.25 / 12.0


def month_length(time_unit: TimeUnit) -> float:
    """One month expressed in the summary's time unit."""
    return DAYS_PER_MONTH / DAYS_PER_UNIT[time_unit]


def customer_lifetime_value(
    bgnbd: BGNBDParams,
    gamma_gamma: GammaGammaParams,
    x: npt.ArrayLike,
    t_x: npt.ArrayLike,
    T: npt.ArrayLike,
    monetary_value: npt.ArrayLike,
    *,
    months: int = 12,
    monthly_discount_rate: float = 0.01,
    time_unit: TimeUnit = "day",
) -> FloatArray:
    """Discounted expected value of each customer's purchases over the next ``months``."""
    if months < 1:
        raise ValueError("the CLV horizon must be at least one month")
    if monthly_discount_rate < 0:
        raise ValueError("the monthly discount rate cannot be negative")
    value = conditional_expected_average_value(gamma_gamma, x, monetary_value)
    purchases = discounted_purchases(
        bgnbd,
        x,
        t_x,
        T,
        period=month_length(time_unit),
        periods=months,
        discount_rate=monthly_discount_rate,
    )
    result: FloatArray = purchases * value
    return result


@dataclass(frozen=True)
class HoldoutCheck:
    """Predicted against actual purchases per customer in the holdout period."""

    correlation: float
    predicted_total: float
    actual_total: float
    duration: float


@dataclass(frozen=True)
class CustomerValueModel:
    """Both fitted models; ``gamma_gamma`` is None when there is no monetary value."""

    bgnbd: BGNBDFit
    gamma_gamma: GammaGammaFit | None
    time_unit: TimeUnit

    def expected_purchases(self, summary: RFMSummary, horizon: float) -> FloatArray:
        """Expected purchases of each customer in the next ``horizon`` (time units)."""
        return conditional_expected_purchases(
            self.bgnbd.params, horizon, summary.frequency, summary.recency, summary.T
        )

    def p_alive(self, summary: RFMSummary) -> FloatArray:
        return p_alive(self.bgnbd.params, summary.frequency, summary.recency, summary.T)

    def expected_order_value(self, summary: RFMSummary) -> FloatArray:
        if self.gamma_gamma is None:
            raise ValueError("no Gamma-Gamma model: the summary had no monetary value")
        return conditional_expected_average_value(
            self.gamma_gamma.params, summary.frequency, summary.monetary_value
        )

    def clv(
        self, summary: RFMSummary, *, months: int = 12, monthly_discount_rate: float = 0.01
    ) -> FloatArray:
        if self.gamma_gamma is None:
            raise ValueError("no Gamma-Gamma model: the summary had no monetary value")
        return customer_lifetime_value(
            self.bgnbd.params,
            self.gamma_gamma.params,
            summary.frequency,
            summary.recency,
            summary.T,
            summary.monetary_value,
            months=months,
            monthly_discount_rate=monthly_discount_rate,
            time_unit=self.time_unit,
        )

    def holdout(self, summary: RFMSummary) -> HoldoutCheck:
        """Compare predicted and actual holdout purchases (needs a holdout summary)."""
        if summary.frequency_holdout is None or summary.duration_holdout is None:
            raise ValueError("the summary has no holdout period")
        predicted = self.expected_purchases(summary, summary.duration_holdout)
        actual = summary.frequency_holdout
        if len(actual) < 2 or np.std(actual) == 0 or np.std(predicted) == 0:
            correlation = float("nan")
        else:
            correlation = float(np.corrcoef(predicted, actual)[0, 1])
        return HoldoutCheck(
            correlation=correlation,
            predicted_total=float(np.sum(predicted)),
            actual_total=float(np.sum(actual)),
            duration=summary.duration_holdout,
        )


def model_cards(
    model: CustomerValueModel,
    *,
    training_window: tuple[str, str],
    transactions: int | None = None,
    holdout: HoldoutCheck | None = None,
) -> list[ModelCard]:
    """Model cards for the fitted BG/NBD (and Gamma-Gamma) models."""
    size = {"customers": model.bgnbd.n_customers}
    if transactions is not None:
        size["transactions"] = transactions
    validation = {"log_likelihood": model.bgnbd.log_likelihood}
    if holdout is not None:
        validation |= {
            "holdout_correlation": holdout.correlation,
            "holdout_predicted_total": holdout.predicted_total,
            "holdout_actual_total": holdout.actual_total,
        }
    unit = f"times in {model.time_unit}s"
    cards = [
        ModelCard(
            model="bgnbd",
            parameters=model.bgnbd.params.as_dict(),
            training_window=training_window,
            data_size=size,
            validation=validation,
            features=("frequency", "recency", "T"),
            feature_categories={
                name: "user.behavior.purchase_history" for name in ("frequency", "recency", "T")
            },
            notes=f"Fader, Hardie & Lee (2005) BG/NBD; {unit}",
        )
    ]
    if model.gamma_gamma is not None:
        cards.append(
            ModelCard(
                model="gamma_gamma",
                parameters=model.gamma_gamma.params.as_dict(),
                training_window=training_window,
                data_size={"repeat_customers": model.gamma_gamma.n_customers},
                validation={"log_likelihood": model.gamma_gamma.log_likelihood},
                features=("frequency", "monetary_value"),
                feature_categories={
                    "frequency": "user.behavior.purchase_history",
                    "monetary_value": "user.behavior.purchase_history",
                },
                notes="Fader & Hardie Gamma-Gamma spend model; repeat customers only",
            )
        )
    return cards


def fit_customer_value(summary: RFMSummary, *, with_monetary: bool = True) -> CustomerValueModel:
    """Fit BG/NBD on every customer and Gamma-Gamma on repeat customers with spend."""
    bg = fit_bgnbd(summary.frequency, summary.recency, summary.T)
    gg: GammaGammaFit | None = None
    repeat = (summary.frequency > 0) & (summary.monetary_value > 0)
    if with_monetary and int(np.sum(repeat)) >= 2:
        gg = fit_gamma_gamma(summary.frequency, summary.monetary_value)
    return CustomerValueModel(bgnbd=bg, gamma_gamma=gg, time_unit=summary.time_unit)
