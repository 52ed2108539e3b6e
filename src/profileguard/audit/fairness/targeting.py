"""Targeting disparity: who gets selected for an audience, a coupon or a campaign.

For each group of each attribute: the selection rate, its ratio to the most-selected group
(the common 0.8 warning line for yes/no decisions) and seeded bootstrap intervals for both
(resampling users within each group, which for a 0/1 outcome is a binomial draw per group,
so thousands of replicates cost nothing). For marketing audiences two inclusion checks:
users under 18 must not be in an automated-marketing audience (ALG 18, MINOR 24), and users
60 or older are counted for the age-friendly review (ALG 19). Ages come from an ``age``
column, a birth date (``birth_date``/``birthdate``/``date_of_birth``) with ``as_of``, or an
``age_band`` such as ``<18``, ``18-24``, ``60+``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from profileguard.errors import ProfileguardError

DISPARITY_LINE = 0.8
_BIRTH_COLUMNS = ("birth_date", "birthdate", "date_of_birth")
_TRUE = {"1", "true", "t", "yes", "y"}
_FALSE = {"0", "false", "f", "no", "n"}


@dataclass(frozen=True)
class SelectionGroup:
    attribute: str
    group: str
    n: int
    selected: int
    rate: float
    rate_ci: tuple[float, float]
    ratio: float
    ratio_ci: tuple[float, float]
    #: ratio below the line (point estimate); ``clearly_below`` also needs the CI's upper end below
    below_line: bool
    clearly_below: bool

    def to_dict(self) -> dict[str, Any]:
        return {
            "attribute": self.attribute,
            "group": self.group,
            "n": self.n,
            "selected": self.selected,
            "rate": round(self.rate, 6),
            "rate_ci": [round(self.rate_ci[0], 6), round(self.rate_ci[1], 6)],
            "ratio": round(self.ratio, 6) if np.isfinite(self.ratio) else None,
            "ratio_ci": [round(v, 6) if np.isfinite(v) else None for v in self.ratio_ci],
            "below_line": self.below_line,
            "clearly_below": self.clearly_below,
        }


@dataclass(frozen=True)
class AgeInclusion:
    """How many selected users are minors (<18) and elderly (≥60), from which column."""

    source: str
    selected_minors: int
    selected_elderly: int
    selected_unknown_age: int
    elderly_rate: float
    adult_under_60_rate: float

    def to_dict(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "selected_minors": self.selected_minors,
            "selected_elderly": self.selected_elderly,
            "selected_unknown_age": self.selected_unknown_age,
            "elderly_rate": self.elderly_rate,
            "adult_under_60_rate": self.adult_under_60_rate,
        }


@dataclass(frozen=True)
class TargetingResult:
    groups: list[SelectionGroup]
    marketing: bool
    ages: AgeInclusion | None
    line: float = DISPARITY_LINE
    notes: list[str] = field(default_factory=list)

    @property
    def below_line(self) -> list[SelectionGroup]:
        return [g for g in self.groups if g.below_line]

    def to_dict(self) -> dict[str, Any]:
        return {
            "line": self.line,
            "marketing": self.marketing,
            "groups": [g.to_dict() for g in self.groups],
            "below_line_attributes": sorted({g.attribute for g in self.below_line}),
            "ages": self.ages.to_dict() if self.ages else None,
            "notes": list(self.notes),
        }


def _selected(frame: pd.DataFrame, column: str) -> np.ndarray:
    if column not in frame.columns:
        raise ProfileguardError(
            f"selection: no {column!r} column; found: {', '.join(map(str, frame.columns))}"
        )
    raw = frame[column]
    text = raw.astype(str).str.strip().str.lower().str.replace(r"\.0$", "", regex=True)
    bad = (~text.isin(_TRUE | _FALSE) | raw.isna()).to_numpy()
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise ProfileguardError(
            f"selection row {i + 1}, column {column!r}: {raw.iloc[i]!r}; allowed: 1/0, true/false, yes/no"
        )
    return text.isin(_TRUE).to_numpy()


def _band_bounds(band: str) -> tuple[float, float] | None:
    """(low, high) ages of a band like "18-24", "<18", "60+", "under 14"; None if unreadable."""
    text = band.strip().lower()
    nums = [float(n) for n in re.findall(r"\d+", text)]
    if not nums:
        return None
    if text.startswith(("<", "under")):
        return (0.0, nums[0] - 1)
    if text.endswith("+") or "以上" in text or text.startswith((">=", "≥")):
        return (nums[0], 200.0)
    if len(nums) >= 2:
        return (nums[0], nums[1])
    return (nums[0], nums[0])


def _ages(frame: pd.DataFrame, as_of: pd.Timestamp | None) -> tuple[str, np.ndarray, np.ndarray] | None:
    """(column, lower bound, upper bound) of each user's age; NaN where unknown."""
    if "age" in frame.columns:
        age = pd.to_numeric(frame["age"], errors="coerce").to_numpy(np.float64)
        return "age", age, age
    for name in _BIRTH_COLUMNS:
        if name in frame.columns:
            born = pd.to_datetime(frame[name], errors="coerce", utc=True)
            ref = as_of if as_of is not None else pd.Timestamp.now(tz="UTC")
            years = ((ref - born).dt.days / 365.2425).to_numpy(np.float64)
            return name, np.floor(years), np.floor(years)
    if "age_band" in frame.columns:
        lo = np.full(len(frame), np.nan)
        hi = np.full(len(frame), np.nan)
        for band in frame["age_band"].dropna().astype(str).unique():
            bounds = _band_bounds(band)
            if bounds is not None:
                mask = (frame["age_band"].astype(str) == band).to_numpy()
                lo[mask], hi[mask] = bounds
        return "age_band", lo, hi
    return None


def _age_inclusion(frame: pd.DataFrame, chosen: np.ndarray, as_of: pd.Timestamp | None) -> AgeInclusion | None:
    found = _ages(frame, as_of)
    if found is None:
        return None
    source, lo, hi = found
    known = ~(np.isnan(lo) | np.isnan(hi))
    minor = known & (hi < 18)
    elderly = known & (lo >= 60)
    adult = known & (lo >= 18) & (hi < 60)
    return AgeInclusion(
        source=source,
        selected_minors=int((chosen & minor).sum()),
        selected_elderly=int((chosen & elderly).sum()),
        selected_unknown_age=int((chosen & ~known).sum()),
        elderly_rate=float(chosen[elderly].mean()) if elderly.any() else float("nan"),
        adult_under_60_rate=float(chosen[adult].mean()) if adult.any() else float("nan"),
    )


def audit_targeting(
    frame: pd.DataFrame,
    attributes: tuple[str, ...] | None = None,
    *,
    selected: str = "selected",
    marketing: bool = True,
    boots: int = 2000,
    seed: int = 0,
    line: float = DISPARITY_LINE,
    as_of: pd.Timestamp | None = None,
) -> TargetingResult:
    """Selection rates, ratios to the most-selected group with bootstrap CIs, and age checks."""
    if "user_id" not in frame.columns:
        raise ProfileguardError("selection: no 'user_id' column")
    chosen = _selected(frame, selected)
    skip = {"user_id", selected, "age", *_BIRTH_COLUMNS}
    names = attributes or tuple(str(c) for c in frame.columns if c not in skip)
    unknown = [a for a in names if a not in frame.columns]
    if unknown:
        raise ProfileguardError(f"--attributes: unknown column(s) {', '.join(unknown)}")
    rng = np.random.default_rng(seed)
    groups: list[SelectionGroup] = []
    notes: list[str] = []
    for attribute in names:
        values = frame[attribute]
        keep = values.notna().to_numpy()
        codes, levels = pd.factorize(values[keep].astype(str))
        if len(levels) < 2 or len(levels) > 50:
            notes.append(f"{attribute}: {len(levels)} groups; not compared (need 2 to 50)")
            continue
        sel = chosen[keep]
        n = np.bincount(codes, minlength=len(levels))
        k = np.bincount(codes, weights=sel, minlength=len(levels))
        rate = k / n
        ref = int(np.argmax(rate))
        draws = rng.binomial(n[:, None], rate[:, None], size=(len(levels), boots)) / n[:, None]
        with np.errstate(divide="ignore", invalid="ignore"):
            ratio = rate / rate[ref]
            ratio_draws = draws / draws[ref][None, :]
        for j, level in enumerate(levels):
            r_lo, r_hi = np.nanpercentile(ratio_draws[j], [2.5, 97.5]) if rate[ref] > 0 else (np.nan, np.nan)
            q_lo, q_hi = np.percentile(draws[j], [2.5, 97.5])
            below = bool(np.isfinite(ratio[j]) and ratio[j] < line)
            groups.append(
                SelectionGroup(
                    attribute, str(level), int(n[j]), int(k[j]), float(rate[j]),
                    (float(q_lo), float(q_hi)), float(ratio[j]), (float(r_lo), float(r_hi)),
                    below, bool(below and np.isfinite(r_hi) and r_hi < line),
                )
            )
    ages = _age_inclusion(frame, chosen, as_of) if marketing else None
    if marketing and ages is None:
        notes.append("no age, birth date or age_band column: minors and elderly checks not run")
    return TargetingResult(groups=groups, marketing=marketing, ages=ages, line=line, notes=notes)
