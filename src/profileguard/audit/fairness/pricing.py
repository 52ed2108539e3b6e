"""The price-discrimination audit (大数据杀熟): do users in one profile group pay more for the
same item at the same time, after the legitimate explanations are taken out?

Method (Hannak et al., IMC 2014, in regression form). Outcome: log of the gross price
(price + coupon when the coupon is a declared legitimate factor, else the price paid).
One fixed effect per item × time bucket (hour or day) by the within transformation. For
each audited attribute, one indicator per group other than the reference (the largest
group), together with the controls — all audited attributes in one model by default
(``joint``), or one model per attribute (``separate``, see ``models.py``); OLS with
standard errors clustered by user — the delete-one-user jackknife (CV3) with
effective-cluster degrees of freedom by default, CR1 on request — or a Freedman–Lane
permutation test within cells (``regression.py``, hand-written). Each group's gap is
``100·(exp(β)−1)`` percent with a 95% interval; the same model runs per item category.
Benjamini–Hochberg adjusts all p-values of one audit together, and a gap is flagged only
when significant after that correction *and* larger than the materiality threshold: PIPL 24
and ALG 21 set no threshold, so a person decides, and the audit reports what it controlled
for and what it did not.

A test's ``n`` and ``cells`` count the group's quotes in cells where some quote from another
group of the attribute appears — the comparisons that identify the gap.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import pandas as pd

from profileguard.audit.fairness.design import (
    control_matrix,
    controlled_for,
    not_controlled_for,
    resolve_controls,
)
from profileguard.audit.fairness.models import (
    AttributeBlockPart,
    ModelInputs,
    RawTest,
    fit_block,
    make_part,
)
from profileguard.audit.fairness.pairs import PairRequest, matched_pairs, pair_source
from profileguard.audit.fairness.quotes import QuoteData
from profileguard.audit.fairness.regression import benjamini_hochberg, compact_codes
from profileguard.errors import ProfileguardError

TimeBucket = Literal["hour", "day"]
Method = Literal["cluster", "permutation"]
Variance = Literal["cv3", "cr1"]
Model = Literal["joint", "separate"]
_FLOOR = {"hour": "h", "day": "D"}


@dataclass(frozen=True)
class PricingConfig:
    attributes: tuple[str, ...] | None = None
    controls: tuple[str, ...] = ()
    time_bucket: TimeBucket = "hour"
    #: IANA zone whose clock defines the buckets (a "day" starts at local midnight)
    timezone: str = "UTC"
    threshold: float = 0.01
    alpha: float = 0.05
    method: Method = "cluster"
    #: standard errors of the audited gaps: delete-one-user jackknife ("cv3", the default)
    #: or CR1 (optimistic with small cells; kept for comparison in the benchmarks)
    variance: Variance = "cv3"
    model: Model = "joint"
    permutations: int = 999
    seed: int = 0
    coupon_legitimate: bool = True
    by_category: bool = True
    min_quotes: int = 30
    pairs_per_test: int = 3


@dataclass(frozen=True)
class PriceTest:
    attribute: str
    group: str
    reference: str
    category: str | None
    gap_pct: float
    ci: tuple[float, float]
    p_value: float
    p_adjusted: float
    n: int
    cells: int
    flagged: bool

    def to_dict(self) -> dict[str, Any]:
        return {
            "attribute": self.attribute,
            "group": self.group,
            "category": self.category,
            "gap_pct": round(self.gap_pct, 4),
            "ci": [round(self.ci[0], 4), round(self.ci[1], 4)],
            "p_value": self.p_value,
            "p_adjusted": self.p_adjusted,
            "n": self.n,
            "cells": self.cells,
            "flagged": self.flagged,
        }


@dataclass(frozen=True)
class PricingResult:
    controlled_for: list[str]
    not_controlled_for: list[str]
    tests: list[PriceTest]
    flagged_attributes: list[str]
    pairs: list[dict[str, Any]]
    time_bucket: str = "hour"
    threshold: float = 0.01
    alpha: float = 0.05
    method: str = "cluster"
    model: str = "joint"
    n_quotes: int = 0
    n_cells: int = 0
    #: comparisons that could not be estimated, with the reason
    untested: list[str] = field(default_factory=list)

    @property
    def flagged(self) -> list[PriceTest]:
        return [t for t in self.tests if t.flagged]

    def to_dict(self) -> dict[str, Any]:
        """The JSON document of the CLI (exactly these keys)."""
        return {
            "controlled_for": list(self.controlled_for),
            "not_controlled_for": list(self.not_controlled_for),
            "tests": [t.to_dict() for t in self.tests],
            "flagged_attributes": list(self.flagged_attributes),
            "pairs": list(self.pairs),
        }


def _check_config(config: PricingConfig) -> None:
    if config.time_bucket not in _FLOOR:
        raise ProfileguardError(f"time bucket {config.time_bucket!r}; allowed: hour, day")
    if not 0 <= config.threshold < 1:
        raise ProfileguardError(f"threshold {config.threshold}; allowed: 0 ≤ threshold < 1 (0.01 = 1%)")
    if not 0 < config.alpha < 1:
        raise ProfileguardError(f"alpha {config.alpha}; allowed: between 0 and 1")
    if config.method not in ("cluster", "permutation"):
        raise ProfileguardError(f"method {config.method!r}; allowed: cluster, permutation")
    if config.variance not in ("cv3", "cr1"):
        raise ProfileguardError(f"variance {config.variance!r}; allowed: cv3, cr1")
    if config.model not in ("joint", "separate"):
        raise ProfileguardError(f"model {config.model!r}; allowed: joint, separate")


def _attributes(data: QuoteData, config: PricingConfig, controls: tuple[str, ...]) -> tuple[str, ...]:
    if config.attributes is None:
        return tuple(a for a in data.user_attributes if a not in controls)
    unknown = [a for a in config.attributes if a not in data.frame.columns]
    if unknown:
        raise ProfileguardError(
            f"--attributes: unknown column(s) {', '.join(unknown)}; "
            f"allowed (users table): {', '.join(data.user_attributes)}"
        )
    both = [a for a in config.attributes if a in controls]
    if both:
        raise ProfileguardError(f"{', '.join(both)} cannot be both an audited attribute and a control")
    return config.attributes


def audit_pricing(data: QuoteData, config: PricingConfig | None = None) -> PricingResult:
    """Run the audit on validated quotes (see the module docstring for the method)."""
    config = config or PricingConfig()
    _check_config(config)
    frame = data.frame
    controls = resolve_controls(frame, config.controls)
    attributes = _attributes(data, config, controls)
    coupon_in_outcome = config.coupon_legitimate and "coupon" in frame.columns
    gross = frame["price"].to_numpy(np.float64)
    if coupon_in_outcome:
        gross = gross + frame["coupon"].to_numpy(np.float64)
    try:
        local = frame["ts"].dt.tz_convert(config.timezone)
    except (KeyError, ValueError) as exc:
        raise ProfileguardError(f"timezone {config.timezone!r} is unknown; use an IANA name such as Asia/Shanghai") from exc
    # wall-clock buckets: floor the local time without its zone, so DST never yields NaT
    bucket = local.dt.tz_localize(None).dt.floor(_FLOOR[config.time_bucket])
    item_codes = pd.factorize(frame["item_id"])[0].astype(np.int64)
    bucket_codes, bucket_levels = pd.factorize(bucket)
    cells, n_cells = compact_codes(item_codes * len(bucket_levels) + bucket_codes.astype(np.int64))
    category: np.ndarray | None = None
    category_names: list[str] = []
    if config.by_category and data.has_category:
        cat_codes, cat_levels = pd.factorize(frame["category"], sort=True)
        category, category_names = cat_codes.astype(np.int64), [str(c) for c in cat_levels]
    inputs = ModelInputs(
        y=np.log(gross),
        cells=cells,
        clusters=pd.factorize(frame["user_id"])[0].astype(np.int64),
        controls=control_matrix(frame, controls).values,
        category=category,
        category_names=category_names,
        method=config.method,
        variance=config.variance,
        permutations=config.permutations,
        min_quotes=config.min_quotes,
        rng=np.random.default_rng(config.seed),
    )
    untested: list[str] = []
    parts: list[AttributeBlockPart] = []
    for attribute in attributes:
        part = make_part(attribute, frame[attribute], untested, explicit=config.attributes is not None)
        if part is not None:
            parts.append(part)
    raws: list[RawTest] = []
    if config.model == "joint" and parts:
        raws = fit_block(parts, inputs, untested, drop_missing=False)
    else:
        for part in parts:
            raws += fit_block([part], inputs, untested, drop_missing=True)
    p = np.array([r.p for r in raws], dtype=np.float64)
    p_adj = benjamini_hochberg(p)
    tests = [_finish(r, float(pa), config) for r, pa in zip(raws, p_adj, strict=True)]
    basis = "price + coupon" if coupon_in_outcome else "price"
    pairs: list[dict[str, Any]] = []
    flagged = sorted((t for t in tests if t.flagged), key=lambda t: -abs(t.gap_pct))[:10]
    if flagged and config.pairs_per_test > 0:
        source = pair_source(frame, gross, cells, bucket, controls, basis)
        for t in flagged:
            part = next(p for p in parts if p.attribute == t.attribute)
            request = PairRequest(t.attribute, t.group, t.reference, t.category, t.gap_pct)
            pairs += matched_pairs(
                source, part.codes, part.groups.index(t.group), 0, request, config.pairs_per_test
            )
    return PricingResult(
        controlled_for=controlled_for(controls, config.time_bucket, coupon_in_outcome),
        not_controlled_for=not_controlled_for(
            frame, controls, config.time_bucket, coupon_in_outcome, joint=config.model == "joint"
        ),
        tests=tests,
        flagged_attributes=sorted({t.attribute for t in tests if t.flagged}),
        pairs=pairs,
        time_bucket=config.time_bucket,
        threshold=config.threshold,
        alpha=config.alpha,
        method=config.method,
        model=config.model,
        n_quotes=len(frame),
        n_cells=n_cells,
        untested=untested,
    )


def _finish(raw: RawTest, p_adjusted: float, config: PricingConfig) -> PriceTest:
    gap = 100.0 * float(np.expm1(raw.beta))
    ci = (100.0 * float(np.expm1(raw.lo)), 100.0 * float(np.expm1(raw.hi)))
    flagged = bool(p_adjusted < config.alpha and abs(gap) > 100.0 * config.threshold)
    return PriceTest(
        raw.attribute, raw.group, raw.reference, raw.category, gap, ci, raw.p, p_adjusted,
        raw.n, raw.cells, flagged,
    )
