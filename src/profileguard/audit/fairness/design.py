"""What the price audit compares on and controls for, and the honest list of what it does not.

The legitimate explanations a platform usually records — coupons, membership prices,
A/B buckets, sales channel — are controlled by default when their columns are present;
``--controls`` adds more (from the quotes or the users table). Time is always a control:
quotes are compared only within the same item and time bucket. Everything else that can
move a price without the profile being the reason (a supplier's mark-up, stock, an A/B
test nobody logged) is listed as *not* controlled, because a court decided the Ctrip case
on exactly such a mark-up.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from profileguard.errors import ProfileguardError

DEFAULT_CONTROLS = ("member_price", "ab_bucket", "channel")
#: numeric controls with more distinct values than this enter linearly, not as dummies
MAX_LEVELS_AS_DUMMIES = 20

_DESCRIBE = {
    "member_price": "member_price (membership price applied)",
    "ab_bucket": "ab_bucket (A/B test bucket)",
    "channel": "channel (sales channel)",
}


@dataclass(frozen=True)
class ControlMatrix:
    """Control columns as floats, ready for the within transformation."""

    values: np.ndarray
    names: tuple[str, ...]


def _dummies(values: pd.Series, name: str) -> tuple[np.ndarray, list[str]]:
    text = values.astype(str).where(values.notna(), "(missing)")
    codes, levels = pd.factorize(text, sort=True)
    counts = np.bincount(codes, minlength=len(levels))
    base = int(np.argmax(counts))
    cols = [j for j in range(len(levels)) if j != base]
    matrix = np.zeros((len(values), len(cols)))
    for k, j in enumerate(cols):
        matrix[:, k] = codes == j
    return matrix, [f"{name}={levels[j]}" for j in cols]


def control_matrix(frame: pd.DataFrame, controls: tuple[str, ...]) -> ControlMatrix:
    """One block per control: a flag, a linear term (log for prices) or level dummies."""
    blocks: list[np.ndarray] = []
    names: list[str] = []
    for name in controls:
        col = frame[name]
        numeric = pd.api.types.is_numeric_dtype(col) and not pd.api.types.is_bool_dtype(col)
        if numeric and col.nunique(dropna=True) > MAX_LEVELS_AS_DUMMIES:
            values = col.astype(np.float64).to_numpy()
            missing = np.isnan(values)
            if name.endswith("price"):
                values = np.log(np.where(values > 0, values, np.nan))
                missing = np.isnan(values)
            fill = float(np.nanmean(values)) if (~missing).any() else 0.0
            blocks.append(np.where(missing, fill, values)[:, None])
            names.append(f"log({name})" if name.endswith("price") else name)
            if missing.any():
                blocks.append(missing.astype(np.float64)[:, None])
                names.append(f"{name} missing")
            continue
        matrix, labels = _dummies(col, name)
        blocks.append(matrix)
        names.extend(labels)
    if not blocks:
        return ControlMatrix(np.zeros((len(frame), 0)), ())
    return ControlMatrix(np.hstack(blocks), tuple(names))


def resolve_controls(frame: pd.DataFrame, extra: tuple[str, ...]) -> tuple[str, ...]:
    """Default controls present in the data, plus the declared extras (which must exist)."""
    unknown = [c for c in extra if c not in frame.columns]
    if unknown:
        allowed = sorted(
            str(c) for c in frame.columns if c not in {"user_id", "item_id", "ts", "price"}
        )
        raise ProfileguardError(
            f"--controls: unknown column(s) {', '.join(unknown)}; allowed: {', '.join(allowed)}"
        )
    forbidden = [c for c in extra if c in {"user_id", "item_id", "ts", "price", "coupon"}]
    if forbidden:
        raise ProfileguardError(
            f"--controls: {', '.join(forbidden)} cannot be a control (ids and time are handled by "
            "the item × time cells; coupon by the outcome)"
        )
    chosen = [c for c in DEFAULT_CONTROLS if c in frame.columns]
    chosen += [c for c in extra if c not in chosen]
    return tuple(chosen)


def controlled_for(
    controls: tuple[str, ...], time_bucket: str, coupon_in_outcome: bool
) -> list[str]:
    """The comparison basis and every legitimate factor the estimate holds fixed."""
    out = [f"item × {time_bucket} (only quotes for the same item in the same {time_bucket} are compared)"]
    if coupon_in_outcome:
        out.append("coupon (outcome is the gross price, price + coupon)")
    for name in controls:
        out.append(_DESCRIBE.get(name, f"{name} (declared control)"))
    return out


def not_controlled_for(
    frame: pd.DataFrame,
    controls: tuple[str, ...],
    time_bucket: str,
    coupon_in_outcome: bool,
    *,
    joint: bool = True,
) -> list[str]:
    """What could still explain a measured gap, so a reader does not over-read a flag."""
    out = [
        "supplier or merchant mark-ups not recorded in the quotes (the Ctrip case in Shaoxing "
        "turned on a supplier mark-up, not on the profile)",
        "stock levels and inventory at quote time",
        f"price changes inside one {time_bucket}",
        "quote features not in the data (seller, shipping, bundle, payment method)",
        (
            "attributes outside the audit: a gap may belong to a correlated attribute not audited"
            if joint
            else "attributes are tested one at a time: a gap may belong to a correlated attribute"
        ),
    ]
    if "ab_bucket" in controls:
        out.insert(1, "A/B or pricing experiments not recorded in ab_bucket")
    else:
        out.insert(1, "A/B or pricing experiments (no ab_bucket column)")
    if "coupon" not in frame.columns:
        out.append("coupons (no coupon column)")
    elif not coupon_in_outcome:
        out.append("coupons: counted as part of the price paid (not declared legitimate)")
    if "member_price" not in controls:
        out.append("membership prices (no member_price column)")
    if "channel" not in controls:
        out.append("sales channel (no channel column)")
    if "list_price" in frame.columns and "list_price" not in controls:
        out.append(
            "list_price: present but not controlled (pass --controls list_price if it records "
            "supplier prices)"
        )
    return out
