"""Fit the price-gap models: one regression per block of audited attributes, per category.

A block is the set of attributes whose group indicators enter one regression together with
the controls. In the ``joint`` mode (the default) all audited attributes form one block, so
each gap is measured holding the other audited attributes fixed: a surcharge on gold-tier
users is then not also reported against members merely because most gold users are members.
In the ``separate`` mode each attribute is its own block (the marginal gap, more sensitive
when attributes are nearly collinear, but a gap can spill over to correlated attributes).
Joint mode keeps users with a blank attribute under a "(missing)" level that is never
reported; separate mode leaves them out of that attribute's test.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from profileguard.audit.fairness.regression import (
    compact_codes,
    fit_clustered,
    permutation_p_values,
    within,
)
from profileguard.errors import ProfileguardError

#: an attribute with more groups than this is not a profile band; ask the user to band it
MAX_GROUPS = 50


@dataclass(frozen=True)
class AttributeBlockPart:
    """One audited attribute: its groups (reference first) and each quote's group code."""

    attribute: str
    groups: list[str]
    #: per quote: index into ``groups``, or -1 when the attribute is blank for that user
    codes: np.ndarray


@dataclass(frozen=True)
class ModelInputs:
    """Arrays every model reuses."""

    y: np.ndarray
    cells: np.ndarray
    clusters: np.ndarray
    controls: np.ndarray
    #: per quote: index into ``category_names`` (None: no per-category tests)
    category: np.ndarray | None
    category_names: list[str]
    method: str
    #: standard errors of the audited groups: "cv3" (cluster jackknife) or "cr1"
    variance: str
    permutations: int
    min_quotes: int
    rng: np.random.Generator


@dataclass(frozen=True)
class RawTest:
    attribute: str
    group: str
    reference: str
    category: str | None
    beta: float
    lo: float
    hi: float
    p: float
    n: int
    cells: int


def _label(value: object) -> str | None:
    """Attribute values as text labels (1.0 → "1"); blank and missing become None."""
    if value is None or (isinstance(value, float) and np.isnan(value)) or value is pd.NA:
        return None
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    text = str(value).strip()
    return text or None


def make_part(
    attribute: str, values: pd.Series, untested: list[str], *, explicit: bool
) -> AttributeBlockPart | None:
    """Groups of one attribute, the largest first (the reference); None when not testable."""
    raw_codes, uniques = pd.factorize(values)
    labels = [_label(u) for u in uniques]
    names = sorted({lab for lab in labels if lab is not None})
    if len(names) > MAX_GROUPS:
        message = f"{attribute}: {len(names)} distinct values; band it (at most {MAX_GROUPS} groups)"
        if explicit:
            raise ProfileguardError(f"--attributes {message}")
        untested.append(message)
        return None
    index = {name: i for i, name in enumerate(names)}
    to_name = np.array([index[lab] if lab is not None else -1 for lab in labels] + [-1])
    codes = to_name[raw_codes]  # pandas' -1 (missing) picks the trailing -1
    counts = np.bincount(codes[codes >= 0], minlength=len(names))
    if int((counts > 0).sum()) < 2:
        untested.append(f"{attribute}: fewer than two groups with data")
        return None
    order = sorted(range(len(names)), key=lambda i: (-int(counts[i]), names[i]))
    rank = np.empty(len(names) + 1, dtype=np.int64)
    rank[order] = np.arange(len(names))
    rank[-1] = -1
    return AttributeBlockPart(attribute, [names[i] for i in order], rank[codes].astype(np.int64))


@dataclass(frozen=True)
class _Column:
    part: int
    group: int  # index into the part's groups; -1 marks the "(missing)" indicator


def fit_block(
    parts: list[AttributeBlockPart], inputs: ModelInputs, untested: list[str], *, drop_missing: bool
) -> list[RawTest]:
    """All tests of one block: overall, then per category."""
    n_total = inputs.y.size
    keep = np.ones(n_total, dtype=bool)
    if drop_missing:
        for part in parts:
            keep &= part.codes >= 0
    rows = np.flatnonzero(keep)
    per_cell = np.bincount(inputs.cells[rows])
    rows = rows[per_cell[inputs.cells[rows]] >= 2]
    names = ", ".join(p.attribute for p in parts)
    if rows.size == 0:
        untested.append(f"{names}: no item × time cell has two comparable quotes")
        return []
    cells, n_cells = compact_codes(inputs.cells[rows])
    columns: list[_Column] = []
    blocks: list[np.ndarray] = [inputs.controls[rows]]
    tables: list[np.ndarray] = []
    for i, part in enumerate(parts):
        codes = part.codes[rows]
        n_groups = len(part.groups)
        for j in range(1, n_groups):
            blocks.append((codes == j).astype(np.float64)[:, None])
            columns.append(_Column(i, j))
        if (codes < 0).any():
            blocks.append((codes < 0).astype(np.float64)[:, None])
            columns.append(_Column(i, -1))
        slot = np.where(codes < 0, n_groups, codes)
        table = np.bincount(cells * (n_groups + 1) + slot, minlength=n_cells * (n_groups + 1))
        tables.append(table.reshape(n_cells, n_groups + 1))
    n_controls = inputs.controls.shape[1]
    x = within(np.hstack(blocks), cells, n_cells)
    y = within(inputs.y[rows][:, None], cells, n_cells)[:, 0]
    subsets: list[tuple[str | None, np.ndarray]] = [(None, np.ones(rows.size, dtype=bool))]
    if inputs.category is not None:
        cat = inputs.category[rows]
        for c in np.flatnonzero(np.bincount(cat)):
            subsets.append((inputs.category_names[c], cat == c))
    out: list[RawTest] = []
    for category, sel in subsets:
        out += _fit_subset(parts, columns, tables, category, sel, x, y, cells, n_controls,
                           inputs, rows, untested)
    return out


def _fit_subset(
    parts: list[AttributeBlockPart],
    columns: list[_Column],
    tables: list[np.ndarray],
    category: str | None,
    sel: np.ndarray,
    x: np.ndarray,
    y: np.ndarray,
    cells: np.ndarray,
    n_controls: int,
    inputs: ModelInputs,
    rows: np.ndarray,
    untested: list[str],
) -> list[RawTest]:
    whole = bool(sel.all())
    sub_cells = cells if whole else cells[sel]
    present = np.flatnonzero(np.bincount(sub_cells))
    xs, ys = (x, y) if whole else (x[sel], y[sel])
    clusters = inputs.clusters[rows] if whole else inputs.clusters[rows][sel]
    jackknife = None
    if inputs.variance == "cv3":
        jackknife = np.arange(xs.shape[1]) >= n_controls
    local, _ = compact_codes(sub_cells)
    fit = fit_clustered(
        xs, ys, clusters, n_absorbed=int(present.size), cells=local, jackknife=jackknife
    )
    lo, hi = fit.conf_int()
    p = fit.p_values()
    if inputs.method == "permutation":
        tested = permutation_p_values(
            xs[:, :n_controls], xs[:, n_controls:], ys, local, inputs.permutations, inputs.rng
        )
        p = np.concatenate([np.full(n_controls, np.nan), tested])
    out: list[RawTest] = []
    for offset, column in enumerate(columns):
        if column.group < 0:
            continue
        part = parts[column.part]
        where = f"{part.attribute}={part.groups[column.group]} ({category or 'all categories'})"
        table = tables[column.part][present]
        mine = table[:, column.group]
        others = table[:, : len(part.groups)].sum(axis=1) - mine
        identified = (mine > 0) & (others > 0)
        n, n_cells = int(mine[identified].sum()), int(identified.sum())
        col = n_controls + offset
        if n < inputs.min_quotes:
            untested.append(f"{where}: {n} comparable quotes (fewer than {inputs.min_quotes})")
            continue
        if not (np.isfinite(fit.beta[col]) and np.isfinite(p[col])):
            untested.append(
                f"{where}: not separable from the controls or other attributes, "
                "or carried by a single user's quotes"
            )
            continue
        out.append(
            RawTest(part.attribute, part.groups[column.group], part.groups[0], category,
                    float(fit.beta[col]), float(lo[col]), float(hi[col]), float(p[col]),
                    n, n_cells)
        )
    return out
