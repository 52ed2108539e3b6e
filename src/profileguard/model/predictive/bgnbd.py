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

from dataclasses import asdict, dataclass

import numpy as np
import numpy.typing as npt
from scipy.optimize import minimize
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


def collapse_rows(
    x: ArrayLike, t_x: ArrayLike, T: ArrayLike
) -> tuple[FloatArray, FloatArray, FloatArray, FloatArray]:
    """Identical (x, t_x, T) rows become one row with a weight (their count)."""
    xa, ta, Ta = _arrays(x, t_x, T)
    if xa.size == 0:
        return xa, ta, Ta, np.zeros(0)
    order = np.lexsort((Ta, ta, xa))
    xs, ts, Ts = xa[order], ta[order], Ta[order]
    new = np.empty(xs.size, dtype=bool)
    new[0] = True
    new[1:] = (xs[1:] != xs[:-1]) | (ts[1:] != ts[:-1]) | (Ts[1:] != Ts[:-1])
    starts = np.flatnonzero(new)
    counts = np.diff(np.append(starts, xs.size)).astype(np.float64)
    return xs[starts], ts[starts], Ts[starts], counts


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


def negative_log_likelihood_and_gradient(
    theta: FloatArray,
    x: FloatArray,
    t_x: FloatArray,
    T: FloatArray,
    weights: FloatArray,
    x_levels: tuple[FloatArray, IntArray] | None = None,
) -> tuple[float, FloatArray]:
    """Mean negative log-likelihood at log-parameters ``theta`` and its analytic gradient.

    With LL = A1 + log(e^A2 + e^A3), the gradient is dA1 + s·dA2 + (1−s)·dA3 where
    s = e^A2 / (e^A2 + e^A3); derivatives of ``gammaln`` / ``betaln`` are digammas.
    The special functions depend on x alone, so they are evaluated once per distinct x
    (``x_levels`` = the distinct values and each row's index into them) and gathered.
    """
    r, alpha, a, b = np.exp(theta)
    levels, index = x_levels if x_levels is not None else np.unique(x, return_inverse=True)
    lv1 = np.maximum(levels, 1.0)
    beta_ab = betaln(a, b)
    # per distinct x: the x-only parts of A1, A2, A3 and of the derivatives
    lgam = gammaln(r + levels)
    b_alive = gammaln(b + levels) - gammaln(a + b + levels) + gammaln(a)
    b_drop = gammaln(a + 1.0) + gammaln(b + lv1 - 1.0) - gammaln(a + b + lv1)
    psi_abx_l = digamma(a + b + levels)
    psi_r_l = digamma(r + levels)
    psi_bx_l = digamma(b + levels)
    psi_bx1_l = digamma(b + lv1 - 1.0)
    repeat = x > 0
    ln_aT, ln_at = np.log(alpha + T), np.log(alpha + t_x)
    a1 = lgam[index] - gammaln(r) + r * np.log(alpha)
    a2 = b_alive[index] - beta_ab - (r + x) * ln_aT
    a3 = np.where(repeat, b_drop[index] - beta_ab - (r + x) * ln_at, -np.inf)
    both = np.logaddexp(a2, a3)
    total_ll = a1 + both
    if not np.all(np.isfinite(total_ll)):
        return 1e300, np.zeros(4)
    s = np.exp(a2 - both)  # share of the "still alive" term
    u = 1.0 - s
    wsum = float(np.sum(weights))
    psi_ab, psi_abx = digamma(a + b), psi_abx_l[index]
    d_r = psi_r_l[index] - digamma(r) + np.log(alpha) - s * ln_aT - u * ln_at
    d_alpha = r / alpha - s * (r + x) / (alpha + T) - u * (r + x) / (alpha + t_x)
    d_a = s * (psi_ab - psi_abx) + u * (digamma(a + 1.0) - digamma(a) + psi_ab - psi_abx)
    d_b = s * (psi_bx_l[index] - psi_abx - digamma(b) + psi_ab) + u * (
        psi_bx1_l[index] - psi_abx - digamma(b) + psi_ab
    )
    grad = np.array(
        [np.sum(weights * d) * p for d, p in ((d_r, r), (d_alpha, alpha), (d_a, a), (d_b, b))]
    )
    return -float(np.sum(weights * total_ll)) / wsum, -grad / wsum


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
    Every start gets a short L-BFGS-B run with the analytic gradient; the best one is
    then run to convergence.
    """
    xa, ta, Ta = _arrays(x, t_x, T)
    if xa.size == 0:
        raise ValueError("cannot fit BG/NBD on zero customers")
    if np.any(xa < 0) or np.any(ta < 0) or np.any(ta > Ta + 1e-9):
        raise ValueError("BG/NBD needs x >= 0 and 0 <= t_x <= T for every customer")
    scale = 10.0 / float(np.max(Ta)) if float(np.max(Ta)) > 0 else 1.0
    ux, ut, uT, w = collapse_rows(xa, ta * scale, Ta * scale)
    x_levels = np.unique(ux, return_inverse=True)

    def run(start: FloatArray, maxiter: int) -> tuple[float, FloatArray, bool]:
        res = minimize(
            negative_log_likelihood_and_gradient,
            start,
            args=(ux, ut, uT, w, x_levels),
            jac=True,
            method="L-BFGS-B",
            bounds=[LOG_BOUNDS] * 4,
            options={"maxiter": maxiter, "ftol": 1e-13, "gtol": 1e-8},
        )
        # a line search that stalls at the optimum (gradient ~ 0) has converged too
        done = bool(res.success) or float(np.max(np.abs(res.jac))) < 1e-6
        return float(res.fun), np.asarray(res.x, dtype=np.float64), done

    # the optimiser works on 3-4 numbers: BLAS threads only add spin-waiting
    with threadpool_limits(limits=1, user_api="blas"):
        screened = [
            run(s, 6) for s in _default_starts(np.random.default_rng(seed), n_random_starts)
        ]
        best = run(min(screened, key=lambda item: item[0])[1], 5000)
    r, alpha, a, b = (float(v) for v in np.exp(best[1]))
    params = BGNBDParams(r=r, alpha=alpha / scale, a=a, b=b)
    return BGNBDFit(
        params=params,
        log_likelihood=log_likelihood(params, xa, ta, Ta),
        n_customers=int(xa.size),
        n_unique_rows=int(ux.size),
        converged=best[2],
    )


def _alive_odds_log(
    params: BGNBDParams, x: FloatArray, t_x: FloatArray, T: FloatArray
) -> FloatArray:
    """log of a/(b+x-1) * ((α+T)/(α+t_x))^(r+x); -inf where x = 0."""
    r, alpha, a, b = params.r, params.alpha, params.a, params.b
    out = np.full(np.broadcast(x, t_x, T).shape, -np.inf)
    xb, tb, Tb = np.broadcast_arrays(x, t_x, T)
    repeat = xb > 0
    xr = xb[repeat]
    out[repeat] = (
        np.log(a)
        - np.log(b + xr - 1.0)
        + (r + xr) * (np.log(alpha + Tb[repeat]) - np.log(alpha + tb[repeat]))
    )
    return out


def p_alive(params: BGNBDParams, x: ArrayLike, t_x: ArrayLike, T: ArrayLike) -> FloatArray:
    """Probability that each customer is still alive at the end of their observation."""
    xa, ta, Ta = _arrays(x, t_x, T)
    result: FloatArray = expit(-_alive_odds_log(params, xa, ta, Ta))
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


def conditional_expected_purchases(
    params: BGNBDParams, t: ArrayLike, x: ArrayLike, t_x: ArrayLike, T: ArrayLike
) -> FloatArray:
    """E[X(T, T+t) | x, t_x, T]: expected purchases in the next ``t`` (FHL 2005, eq. 10)."""
    ts, xa, ta, Ta = _arrays(t, x, t_x, T)
    r, alpha, a, b = params.r, params.alpha, params.a, params.b
    # ((α+T)/(α+T+t))^(r+x) · 2F1(r+x, b+x; a+b+x-1; t/(α+T+t)), by Pfaff's transformation
    tail = _stable_tail(r + xa, a, a + b + xa - 1.0, ts / (alpha + Ta))
    expected = (a + b + xa - 1.0) / (a - 1.0) * (1.0 - tail)
    result: FloatArray = expected * expit(-_alive_odds_log(params, xa, ta, Ta))
    return result


def expected_purchases(params: BGNBDParams, t: ArrayLike) -> FloatArray:
    """E[X(t)]: expected purchases in (0, t] of a new customer (FHL 2005, eq. 9)."""
    (ts,) = _arrays(t)
    r, alpha, a, b = params.r, params.alpha, params.a, params.b
    tail = _stable_tail(np.full_like(ts, r), a, a + b - 1.0, ts / alpha)
    result: FloatArray = (a + b - 1.0) / (a - 1.0) * (1.0 - tail)
    return result


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
