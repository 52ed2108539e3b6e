"""Within-cell OLS with cluster-robust (CR1) standard errors, and a within-cell permutation test.

The price audit compares quotes only inside cells (same item, same time bucket): every
column is demeaned inside its cell (the "within" transformation, equivalent to one fixed
effect per cell) with ``np.bincount`` group sums, so a million quotes take well under a
second per column. The coefficients then come from ordinary least squares on the demeaned
columns, and their covariance from the cluster-robust sandwich with clusters = users, since
one user's quotes share whatever that user's profile does to prices.

Why hand-written: statsmodels is not installed in this project, and the linear algebra
needed (a k×k solve with k ≲ 40, per-cluster score sums, a small-sample factor) is a few
lines of numpy/scipy; pulling in a regression package for that is not worth the
dependency. linearmodels/pyfixest would also do it but neither is available offline here.

Small-sample factor (CR1, as Stata's ``areg ..., vce(cluster)``): G/(G-1) · (N-1)/(N-K)
with K counting the absorbed cell effects, because the cells are not nested in users.
Inference uses Student's t with G-1 degrees of freedom.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray
from scipy import stats

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]

#: a column whose part not explained by the columns kept before it is below this share
#: of its own sum of squares is treated as collinear and dropped
COLLINEARITY_TOLERANCE = 1e-9


def compact_codes(codes: IntArray) -> tuple[IntArray, int]:
    """Renumber non-negative codes as 0..m-1 (keeping their order); return them and m.

    A counting pass, not a sort: O(n) for a million quotes.
    """
    used = np.flatnonzero(np.bincount(codes))
    remap = np.zeros(int(codes.max()) + 1 if codes.size else 1, dtype=np.int64)
    remap[used] = np.arange(used.size)
    return remap[codes], int(used.size)


def within(columns: FloatArray, cells: IntArray, n_cells: int) -> FloatArray:
    """Subtract each cell's mean from every column (the fixed-effects transformation).

    The result is column-major so that each column is contiguous for the group sums.
    """
    counts = np.bincount(cells, minlength=n_cells).astype(np.float64)
    counts[counts == 0] = 1.0
    out = np.empty(columns.shape, order="F")
    for j in range(columns.shape[1]):
        col = np.ascontiguousarray(columns[:, j])
        sums = np.bincount(cells, weights=col, minlength=n_cells)
        out[:, j] = col - (sums / counts)[cells]
    return out


def gram(x: FloatArray) -> FloatArray:
    """X'X. ``einsum`` rather than BLAS: on a shared, loaded machine a multi-threaded
    tall-skinny product was 5-30x slower than this single-threaded loop."""
    return np.asarray(np.einsum("ij,ik->jk", x, x, optimize=False), dtype=np.float64)


def independent_columns(xtx: FloatArray) -> NDArray[np.bool_]:
    """Greedy left-to-right selection of linearly independent columns from X'X.

    A column is kept when its residual sum of squares after projecting on the columns
    already kept is a material share of its own; so earlier columns (the controls) win
    over later ones (the audited groups) when they are collinear.
    """
    k = xtx.shape[0]
    kept = np.zeros(k, dtype=bool)
    for j in range(k):
        own = xtx[j, j]
        if own <= 0:
            continue
        idx = np.flatnonzero(kept)
        if idx.size:
            sub = xtx[np.ix_(idx, idx)]
            cross = xtx[idx, j]
            resid = own - float(cross @ np.linalg.solve(sub, cross))
        else:
            resid = own
        if resid > COLLINEARITY_TOLERANCE * own:
            kept[j] = True
    return kept


@dataclass(frozen=True)
class ClusteredFit:
    """Coefficients and CR1 covariance; dropped (collinear) columns carry NaN."""

    beta: FloatArray
    cov: FloatArray
    kept: NDArray[np.bool_]
    n: int
    n_clusters: int

    @property
    def df(self) -> int:
        return max(self.n_clusters - 1, 1)

    def se(self) -> FloatArray:
        return np.sqrt(np.clip(np.diag(self.cov), 0.0, None))

    def p_values(self) -> FloatArray:
        se = self.se()
        with np.errstate(divide="ignore", invalid="ignore"):
            t = np.abs(self.beta) / se
        p = 2.0 * stats.t.sf(t, self.df)
        return np.where(np.isfinite(p), p, np.nan)

    def conf_int(self, level: float = 0.95) -> tuple[FloatArray, FloatArray]:
        q = float(stats.t.ppf(0.5 + level / 2.0, self.df))
        se = self.se()
        return self.beta - q * se, self.beta + q * se


def fit_clustered(
    x: FloatArray, y: FloatArray, clusters: IntArray, n_absorbed: int
) -> ClusteredFit:
    """OLS of demeaned ``y`` on demeaned ``x`` with CR1 covariance clustered on ``clusters``.

    ``clusters`` are non-negative integer codes (e.g. from ``pd.factorize``); codes absent
    from this sample are simply empty clusters and do not count towards G.
    """
    n, k = x.shape
    xtx = gram(x)
    kept = independent_columns(xtx)
    beta = np.full(k, np.nan)
    cov = np.full((k, k), np.nan)
    sizes = np.bincount(clusters)
    n_clusters = int(np.count_nonzero(sizes))
    n_kept = int(kept.sum())
    dof = n - n_kept - n_absorbed
    if n_kept == 0 or dof <= 0 or n_clusters < 2:
        return ClusteredFit(beta, cov, kept, n, n_clusters)
    xk = x if kept.all() else x[:, kept]
    bread = np.linalg.inv(xtx[np.ix_(kept, kept)])
    bk = bread @ (y @ xk)
    resid = y - xk @ bk
    scores = np.empty((sizes.size, n_kept))
    for j in range(n_kept):
        scores[:, j] = np.bincount(clusters, weights=xk[:, j] * resid, minlength=sizes.size)
    meat = gram(scores)
    factor = (n_clusters / (n_clusters - 1)) * ((n - 1) / dof)
    ck = factor * (bread @ meat @ bread)
    beta[kept] = bk
    cov[np.ix_(kept, kept)] = ck
    return ClusteredFit(beta, cov, kept, n, n_clusters)


def permutation_p_values(
    controls: FloatArray,
    tested: FloatArray,
    y: FloatArray,
    cells: IntArray,
    permutations: int,
    rng: np.random.Generator,
) -> FloatArray:
    """Freedman–Lane permutation p-values for the ``tested`` columns, permuting within cells.

    All inputs are already demeaned within cells. The reduced model (controls only) gives
    residuals; they are shuffled inside each cell and the tested coefficients recomputed.
    Because the tested columns are residualized on the controls, each replicate costs one
    product. Quotes are exchanged one by one, so strong within-user correlation makes this
    test optimistic; the cluster-robust test is the default for that reason.
    """
    if controls.shape[1]:
        kc = independent_columns(gram(controls))
        c = controls[:, kc]
        coef_y = np.linalg.lstsq(c, y, rcond=None)[0]
        resid_y = y - c @ coef_y
        coef_d = np.linalg.lstsq(c, tested, rcond=None)[0]
        resid_d = tested - c @ coef_d
    else:
        resid_y, resid_d = y, tested
    dtd = gram(resid_d)
    kept = independent_columns(dtd)
    out = np.full(tested.shape[1], np.nan)
    if not kept.any():
        return out
    d = resid_d[:, kept]
    solver = np.linalg.inv(dtd[np.ix_(kept, kept)]) @ d.T
    observed = np.abs(solver @ resid_y)
    exceed = np.zeros(d.shape[1])
    grouped = np.argsort(cells, kind="stable")
    base = cells.astype(np.float64)
    shuffled = np.empty_like(resid_y)
    for _ in range(permutations):
        order = np.argsort(base + rng.random(cells.size))  # random order inside each cell
        shuffled[grouped] = resid_y[order]
        exceed += np.abs(solver @ shuffled) >= observed - 1e-12
    out[kept] = (1.0 + exceed) / (1.0 + permutations)
    return out


def benjamini_hochberg(p_values: FloatArray) -> FloatArray:
    """Benjamini–Hochberg adjusted p-values (step-up, monotone, capped at 1); NaN stays NaN."""
    out = np.full(p_values.shape, np.nan)
    valid = np.flatnonzero(np.isfinite(p_values))
    m = valid.size
    if m == 0:
        return out
    order = valid[np.argsort(p_values[valid], kind="stable")]
    scaled = p_values[order] * m / np.arange(1, m + 1)
    adjusted = np.minimum.accumulate(scaled[::-1])[::-1]
    out[order] = np.minimum(adjusted, 1.0)
    return out
