"""Within-cell OLS with cluster-robust standard errors, and a within-cell permutation test.

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

Two variance estimators:

* **CR1** (as Stata's ``areg ..., vce(cluster)``): factor G/(G-1) · (N-1)/(N-K) with K
  counting the absorbed cell effects, Student t with G-1 degrees of freedom. Kept for the
  controls and for comparison: it is optimistic here. The cells are small (a few quotes
  each) and not nested in users, so demeaning a quote subtracts part of its own user's
  price level; the residual sum of a user's quotes then understates that user's share of
  the variance, and the (N-1)/(N-K) factor only repairs the part that is independent
  from quote to quote.
* **CV3, the delete-one-user jackknife** (MacKinnon, Nielsen & Webb 2023), the default for
  the audited groups: Σ_g (β̂ − β̂₍g₎)² · (G-1)/G, where β̂ − β̂₍g₎ = z_g'(I − H_gg)⁻¹ û_g
  (z: the coefficient's row of (X'X)⁻¹X'; H_gg: user g's block of the hat matrix). The
  inverse undoes the user's own share of the cell means for any correlation within the
  user, which CR2's (I − H_gg)^-½ does only for independent quotes. H_gg is taken with the
  absorbed cell effects exactly (each user × cell block is c·11', so (I − H_gg)⁻¹ is
  explicit) plus the tested coefficient's own leverage z_g z_g'/z'z (Sherman–Morrison);
  the leverage of the other k-1 columns is left out, which is exact with one regressor and
  small next to the cell effects here (k ≲ 40 against thousands of cells). Degrees of
  freedom: the effective number of users carrying the test, (Σ_g z_g'z_g)² / Σ_g (z_g'z_g)²
  (Satterthwaite's formula with independent quotes as the working model), capped at G-1, so
  a group of 50 users in one category is judged on about 50 degrees of freedom, not the
  thousands of users in the sample. O(N) per coefficient: three ``bincount`` passes.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray
from scipy import stats
from threadpoolctl import threadpool_limits

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]

#: a column whose part not explained by the columns kept before it is below this share
#: of its own sum of squares is treated as collinear and dropped
COLLINEARITY_TOLERANCE = 1e-9
#: tested columns whose jackknife weights are computed together (N × 8 floats at a time)
JACKKNIFE_BLOCK = 8


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
    """Coefficients, CR1 covariance and per-coefficient standard errors and degrees of freedom.

    ``se_`` and ``df_`` hold the figures inference uses: the jackknife (CV3) ones for the
    columns it was asked for, CR1 for the rest. Dropped (collinear) columns carry NaN, and
    so does a coefficient that one user's quotes carry alone (deleting that user leaves it
    unidentified).
    """

    beta: FloatArray
    cov: FloatArray
    kept: NDArray[np.bool_]
    n: int
    n_clusters: int
    se_: FloatArray
    df_: FloatArray

    @property
    def df(self) -> int:
        """CR1's degrees of freedom, G - 1."""
        return max(self.n_clusters - 1, 1)

    def se(self) -> FloatArray:
        return self.se_

    def p_values(self) -> FloatArray:
        with np.errstate(divide="ignore", invalid="ignore"):
            t = np.abs(self.beta) / self.se_
        p = 2.0 * stats.t.sf(t, self.df_)
        return np.where(np.isfinite(p), p, np.nan)

    def conf_int(self, level: float = 0.95) -> tuple[FloatArray, FloatArray]:
        q = stats.t.ppf(0.5 + level / 2.0, self.df_)
        return self.beta - q * self.se_, self.beta + q * self.se_


def fit_clustered(
    x: FloatArray,
    y: FloatArray,
    clusters: IntArray,
    n_absorbed: int,
    *,
    cells: IntArray | None = None,
    jackknife: NDArray[np.bool_] | None = None,
) -> ClusteredFit:
    """OLS of demeaned ``y`` on demeaned ``x`` with covariance clustered on ``clusters``.

    ``clusters`` are non-negative integer codes (e.g. from ``pd.factorize``); codes absent
    from this sample are simply empty clusters and do not count towards G. The CR1
    covariance is always computed; for the columns marked in ``jackknife`` (which needs the
    ``cells`` the columns were demeaned in) the standard error and degrees of freedom come
    from the delete-one-cluster jackknife instead (see the module docstring).
    """
    n, k = x.shape
    xtx = gram(x)
    kept = independent_columns(xtx)
    beta = np.full(k, np.nan)
    cov = np.full((k, k), np.nan)
    se = np.full(k, np.nan)
    df = np.full(k, np.nan)
    sizes = np.bincount(clusters)
    n_clusters = int(np.count_nonzero(sizes))
    n_kept = int(kept.sum())
    dof = n - n_kept - n_absorbed
    if n_kept == 0 or dof <= 0 or n_clusters < 2:
        return ClusteredFit(beta, cov, kept, n, n_clusters, se, df)
    xk = x if kept.all() else x[:, kept]
    bread: FloatArray = np.asarray(np.linalg.inv(xtx[np.ix_(kept, kept)]), dtype=np.float64)
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
    se[kept] = np.sqrt(np.clip(np.diag(ck), 0.0, None))
    df[kept] = n_clusters - 1
    if jackknife is not None and cells is not None:
        wanted = np.flatnonzero(jackknife[kept])
        if wanted.size:
            jk_se, jk_df = cluster_jackknife(xk, resid, bread, clusters, cells, wanted)
            where = np.flatnonzero(kept)[wanted]
            se[where], df[where] = jk_se, jk_df
    return ClusteredFit(beta, cov, kept, n, n_clusters, se, df)


def cluster_jackknife(
    x: FloatArray,
    resid: FloatArray,
    bread: FloatArray,
    clusters: IntArray,
    cells: IntArray,
    columns: IntArray,
) -> tuple[FloatArray, FloatArray]:
    """Delete-one-cluster jackknife (CV3) standard errors and effective degrees of freedom.

    For each coefficient in ``columns`` (indices into ``x``, the demeaned design of full
    column rank, with ``bread`` = (X'X)⁻¹ and the OLS residuals ``resid``): the change in the
    coefficient when a cluster is deleted, z_g'(I - H_gg)⁻¹ û_g, with H_gg = the cell
    effects' block (explicit per user × cell pair) + z_g z_g'/z'z. A cell holding only one
    cluster's quotes drops out with it (pseudo-inverse: that block adds nothing).

    With Q_g = (I - P_g)⁻¹ (P_g: the cell effects' block), z_g'Q_g û_g = Σ_i z_i v_i with
    v_i = û_i + c_p û_p (û_p: the residual sum of quote i's user × cell pair p, c_p its
    Sherman–Morrison coefficient) — linear in z, so one ``bincount`` per column; z_g'Q_g z_g
    is Σ z_i² plus c_p z_p², where z_p = z_i for the many pairs of one quote and a small sum
    for the rest. The weights z = X (X'X)⁻¹ e_j come from one single-threaded product per
    block of columns (see ``gram`` on threads).
    """
    pair_key = clusters.astype(np.int64) * (int(cells.max()) + 1) + cells
    _, first, pair = np.unique(pair_key, return_index=True, return_inverse=True)
    pair = pair.astype(np.int64).ravel()
    cluster, n_clusters = compact_codes(clusters.astype(np.int64))
    pair_size = np.bincount(pair)
    others = np.bincount(cells).astype(np.float64)[cells[first]] - pair_size
    # (I - 11'/n_c)^-1 on a user's m quotes of a cell is I + 11'/(n_c - m); a pseudo-inverse
    # (the projection I - 11'/m) when the cell is the user's alone
    coef = np.where(others > 0, 1.0 / np.where(others > 0, others, 1.0), -1.0 / pair_size)
    v = resid + (coef * np.bincount(pair, weights=resid))[pair]
    single = pair_size[pair] == 1
    w = np.where(single, 1.0 + coef[pair], 1.0)  # z_i² (1 + c_p) for one-quote pairs
    multi_rows = np.flatnonzero(~single)
    multi_pair, n_multi = compact_codes(pair[multi_rows]) if multi_rows.size else (multi_rows, 0)
    multi_first = np.zeros(n_multi, dtype=np.int64)
    multi_first[multi_pair] = multi_rows
    multi_coef = coef[pair[multi_first]]
    multi_cluster = cluster[multi_first]
    se = np.full(columns.size, np.nan)
    df = np.full(columns.size, np.nan)
    scale = (n_clusters - 1) / n_clusters
    xt = x.T
    for lo in range(0, columns.size, JACKKNIFE_BLOCK):
        block = columns[lo : lo + JACKKNIFE_BLOCK]
        with threadpool_limits(limits=1, user_api="blas"):
            weights = np.ascontiguousarray(bread[:, block].T) @ xt  # one contiguous row per column
        for i in range(block.size):
            z = weights[i]
            zz = z * z
            total = float(zz.sum())
            a = np.bincount(cluster, weights=z * v, minlength=n_clusters)
            d = np.bincount(cluster, weights=zz, minlength=n_clusters)
            b = np.bincount(cluster, weights=zz * w, minlength=n_clusters)
            if n_multi:
                z_multi = np.bincount(multi_pair, weights=z[multi_rows], minlength=n_multi)
                b += np.bincount(multi_cluster, weights=multi_coef * z_multi * z_multi, minlength=n_clusters)
            room = total - b
            if total <= 0 or (room <= 1e-9 * total).any():
                continue  # one cluster carries the coefficient alone
            change = a * total / room
            se[lo + i] = np.sqrt(scale * float(change @ change))
            df[lo + i] = min(float(n_clusters - 1), total * total / float(d @ d))
    return se, df


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
