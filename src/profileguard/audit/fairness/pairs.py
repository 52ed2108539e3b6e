"""Matched pairs: concrete quotes a reviewer can look at behind a flagged price gap.

A pair is two quotes for the same item in the same time bucket, with the same values of
every control (A/B bucket, channel, membership price, …), from two users who differ in
the audited attribute (the flagged group and the reference group), at different prices.
Pairs illustrate a gap; they do not measure it (the regression does). To avoid showing
only the most extreme cases, one quote per side is taken in data order for each matched
key, and the pairs whose difference is closest to the estimated gap are shown, one per item.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd


@dataclass(frozen=True)
class PairRequest:
    """Which comparison to illustrate."""

    attribute: str
    group: str
    reference: str
    category: str | None
    gap_pct: float


@dataclass(frozen=True)
class PairSource:
    """Per-quote arrays the pair search reads, converted once per audit."""

    user_id: np.ndarray
    item_id: np.ndarray
    category: np.ndarray | None
    compared_price: np.ndarray
    #: item × time cell and combined control values: a pair must share both
    cells: np.ndarray
    control_key: np.ndarray
    bucket_code: np.ndarray
    bucket_levels: pd.DatetimeIndex
    controls: tuple[str, ...]
    basis: str


def pair_source(
    frame: pd.DataFrame,
    compared_price: np.ndarray,
    cells: np.ndarray,
    bucket: pd.Series,
    controls: tuple[str, ...],
    basis: str,
) -> PairSource:
    """Prepare the arrays once; the search then touches only numpy."""
    key = np.zeros(len(frame), dtype=np.int64)
    for name in controls:
        codes, levels = pd.factorize(frame[name], use_na_sentinel=False)
        key = key * (len(levels) + 1) + codes
    key = pd.factorize(key)[0].astype(np.int64)
    bucket_code, levels = pd.factorize(bucket)
    return PairSource(
        user_id=frame["user_id"].to_numpy(dtype=object),
        item_id=frame["item_id"].to_numpy(dtype=object),
        category=frame["category"].to_numpy(dtype=object) if "category" in frame.columns else None,
        compared_price=compared_price,
        cells=cells,
        control_key=key,
        bucket_code=bucket_code.astype(np.int64),
        bucket_levels=pd.DatetimeIndex(levels),
        controls=controls,
        basis=basis,
    )


def matched_pairs(
    source: PairSource,
    codes: np.ndarray,
    group_code: int,
    reference_code: int,
    request: PairRequest,
    limit: int,
) -> list[dict[str, Any]]:
    """Up to ``limit`` pairs in the direction of the gap, each on a different item.

    ``codes`` holds each quote's group code for the audited attribute.
    """
    if limit <= 0:
        return []
    keep = (codes == group_code) | (codes == reference_code)
    if request.category is not None and source.category is not None:
        keep &= source.category == request.category
    rows = np.flatnonzero(keep)
    if rows.size == 0:
        return []
    sub = pd.DataFrame(
        {
            "cell": source.cells[rows],
            "key": source.control_key[rows],
            "a": codes[rows] == group_code,
            "row": rows,
            "p": source.compared_price[rows],
        }
    )
    side_a = sub[sub["a"]].drop_duplicates(["cell", "key"])
    side_b = sub[~sub["a"]].drop_duplicates(["cell", "key"])
    merged = side_a.merge(side_b, on=["cell", "key"], suffixes=("_a", "_b"))
    if merged.empty:
        return []
    diff = 100.0 * (merged["p_a"].to_numpy() / merged["p_b"].to_numpy() - 1.0)
    merged = merged.assign(
        diff=diff,
        distance=np.abs(diff - request.gap_pct),
        item=source.item_id[merged["row_a"].to_numpy()],
    )
    merged = merged[(np.sign(merged["diff"]) == np.sign(request.gap_pct)) & (merged["diff"] != 0)]
    merged = merged.sort_values(["distance", "item"], kind="stable")
    merged = merged.drop_duplicates("item").head(limit)
    out: list[dict[str, Any]] = []
    for ra, rb, d in zip(merged["row_a"], merged["row_b"], merged["diff"], strict=True):
        out.append(
            {
                "attribute": request.attribute,
                "group": request.group,
                "reference": request.reference,
                "category": request.category,
                "item_id": str(source.item_id[ra]),
                "time_bucket": source.bucket_levels[source.bucket_code[ra]].isoformat(),
                "user_id": str(source.user_id[ra]),
                "price": round(float(source.compared_price[ra]), 2),
                "reference_user_id": str(source.user_id[rb]),
                "reference_price": round(float(source.compared_price[rb]), 2),
                "diff_pct": round(float(d), 2),
                "basis": source.basis,
                "matched_on": ["item_id", "time_bucket", *source.controls],
            }
        )
    return out
