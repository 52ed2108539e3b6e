"""Gamma-Gamma: what a customer's purchases are worth on average.

Fader & Hardie, "The Gamma-Gamma Model of Monetary Value" (2013 note). The value of each
of a customer's transactions is Gamma(p, ν); across customers ν ~ Gamma(q, γ). Given a
customer's ``x`` repeat purchases with mean value ``zbar``, the expected value of their
average purchase is a weighted mean of the population mean and their own mean. It is
fitted on repeat customers only, and assumes spend is independent of frequency.

Why hand-written: ``lifetimes`` (the usual implementation) is archived and incompatible
with current pandas / numpy; the model is one closed-form likelihood. numpy / SciPy only,
never ``lifetimes``. The likelihood is in log space (``gammaln``); MLE uses L-BFGS-B on
log parameters with the analytic gradient: short runs from several starts (on a sample of
the customers when there are many), then the best one to convergence on all of them.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
import numpy.typing as npt
from scipy.special import digamma, gammaln
from threadpoolctl import threadpool_limits

from profileguard.model.predictive.bgnbd import factorize, minimize_lbfgsb, screening_sample

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.intp]
LOG_BOUNDS = (-10.0, 12.0)


@dataclass(frozen=True)
class GammaGammaParams:
    """Fitted or published Gamma-Gamma parameters (``gamma`` is in money units)."""

    p: float
    q: float
    gamma: float

    def as_dict(self) -> dict[str, float]:
        return asdict(self)

    @property
    def population_mean(self) -> float:
        """E[Z] across customers, p·γ/(q−1) (infinite when q <= 1)."""
        return self.p * self.gamma / (self.q - 1.0) if self.q > 1.0 else float("inf")


@dataclass(frozen=True)
class GammaGammaFit:
    params: GammaGammaParams
    log_likelihood: float
    n_customers: int
    converged: bool


def log_likelihood_terms(
    params: GammaGammaParams, x: npt.ArrayLike, zbar: npt.ArrayLike
) -> FloatArray:
    """Per-customer log density of the mean spend ``zbar`` of ``x`` transactions (x > 0)."""
    xa = np.asarray(x, dtype=np.float64)
    za = np.asarray(zbar, dtype=np.float64)
    p, q, g = params.p, params.q, params.gamma
    px = p * xa
    result: FloatArray = (
        gammaln(px + q)
        - gammaln(px)
        - gammaln(q)
        + q * np.log(g)
        + px * np.log(xa)
        + (px - 1.0) * np.log(za)
        - (px + q) * np.log(g + xa * za)
    )
    return result


class SpendRows:
    """Repeat customers' (x, zbar) prepared for the likelihood.

    Everything that depends on x alone is summed once per distinct x (weighted by its
    count), and the terms in log(zbar) are constants; per customer only log(γ + x·zbar) and
    its reciprocal are evaluated at each step of the optimiser.
    """

    def __init__(self, x: FloatArray, zbar: FloatArray) -> None:
        self.n = float(x.size)
        self.x = x
        self.xz = x * zbar
        self.levels, codes = factorize(x)
        self.counts = np.bincount(codes, minlength=self.levels.size).astype(np.float64)
        self.log_levels = np.log(self.levels)
        log_z = np.log(zbar)
        self.sum_log_z = float(np.sum(log_z))
        self.sum_x_log_z = float(np.dot(x, log_z))

    def nll_and_gradient(self, theta: FloatArray) -> tuple[float, FloatArray]:
        """Mean negative log-likelihood at log-parameters ``theta`` and its gradient."""
        p, q, g = np.exp(theta)
        n, levels, counts = self.n, self.levels, self.counts
        pl = p * levels
        total = g + self.xz
        log_total = np.log(total)
        sum_log_total = float(np.sum(log_total))
        sum_x_log_total = float(np.dot(self.x, log_total))
        ll = (
            float(np.dot(counts, gammaln(pl + q) - gammaln(pl) + pl * self.log_levels))
            + n * (q * np.log(g) - gammaln(q))
            + p * self.sum_x_log_z
            - self.sum_log_z
            - p * sum_x_log_total
            - q * sum_log_total
        )
        if not np.isfinite(ll):
            return 1e300, np.zeros(3)
        inverse = 1.0 / total
        psi_all = digamma(pl + q)
        d_p = (
            float(np.dot(counts * levels, psi_all - digamma(pl) + self.log_levels))
            + self.sum_x_log_z
            - sum_x_log_total
        )
        d_q = float(np.dot(counts, psi_all)) + n * (np.log(g) - digamma(q)) - sum_log_total
        d_g = n * q / g - p * float(np.dot(self.x, inverse)) - q * float(np.sum(inverse))
        grad = np.array([d_p * p, d_q * q, d_g * g])
        return -ll / n, -grad / n


def negative_log_likelihood_and_gradient(
    theta: FloatArray,
    x: FloatArray,
    zbar: FloatArray,
    x_levels: object = None,
) -> tuple[float, FloatArray]:
    """Mean negative log-likelihood at log-parameters ``theta`` and its analytic gradient
    (see :class:`SpendRows`, which the fit builds once; ``x_levels`` is accepted for
    compatibility and ignored)."""
    rows = SpendRows(np.asarray(x, dtype=np.float64), np.asarray(zbar, dtype=np.float64))
    return rows.nll_and_gradient(theta)


def fit_gamma_gamma(
    x: npt.ArrayLike, zbar: npt.ArrayLike, *, n_random_starts: int = 2, seed: int = 0
) -> GammaGammaFit:
    """MLE of (p, q, γ) from repeat customers; rows with x = 0 or zbar <= 0 are skipped
    (and counted in nothing: the fit's ``n_customers`` is the number of rows it used)."""
    xa = np.asarray(x, dtype=np.float64)
    za = np.asarray(zbar, dtype=np.float64)
    if xa.shape != za.shape or xa.ndim != 1:
        raise ValueError(
            "Gamma-Gamma needs x and zbar as 1-d arrays with one value per customer; got "
            f"shapes {xa.shape}, {za.shape}"
        )
    # zbar of a customer without repeat purchases is not used (and often left empty)
    for name, bad in (("x", ~np.isfinite(xa)), ("zbar", (xa > 0) & ~np.isfinite(za))):
        if np.any(bad):
            row = int(np.flatnonzero(bad)[0])
            value = xa[row] if name == "x" else za[row]
            raise ValueError(f"Gamma-Gamma needs a finite {name}; row {row} has {value}")
    keep = (xa > 0) & (za > 0)
    xa, za = xa[keep], za[keep]
    if xa.size < 2:
        raise ValueError("Gamma-Gamma needs at least two customers with repeat purchases")
    scale = float(np.mean(za))  # γ scales with money; fit on unit-mean values
    data = SpendRows(xa, za / scale)
    rng = np.random.default_rng(seed)
    starts = [np.zeros(3), np.log([5.0, 3.0, 2.0]), np.log([1.0, 5.0, 5.0])]
    starts += [rng.uniform(-1.5, 2.0, size=3) for _ in range(n_random_starts)]
    # the starts are only compared: a uniform sample of the customers ranks them as well
    sample = screening_sample(xa.size, rng)
    screen = data if sample is None else SpendRows(xa[sample], za[sample] / scale)

    def run(
        start: FloatArray, maxiter: int, on: SpendRows = data
    ) -> tuple[float, FloatArray, bool]:
        return minimize_lbfgsb(on.nll_and_gradient, start, maxiter, LOG_BOUNDS)

    # the optimiser works on 3-4 numbers: BLAS threads only add spin-waiting
    with threadpool_limits(limits=1, user_api="blas"):
        screened = [run(start, 6, screen) for start in starts]
        best = run(min(screened, key=lambda item: item[0])[1], 5000)
    p, q, g = (float(v) for v in np.exp(best[1]))
    params = GammaGammaParams(p=p, q=q, gamma=g * scale)
    return GammaGammaFit(
        params=params,
        log_likelihood=float(np.sum(log_likelihood_terms(params, xa, za))),
        n_customers=int(xa.size),
        converged=best[2],
    )


def conditional_expected_average_value(
    params: GammaGammaParams, x: npt.ArrayLike, zbar: npt.ArrayLike
) -> FloatArray:
    """E[Z | x, zbar] = p(γ + x·zbar)/(p·x + q − 1); the population mean when x = 0."""
    xa = np.asarray(x, dtype=np.float64)
    p, q, g = params.p, params.q, params.gamma
    # in place, in the order of the formula (same bits): two temporaries per customer, not six
    result: FloatArray = np.where(xa > 0, np.asarray(zbar, dtype=np.float64), 0.0)
    result *= xa
    result += g
    result *= p
    denominator = p * xa
    denominator += q
    denominator -= 1.0
    result /= denominator
    return result
