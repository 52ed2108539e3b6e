"""BG/NBD: how many purchases a customer will make, and whether they are still "alive".

The beta-geometric / negative binomial distribution model of Fader, Hardie & Lee (2005),
"Counting Your Customers the Easy Way", Marketing Science 24(2). While alive a customer
buys as a Poisson process with rate λ ~ Gamma(r, α); after every purchase they drop out
with probability p ~ Beta(a, b). Inputs per customer are ``x`` (repeat purchases),
``t_x`` (time of the last purchase since the first) and ``T`` (time observed).

Why hand-written: the usual library, ``lifetimes``, is archived, does not support
current pandas / numpy, and its pandas summary step does not scale; the model itself is a
few closed-form expressions. This module is numpy / SciPy only and never imports
``lifetimes``. For numerical stability the log-likelihood stays in log space
(``gammaln``, ``betaln``, ``logaddexp``), the Gauss hypergeometric terms use Pfaff's
transformation so that large ``x`` or large a, b cannot overflow, identical (x, t_x, T) rows are
collapsed into weights before fitting, and maximum likelihood runs L-BFGS-B on log
parameters within bounds from several starts, keeping the best.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass

import numpy as np
import numpy.typing as npt
from scipy.special import betaln, digamma, expit, gammaln, hyp2f1
from threadpoolctl import threadpool_limits

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.intp]
ArrayLike = npt.ArrayLike

#: bounds for every log parameter during the fit (parameters between ~4.5e-5 and ~2.2e4)
LOG_BOUNDS = (-10.0, 10.0)


@dataclass(frozen=True)
class BGNBDParams:
    """Fitted or published BG/NBD parameters; ``alpha`` is in the summary's time unit."""

    r: float
    alpha: float
    a: float
    b: float

    def as_dict(self) -> dict[str, float]:
        return asdict(self)


@dataclass(frozen=True)
class BGNBDFit:
    """The result of :func:`fit_bgnbd`."""

    params: BGNBDParams
    log_likelihood: float
    n_customers: int
    n_unique_rows: int
    converged: bool


def _arrays(*values: ArrayLike) -> list[FloatArray]:
    return [np.asarray(v, dtype=np.float64) for v in values]


def factorize(values: FloatArray | IntArray) -> tuple[FloatArray, IntArray]:
    """The distinct values of a 1-d array (ascending) and each element's index into them.

    Counts and times of a summary are mostly whole numbers in a short range (days since the
    first purchase): those are coded in one pass without sorting; anything else goes
    through ``np.unique``. Integer arrays need no check that they are whole.
    """
    whole = values.dtype.kind in "iu"
    if values.size and (whole or np.all(np.isfinite(values))):
        cast = int if whole else float  # exact bounds, whatever the magnitude
        low, high = cast(values.min()), cast(values.max())
        span = high - low
        if span <= 2.0 * values.size + 1024 and (
            whole or np.array_equal(values, np.floor(values))
        ):
            offset = values.astype(np.intp)  # exact: whole numbers
            offset -= int(low)
            present = np.zeros(int(span) + 1, dtype=bool)
            present[offset] = True
            code_of = np.cumsum(present, dtype=np.intp) - 1
            levels = np.flatnonzero(present).astype(np.float64) + low
            return levels, code_of[offset]
    levels, codes = np.unique(values, return_inverse=True)
    return levels.astype(np.float64, copy=False), codes.reshape(-1)


#: distinct_rows numbers each (x, t_x, T) combination in an int64 while there are fewer
MAX_ROW_KEYS = 2**62


@dataclass(frozen=True)
class DistinctRows:
    """The distinct (x, t_x, T) rows of a summary, how often each occurs, and which distinct
    row each customer has (``inverse``): fit on the distinct rows with their counts as
    weights, score them once and broadcast back with ``values[inverse]``."""

    x: FloatArray
    t_x: FloatArray
    T: FloatArray
    counts: FloatArray
    inverse: IntArray

    def __len__(self) -> int:
        return len(self.x)


def distinct_rows(x: ArrayLike, t_x: ArrayLike, T: ArrayLike) -> DistinctRows:
    """Group identical (x, t_x, T) rows (ordered by x, then t_x, then T)."""
    arrays = _arrays(x, t_x, T)
    shape = np.broadcast_shapes(*(a.shape for a in arrays))
    n = int(np.prod(shape))
    if n == 0:
        empty = np.zeros(0)
        return DistinctRows(empty, empty, empty, empty, np.zeros(0, dtype=np.intp))

    def coded(values: FloatArray) -> tuple[FloatArray, IntArray]:
        if values.size == 1:  # one value for everyone (a horizon, a common T)
            return values.reshape(1), np.zeros(n, dtype=np.intp)
        return factorize(np.broadcast_to(values, shape).reshape(-1))

    (lx, cx), (lt, ct), (lT, cT) = (coded(a) for a in arrays)
    combinations = lx.size * lt.size * lT.size  # Python ints: no overflow
    if combinations >= MAX_ROW_KEYS:  # too many to number: compare the rows themselves
        stacked = np.column_stack([cx, ct, cT])
        rows, inverse = np.unique(stacked, axis=0, return_inverse=True)
        inverse = inverse.reshape(-1)
        counts = np.bincount(inverse, minlength=len(rows)).astype(np.float64)
        return DistinctRows(lx[rows[:, 0]], lt[rows[:, 1]], lT[rows[:, 2]], counts, inverse)
    # the key is built in place and the codes let go as soon as they are added in: scoring a
    # million customers holds two int64 arrays here, not six
    key = cx.astype(np.int64)
    del cx
    key *= lt.size
    key += ct
    del ct
    key *= lT.size
    key += cT
    del cT
    if combinations <= 2 * n + 1024:  # few combinations: code them directly
        levels, inverse = factorize(key)
        keys = levels.astype(np.int64)
    else:
        keys, inverse = np.unique(key, return_inverse=True)
        inverse = inverse.reshape(-1)
    counts = np.bincount(inverse, minlength=keys.size).astype(np.float64)
    rest, iT = np.divmod(keys, lT.size)
    ix, it = np.divmod(rest, lt.size)
    return DistinctRows(lx[ix], lt[it], lT[iT], counts, inverse)


def collapse_rows(
    x: ArrayLike, t_x: ArrayLike, T: ArrayLike
) -> tuple[FloatArray, FloatArray, FloatArray, FloatArray]:
    """Identical (x, t_x, T) rows become one row with a weight (their count)."""
    rows = distinct_rows(x, t_x, T)
    return rows.x, rows.t_x, rows.T, rows.counts


def log_likelihood_terms(
    params: BGNBDParams, x: ArrayLike, t_x: ArrayLike, T: ArrayLike
) -> FloatArray:
    """Per-customer log-likelihood (FHL 2005, eq. 6), computed in log space."""
    xa, ta, Ta = _arrays(x, t_x, T)
    r, alpha, a, b = params.r, params.alpha, params.a, params.b
    base = gammaln(r + xa) - gammaln(r) + r * np.log(alpha)
    beta_ab = betaln(a, b)
    still_alive = betaln(a, b + xa) - beta_ab - (r + xa) * np.log(alpha + Ta)
    repeat = xa > 0
    dropped = np.full_like(xa, -np.inf)
    xr = xa[repeat]
    dropped[repeat] = (
        betaln(a + 1.0, b + xr - 1.0) - beta_ab - (r + xr) * np.log(alpha + ta[repeat])
    )
    result: FloatArray = base + np.logaddexp(still_alive, dropped)
    return result


def log_likelihood(
    params: BGNBDParams,
    x: ArrayLike,
    t_x: ArrayLike,
    T: ArrayLike,
    weights: ArrayLike | None = None,
) -> float:
    """Total (weighted) log-likelihood of the data under ``params``."""
    terms = log_likelihood_terms(params, x, t_x, T)
    if weights is None:
        return float(np.sum(terms))
    return float(np.sum(terms * np.asarray(weights, dtype=np.float64)))


class WeightedRows:
    """Distinct rows and weights prepared for the likelihood: every function of x, t_x or
    T alone is evaluated once per distinct value and reached through an index.

    With u = the posterior probability of the "dropped out at t_x" branch, the log-likelihood
    is a sum over levels of x and T plus Σ w·softplus(d), where d = log(a / (b + x − 1)) +
    (r + x)·log((α + T) / (α + t_x)) exists only for repeat rows. Only d, softplus(d) and u
    are per row; everything the gradient needs from them is a ``bincount`` onto the levels.
    """

    def __init__(
        self, x: FloatArray, t_x: FloatArray, T: FloatArray, weights: FloatArray, scale: float = 1.0
    ):
        """``scale`` multiplies t_x and T (after they are coded: whole days stay whole)."""
        self.n = float(np.sum(weights))
        self.lx, ix = factorize(x)
        self.lT, iT = factorize(T)
        self.lT = self.lT * scale
        self.w_x = np.bincount(ix, weights, minlength=self.lx.size)
        self.w_T = np.bincount(iT, weights, minlength=self.lT.size)
        self.wx_T = np.bincount(iT, weights * x, minlength=self.lT.size)
        repeat = x > 0
        self.x = x[repeat]
        self.w = weights[repeat]
        self.ix, self.iT = ix[repeat], iT[repeat]
        self.lt, self.it = factorize(t_x[repeat])
        self.lt = self.lt * scale

    def nll_and_gradient(self, theta: FloatArray) -> tuple[float, FloatArray]:
        """Mean negative log-likelihood at log-parameters ``theta`` and its gradient."""
        r, alpha, a, b = np.exp(theta)
        lx, n = self.lx, self.n
        log_aT, log_at = np.log(alpha + self.lT), np.log(alpha + self.lt)
        log_odds = np.log(a) - np.log(b + np.maximum(lx, 1.0) - 1.0)
        d = log_odds[self.ix] + (r + self.x) * (log_aT[self.iT] - log_at[self.it])
        e = np.exp(-np.abs(d))
        softplus = np.maximum(d, 0.0) + np.log1p(e)
        u = np.where(d >= 0.0, 1.0, e) / (1.0 + e)  # sigmoid(d): share of "dropped"
        psi_abx = digamma(a + b + lx)
        ll = (
            float(np.dot(self.w_x, gammaln(r + lx) + gammaln(b + lx) - gammaln(a + b + lx)))
            + n * (r * np.log(alpha) - gammaln(r) + gammaln(a + b) - gammaln(b))
            - float(np.dot(r * self.w_T + self.wx_T, log_aT))
            + float(np.dot(self.w, softplus))
        )
        if not np.isfinite(ll):
            return 1e300, np.zeros(4)
        wu = self.w * u
        wu_x = np.bincount(self.ix, wu, minlength=lx.size)
        wu_T = np.bincount(self.iT, wu, minlength=self.lT.size)
        wu_t = np.bincount(self.it, wu, minlength=self.lt.size)
        wur = wu * (r + self.x)
        wur_T = np.bincount(self.iT, wur, minlength=self.lT.size)
        wur_t = np.bincount(self.it, wur, minlength=self.lt.size)
        psi_ab = digamma(a + b)
        d_r = (
            float(np.dot(self.w_x, digamma(r + lx)))
            + n * (np.log(alpha) - digamma(r))
            - float(np.dot(self.w_T - wu_T, log_aT))
            - float(np.dot(wu_t, log_at))
        )
        d_alpha = (
            n * r / alpha
            - float(np.dot(r * self.w_T + self.wx_T - wur_T, 1.0 / (alpha + self.lT)))
            - float(np.dot(wur_t, 1.0 / (alpha + self.lt)))
        )
        d_a = n * psi_ab - float(np.dot(self.w_x, psi_abx)) + float(np.sum(wu_x)) / a
        d_b = (
            n * (psi_ab - digamma(b))
            + float(np.dot(self.w_x, digamma(b + lx) - psi_abx))
            - float(np.dot(wu_x, 1.0 / (b + np.maximum(lx, 1.0) - 1.0)))
        )
        grad = np.array([d_r * r, d_alpha * alpha, d_a * a, d_b * b])
        return -ll / n, -grad / n


def negative_log_likelihood_and_gradient(
    theta: FloatArray,
    x: FloatArray,
    t_x: FloatArray,
    T: FloatArray,
    weights: FloatArray,
    x_levels: object = None,
) -> tuple[float, FloatArray]:
    """Mean negative log-likelihood at log-parameters ``theta`` and its analytic gradient.

    With LL = A1 + log(e^A2 + e^A3), the gradient is dA1 + s·dA2 + (1−s)·dA3 where
    s = e^A2 / (e^A2 + e^A3); derivatives of ``gammaln`` / ``betaln`` are digammas. See
    :class:`WeightedRows`, which the fit builds once and evaluates many times
    (``x_levels`` is accepted for compatibility and ignored).
    """
    xa, ta, Ta, wa = _arrays(x, t_x, T, weights)
    return WeightedRows(xa, ta, Ta, wa).nll_and_gradient(theta)


#: above this many (distinct) rows, the starts are screened on a sample of this size
SCREENING_ROWS = 20_000


def minimize_lbfgsb(
    objective: Callable[[FloatArray], tuple[float, FloatArray]],
    start: FloatArray,
    maxiter: int,
    bounds: tuple[float, float],
) -> tuple[float, FloatArray, bool]:
    """L-BFGS-B on log parameters with the analytic gradient: (value, parameters, converged).

    SciPy's optimiser is imported here, when a model is fitted, not with the module:
    ``scipy.optimize`` costs ~0.5 s and ~27 MB of memory that scoring and the SQL summary
    (which runs before the fit and holds the most memory) do not need."""
    from scipy.optimize import minimize

    res = minimize(
        objective,
        start,
        jac=True,
        method="L-BFGS-B",
        bounds=[bounds] * len(start),
        options={"maxiter": maxiter, "ftol": 1e-13, "gtol": 1e-8},
    )
    # a line search that stalls at the optimum (gradient ~ 0) has converged too
    done = bool(res.success) or float(np.max(np.abs(res.jac))) < 1e-6
    return float(res.fun), np.asarray(res.x, dtype=np.float64), done


def screening_sample(n_rows: int, rng: np.random.Generator) -> IntArray | None:
    """Indices of a uniform sample of ``SCREENING_ROWS`` rows (None: use all ``n_rows``).

    Each start of the fit first gets a few iterations only to find the most promising one;
    a uniform sample of the rows, with their weights, ranks the starts as well as all
    rows do, at a fraction of the cost. The chosen start is then run on every row."""
    if n_rows <= SCREENING_ROWS:
        return None
    picked: IntArray = np.sort(rng.choice(n_rows, size=SCREENING_ROWS, replace=False))
    return picked


def _default_starts(rng: np.random.Generator, n_random: int) -> list[FloatArray]:
    fixed = [
        np.zeros(4),
        np.log([0.25, 4.0, 0.8, 2.5]),
        np.log([1.0, 1.0, 0.5, 0.5]),
        np.log([0.1, 10.0, 2.0, 5.0]),
    ]
    random = [rng.uniform(-2.0, 2.0, size=4) for _ in range(n_random)]
    return fixed + random


def fit_bgnbd(
    x: ArrayLike,
    t_x: ArrayLike,
    T: ArrayLike,
    *,
    n_random_starts: int = 2,
    seed: int = 0,
) -> BGNBDFit:
    """Maximum-likelihood BG/NBD parameters for one summary row per customer.

    Times are rescaled internally so that the largest ``T`` is 10 (α scales with time,
    r, a, b do not), which keeps the optimiser's steps comparable for days and weeks.
    Every start gets a short L-BFGS-B run with the analytic gradient (on a sample of the
    distinct rows when there are many, see :func:`screening_sample`); the best one is then
    run to convergence on all of them.
    """
    xa, ta, Ta = _arrays(x, t_x, T)
    if not xa.shape == ta.shape == Ta.shape or xa.ndim != 1:
        raise ValueError(
            "BG/NBD needs x, t_x and T as 1-d arrays with one value per customer; got shapes "
            f"{xa.shape}, {ta.shape}, {Ta.shape}"
        )
    if xa.size == 0:
        raise ValueError("cannot fit BG/NBD on zero customers")
    for name, values in (("x", xa), ("t_x", ta), ("T", Ta)):
        if not np.all(np.isfinite(values)):
            row = int(np.flatnonzero(~np.isfinite(values))[0])
            raise ValueError(f"BG/NBD needs finite {name}; row {row} has {values[row]}")
    if np.any(xa < 0) or np.any(ta < 0) or np.any(ta > Ta + 1e-9):
        raise ValueError("BG/NBD needs x >= 0 and 0 <= t_x <= T for every customer")
    rows = distinct_rows(xa, ta, Ta)
    scale = 10.0 / float(np.max(Ta)) if float(np.max(Ta)) > 0 else 1.0
    rng = np.random.default_rng(seed)
    data = WeightedRows(rows.x, rows.t_x, rows.T, rows.counts, scale)
    # the starts are only compared: a weighted sample of the rows ranks them as well
    sample = screening_sample(len(rows), rng)
    screen = (
        data
        if sample is None
        else WeightedRows(
            rows.x[sample], rows.t_x[sample], rows.T[sample], rows.counts[sample], scale
        )
    )

    def run(
        start: FloatArray, maxiter: int, on: WeightedRows = data
    ) -> tuple[float, FloatArray, bool]:
        return minimize_lbfgsb(on.nll_and_gradient, start, maxiter, LOG_BOUNDS)

    # the optimiser works on 3-4 numbers: BLAS threads only add spin-waiting
    with threadpool_limits(limits=1, user_api="blas"):
        screened = [run(s, 6, screen) for s in _default_starts(rng, n_random_starts)]
        best = run(min(screened, key=lambda item: item[0])[1], 5000)
    r, alpha, a, b = (float(v) for v in np.exp(best[1]))
    params = BGNBDParams(r=r, alpha=alpha / scale, a=a, b=b)
    return BGNBDFit(
        params=params,
        # the optimiser's value, back in the caller's time unit: scaling α, t_x and T by c
        # multiplies each customer's likelihood by c^(-x)
        log_likelihood=-best[0] * data.n + np.log(scale) * float(np.dot(rows.counts, rows.x)),
        n_customers=int(xa.size),
        n_unique_rows=len(rows),
        converged=best[2],
    )


def _alive_odds_log(
    params: BGNBDParams, x: FloatArray, t_x: FloatArray, T: FloatArray
) -> FloatArray:
    """log of a/(b+x-1) * ((α+T)/(α+t_x))^(r+x); -inf where x = 0.

    Computed in place: scoring a million customers holds two temporaries, not eight."""
    r, alpha, a, b = params.r, params.alpha, params.a, params.b
    odds = np.empty(np.broadcast_shapes(np.shape(x), np.shape(t_x), np.shape(T)))
    np.subtract(np.log(alpha + T), np.log(alpha + t_x), out=odds)
    odds *= r + x
    odds += np.log(a) - np.log(b + np.maximum(x, 1.0) - 1.0)
    np.copyto(odds, -np.inf, where=np.broadcast_to(x <= 0, odds.shape))
    return odds


#: customers whose P(alive) is computed at once: the temporaries of a chunk stay in cache
#: and small, however many customers are scored
ALIVE_CHUNK = 1 << 16


def _alive(params: BGNBDParams, x: FloatArray, t_x: FloatArray, T: FloatArray) -> FloatArray:
    """P(alive) = 1 / (1 + odds), in chunks of ``ALIVE_CHUNK`` along the first axis."""
    shape = np.broadcast_shapes(x.shape, t_x.shape, T.shape)
    if not shape:
        odds = _alive_odds_log(params, x, t_x, T)
        scalar: FloatArray = expit(np.negative(odds, out=odds), out=odds)
        return scalar
    xb, tb, Tb = (np.broadcast_to(a, shape) for a in (x, t_x, T))
    result: FloatArray = np.empty(shape)
    for start in range(0, shape[0], ALIVE_CHUNK):
        part = slice(start, start + ALIVE_CHUNK)
        odds = _alive_odds_log(params, xb[part], tb[part], Tb[part])
        expit(np.negative(odds, out=odds), out=result[part])
    return result


def p_alive(params: BGNBDParams, x: ArrayLike, t_x: ArrayLike, T: ArrayLike) -> FloatArray:
    """Probability that each customer is still alive at the end of their observation."""
    xa, ta, Ta = _arrays(x, t_x, T)
    result: FloatArray = _alive(params, xa, ta, Ta)
    return result


def _stable_tail(first: FloatArray, a: float, c: FloatArray | float, u: FloatArray) -> FloatArray:
    """The hypergeometric term of FHL eq. 9 / 10, computed stably.

    With z = u/(1+u) the textbook term (1-z)^first · 2F1(first, c-a+1; c; z) equals
    2F1(first, a-1; c; -u) (Pfaff's transformation), which keeps the parameters small when
    x is large and stays finite when a and b are large (little dropout). Where SciPy still
    returns a non-finite value, Euler's form (1-z)^(a-1) · 2F1(c-first, a-1; c; z) is used.
    """
    shape = np.broadcast(first, c, u).shape
    tail = np.array(np.broadcast_to(hyp2f1(first, a - 1.0, c, -u), shape), dtype=np.float64)
    bad = ~np.isfinite(tail)
    if np.any(bad):
        fb = np.broadcast_to(first, shape)[bad]
        cb = np.broadcast_to(c, shape)[bad]
        zb = np.broadcast_to(u / (1.0 + u), shape)[bad]
        tail[bad] = (1.0 - zb) ** (a - 1.0) * hyp2f1(cb - fb, a - 1.0, cb, zb)
    return tail


#: a = 1 is a removable singularity of FHL eq. 9 / 10 (0/0); within this distance of it the
#: value is the mean of the two sides at 1 ± it: error O(distance²) ≈ 1e-8 relative
A_NEAR_ONE = 1e-4


def _scaled_complement(first: FloatArray, a: float, b_plus: FloatArray, u: FloatArray
                       ) -> FloatArray:
    """(a + b_plus − 1)/(a − 1) · (1 − tail), the factor shared by FHL eq. 9 and 10.

    A fit where dropout is not identified (b at its bound, the likelihood flat in a) can
    end at a = 1 exactly, its start, where the textbook form is 0/0; near a = 1 the
    symmetric mean is used instead of the cancelling difference."""
    def direct(a: float) -> FloatArray:
        c = a + b_plus - 1.0
        value: FloatArray = c / (a - 1.0) * (1.0 - _stable_tail(first, a, c, u))
        return value

    if abs(a - 1.0) < A_NEAR_ONE:
        mean: FloatArray = 0.5 * (direct(1.0 - A_NEAR_ONE) + direct(1.0 + A_NEAR_ONE))
        return mean
    return direct(a)


def _purchases_while_alive(
    params: BGNBDParams, t: FloatArray, x: FloatArray, T: FloatArray
) -> FloatArray:
    """Expected purchases in (T, T+t] of a customer still alive at T: FHL eq. 10 without
    the P(alive) factor. Depends on (t, x, T) only, not on t_x."""
    r, alpha, a, b = params.r, params.alpha, params.a, params.b
    # ((α+T)/(α+T+t))^(r+x) · 2F1(r+x, b+x; a+b+x-1; t/(α+T+t)), by Pfaff's transformation
    return _scaled_complement(r + x, a, b + x, t / (alpha + T))


def conditional_expected_purchases(
    params: BGNBDParams, t: ArrayLike, x: ArrayLike, t_x: ArrayLike, T: ArrayLike
) -> FloatArray:
    """E[X(T, T+t) | x, t_x, T]: expected purchases in the next ``t`` (FHL 2005, eq. 10).

    The hypergeometric part depends on (t, x, T) only, and customers share few of those
    (whole days, small counts), so it is evaluated once per distinct combination."""
    ts, xa, ta, Ta = _arrays(t, x, t_x, T)
    shape = np.broadcast_shapes(ts.shape, xa.shape, ta.shape, Ta.shape)
    combos = distinct_rows(xa, ts, Ta)  # (x, horizon, T), broadcast
    while_alive = _purchases_while_alive(params, combos.t_x, combos.x, combos.T)
    expected = while_alive[combos.inverse].reshape(shape)
    del combos  # its per-customer index is no longer needed while P(alive) is computed
    result: FloatArray = _alive(params, xa, ta, Ta)
    result *= expected
    return result


def discounted_purchases(
    params: BGNBDParams,
    x: ArrayLike,
    t_x: ArrayLike,
    T: ArrayLike,
    *,
    period: float,
    periods: int,
    discount_rate: float,
) -> FloatArray:
    """Σ_i (E[X(T, T+i·period)] − E[X(T, T+(i−1)·period)]) / (1 + rate)^i for i = 1..periods.

    The per-period increments depend on (x, T) only: they are evaluated once per distinct
    (x, T) pair and summed with their discounts, then multiplied by each customer's P(alive).
    """
    xa, ta, Ta = _arrays(x, t_x, T)
    shape = np.broadcast_shapes(xa.shape, ta.shape, Ta.shape)
    pairs = distinct_rows(np.broadcast_to(xa, shape), np.zeros(1), np.broadcast_to(Ta, shape))
    total = np.zeros(len(pairs))
    previous = np.zeros(len(pairs))
    for i in range(1, periods + 1):
        current = _purchases_while_alive(params, np.full(1, i * period), pairs.x, pairs.T)
        total += (current - previous) / (1.0 + discount_rate) ** i
        previous = current
    per_customer = total[pairs.inverse].reshape(shape)
    del pairs  # as in conditional_expected_purchases: free the index before P(alive)
    result: FloatArray = _alive(params, xa, ta, Ta)
    result *= per_customer
    return result


def expected_purchases(params: BGNBDParams, t: ArrayLike) -> FloatArray:
    """E[X(t)]: expected purchases in (0, t] of a new customer (FHL 2005, eq. 9)."""
    (ts,) = _arrays(t)
    r, alpha, a, b = params.r, params.alpha, params.a, params.b
    return _scaled_complement(np.full_like(ts, r), a, np.full_like(ts, b), ts / alpha)


def probability_of_purchases(params: BGNBDParams, t: float, n: int) -> float:
    """P(X(t) = n) for a new customer (FHL 2005, eq. 8)."""
    r, alpha, a, b = params.r, params.alpha, params.a, params.b
    log_share = np.log(alpha) - np.log(alpha + t)
    log_rest = np.log(t) - np.log(alpha + t) if t > 0 else -np.inf
    first = np.exp(
        betaln(a, b + n)
        - betaln(a, b)
        + gammaln(r + n)
        - gammaln(r)
        - gammaln(n + 1.0)
        + r * log_share
        + (n * log_rest if n > 0 else 0.0)
    )
    if n == 0:
        return float(first)
    j = np.arange(n, dtype=np.float64)
    partial = np.sum(np.exp(gammaln(r + j) - gammaln(r) - gammaln(j + 1.0) + j * log_rest))
    second = np.exp(betaln(a + 1.0, b + n - 1.0) - betaln(a, b)) * (
        1.0 - np.exp(r * log_share) * partial
    )
    return float(first + second)
