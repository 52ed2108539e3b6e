"""Differentially private counts, sums, means and histograms by group, with OpenDP.

Privacy unit: one user. If a ``user`` column is given, each user keeps at most
``max_rows_per_user`` rows (a random subset, so the kept rows are not biased by file
order); otherwise every row is taken to be a different user. Values are clamped to the
declared ``bounds``. OpenDP builds each measurement and finds its noise scale with
``binary_search_param``; every released number carries that scale and the mechanism.

* counts and histograms: one ``make_count_by_categories`` → Laplace vector over all
  groups (or group × bin), calibrated for the whole contribution bound ``c`` at once;
* sums: per group ``make_clamp`` → ``sum`` → Laplace, calibrated to ε/c for one row. A
  user's ≤ c rows fall in disjoint groups, so by group privacy the total loss is
  Σ c_g·ε/c ≤ ε;
* means: a noisy sum (ε/2) over a noisy count (ε/2).

Group keys (and histogram categories of a text column) are public when passed as
``keys``; when taken from the data the release says so (``keys_from_data``), because
the list of groups present is itself not protected.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

import numpy as np
import opendp.prelude as dp
import pyarrow as pa
import pyarrow.compute as pc

from profileguard.errors import ProfileguardError
from profileguard.process.budget import BudgetStore, Charge

dp.enable_features("contrib")

Query = Literal["count", "sum", "mean", "histogram"]
QUERIES = ("count", "sum", "mean", "histogram")
NULL_KEY = "<null>"


@dataclass(frozen=True)
class DPValue:
    """One released number, with the scale of the noise added to it."""

    group: str
    value: float
    noise_scale: float
    mechanism: str
    bin: str | None = None
    parts: dict[str, float] = field(default_factory=dict)


@dataclass(frozen=True)
class DPRelease:
    query: str
    by: str
    value_column: str | None
    epsilon: float
    bounds: tuple[float, float] | None
    max_rows_per_user: int
    rows_used: int
    rows_dropped_by_bounding: int
    keys_from_data: bool
    values: list[DPValue]
    budget: Charge | None = None

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        if self.budget is not None:
            d["budget"] = {
                "dataset": self.budget.dataset,
                "spent": self.budget.spent,
                "total": self.budget.total,
                "remaining": self.budget.remaining,
            }
        return d


def _strings(column: pa.ChunkedArray | pa.Array) -> list[str]:
    arr = pc.cast(column, pa.string())
    out: list[str] = arr.fill_null(NULL_KEY).to_pylist()
    return out


def bound_contributions(
    table: pa.Table, user: str | None, max_rows: int, seed: int | None = None
) -> pa.Table:
    """Keep at most ``max_rows`` rows per user (a random subset of each user's rows)."""
    if max_rows < 1:
        raise ProfileguardError(f"max rows per user must be ≥ 1, got {max_rows}")
    if user is None:
        return table
    if user not in table.column_names:
        raise ProfileguardError(f"user column {user!r} not in the data")
    rng = np.random.default_rng(seed)
    order = rng.permutation(table.num_rows)
    codes = pc.dictionary_encode(table.column(user).combine_chunks(), null_encoding="encode")
    ids = codes.indices.to_numpy(zero_copy_only=False)[order]
    stable = np.argsort(ids, kind="stable")
    sorted_ids = ids[stable]
    starts = np.r_[0, np.flatnonzero(np.diff(sorted_ids)) + 1]
    rank = np.arange(len(ids)) - np.repeat(starts, np.diff(np.r_[starts, len(ids)]))
    chosen = np.sort(order[stable[rank < max_rows]])
    return table.take(pa.array(chosen))


def _calibrate(make: Callable[[float], dp.Measurement], d_in: int, epsilon: float) -> float:
    scale: float = dp.binary_search_param(make, d_in=d_in, d_out=epsilon)
    return scale


def _counts(keys: list[str], data: list[str], c: int, epsilon: float) -> tuple[list[int], float]:
    domain = dp.vector_domain(dp.atom_domain(T=str))
    counter = dp.t.make_count_by_categories(
        domain, dp.symmetric_distance(), categories=keys, null_category=False
    )

    def make(scale: float) -> dp.Measurement:
        meas: dp.Measurement = counter >> dp.m.then_laplace(scale)
        return meas

    scale = _calibrate(make, c, epsilon)
    noisy: list[int] = make(scale)(data)
    return noisy, scale


def _sums(
    groups: dict[str, list[float]], bounds: tuple[float, float], c: int, epsilon: float
) -> tuple[dict[str, float], float]:
    domain = dp.vector_domain(dp.atom_domain(T=float, nan=False))

    def make(scale: float) -> dp.Measurement:
        clamped = dp.t.make_clamp(domain, dp.symmetric_distance(), bounds)
        summed = dp.t.make_sum(clamped.output_domain, clamped.output_metric)
        meas: dp.Measurement = clamped >> summed >> dp.m.then_laplace(scale)
        return meas

    scale = _calibrate(make, 1, epsilon / c)
    meas = make(scale)
    return {g: float(meas(vals)) for g, vals in groups.items()}, scale


def _bins(
    values: np.ndarray, bounds: tuple[float, float], bins: int
) -> tuple[list[str], list[str]]:
    lo, hi = bounds
    edges = np.linspace(lo, hi, bins + 1)
    labels = [f"[{edges[i]:g}, {edges[i + 1]:g})" for i in range(bins)]
    labels[-1] = labels[-1][:-1] + "]"
    idx = np.clip(np.searchsorted(edges, np.clip(values, lo, hi), side="right") - 1, 0, bins - 1)
    return labels, [labels[i] for i in idx]


def release(
    table: pa.Table,
    query: Query | str,
    by: str,
    epsilon: float,
    value: str | None = None,
    bounds: tuple[float, float] | None = None,
    user: str | None = None,
    max_rows_per_user: int = 1,
    keys: Sequence[str] | None = None,
    bins: int = 10,
    budget: BudgetStore | None = None,
    dataset: str | None = None,
    seed: int | None = None,
) -> DPRelease:
    """Release one DP query by group, charging ``epsilon`` to ``dataset`` in ``budget``."""
    if query not in QUERIES:
        raise ProfileguardError(f"unknown query {query!r}; allowed: {', '.join(QUERIES)}")
    if epsilon <= 0:
        raise ProfileguardError(f"epsilon must be > 0, got {epsilon}")
    if by not in table.column_names:
        raise ProfileguardError(
            f"--by column {by!r} not in the data ({', '.join(table.column_names)})"
        )
    needs_value = query in ("sum", "mean") or query == "histogram"
    if needs_value and (value is None or value not in table.column_names):
        raise ProfileguardError(f"query {query} needs --value naming a column of the data")
    numeric_value = value is not None and (
        pa.types.is_integer(table.column(value).type)
        or pa.types.is_floating(table.column(value).type)
    )
    if query in ("sum", "mean") and (bounds is None or not numeric_value):
        raise ProfileguardError(f"query {query} needs a numeric --value and --bounds lo,hi")
    if query == "histogram" and numeric_value and bounds is None:
        raise ProfileguardError("a histogram of a numeric column needs --bounds lo,hi (and --bins)")
    if bounds is not None and not bounds[0] < bounds[1]:
        raise ProfileguardError(f"--bounds must be lo,hi with lo < hi, got {bounds}")
    if budget is not None:
        charge: Charge | None = budget.charge(dataset or by, epsilon, f"{query} by {by}")
    else:
        charge = None
    bounded = bound_contributions(table, user, max_rows_per_user, seed)
    c = max_rows_per_user if user is not None else 1
    group_of = _strings(bounded.column(by))
    group_keys = list(keys) if keys is not None else sorted(set(group_of))
    results: list[DPValue] = []
    if query == "count":
        counts, scale = _counts(group_keys, group_of, c, epsilon)
        results = [
            DPValue(g, float(n), scale, "discrete Laplace")
            for g, n in zip(group_keys, counts, strict=True)
        ]
    elif query == "histogram":
        assert value is not None
        if numeric_value:
            assert bounds is not None
            raw = pc.cast(bounded.column(value), pa.float64()).to_numpy(zero_copy_only=False)
            labels, cell = _bins(np.nan_to_num(raw, nan=bounds[0]), bounds, bins)
        else:
            cell = _strings(bounded.column(value))
            labels = sorted(set(cell))
        combined = [f"{g}\x1f{b}" for g, b in zip(group_of, cell, strict=True)]
        pairs = [(g, b) for g in group_keys for b in labels]
        counts, scale = _counts([f"{g}\x1f{b}" for g, b in pairs], combined, c, epsilon)
        results = [
            DPValue(g, float(n), scale, "discrete Laplace", bin=b)
            for (g, b), n in zip(pairs, counts, strict=True)
        ]
    else:
        assert value is not None and bounds is not None
        vals = pc.cast(bounded.column(value), pa.float64()).to_numpy(zero_copy_only=False)
        vals = np.nan_to_num(vals, nan=bounds[0])
        grouped: dict[str, list[float]] = {g: [] for g in group_keys}
        for g, v in zip(group_of, vals.tolist(), strict=True):
            if g in grouped:
                grouped[g].append(v)
        share = epsilon if query == "sum" else epsilon / 2
        sums, sum_scale = _sums(grouped, bounds, c, share)
        if query == "sum":
            results = [DPValue(g, sums[g], sum_scale, "Laplace") for g in group_keys]
        else:
            counts, count_scale = _counts(group_keys, group_of, c, share)
            for g, n in zip(group_keys, counts, strict=True):
                mean = min(max(sums[g] / max(n, 1), bounds[0]), bounds[1])
                results.append(
                    DPValue(
                        g,
                        mean,
                        sum_scale,
                        "Laplace sum / discrete Laplace count",
                        parts={
                            "sum": sums[g],
                            "count": float(n),
                            "sum_noise_scale": sum_scale,
                            "count_noise_scale": count_scale,
                        },
                    )
                )
    return DPRelease(
        query=str(query),
        by=by,
        value_column=value,
        epsilon=epsilon,
        bounds=bounds,
        max_rows_per_user=c,
        rows_used=bounded.num_rows,
        rows_dropped_by_bounding=table.num_rows - bounded.num_rows,
        keys_from_data=keys is None,
        values=results,
        budget=charge,
    )
