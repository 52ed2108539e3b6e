"""Scoring the customer-value tags: each person's value from the fitted models, batch by batch.

The models are fitted once, on the driver, from the RFM summary (``step.py``). Scoring is
then a pure function of (fitted models, tag parameters, summary rows) that maps one Arrow
batch of the summary to one Arrow batch of tag values, row by row. The same function runs
in-process over the whole summary on DuckDB, and inside Spark's ``mapInArrow`` on the
executors (``SparkEngine.map_arrow``) — so both engines compute the very same numbers,
and on Spark no per-person value passes through the driver.

One tag output needs the whole population: ``value_tier`` cuts CLV at quantiles. Its edges
are fitted like the models' parameters — on the driver, from every customer's CLV
(:func:`clv_batches` computes them where the summary lives) — and then scored row by row.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import numpy.typing as npt
import pyarrow as pa

from profileguard.errors import ProfileguardError
from profileguard.model.predictive.clv import CustomerValueModel
from profileguard.model.predictive.summary import RFMSummary

FloatArray = npt.NDArray[np.float64]

#: the summary columns scoring reads (``rfm_summary_sql`` writes them)
SUMMARY_COLUMNS = ("customer_id", "frequency", "recency", "T", "monetary_value")
OUTPUTS = ("p_alive", "churn_risk", "expected_purchases", "clv", "value_tier")
DEFAULT_TIERS = ("low", "medium", "high", "top")
DEFAULT_QUANTILES = (0.5, 0.8, 0.95)


@dataclass(frozen=True)
class ScoreSpec:
    """What to score for one predictive tag: the fitted models and the tag's parameters.

    Plain data (floats, strings, the fitted dataclasses), so it pickles to Spark executors."""

    tag: str
    output: str
    model: CustomerValueModel
    horizon_days: float = 90.0
    months: int = 6
    monthly_discount_rate: float = 0.01
    bands: tuple[float, float] = (0.3, 0.7)
    quantiles: tuple[float, ...] = DEFAULT_QUANTILES
    labels: tuple[str, ...] = DEFAULT_TIERS
    #: value_tier only: the CLV cut points, fitted on the whole population (tier_edges)
    edges: tuple[float, ...] | None = None

    @property
    def needs_edges(self) -> bool:
        return self.output == "value_tier" and self.edges is None


def score_spec(tag: str, kind: str, params: Mapping[str, Any], model: CustomerValueModel
               ) -> ScoreSpec:
    """The spec of tag ``tag`` (model ``kind``: bgnbd or clv) from its manifest ``params``."""
    output = str(params.get("output", kind))
    if output not in OUTPUTS or (kind == "bgnbd" and output in {"clv", "value_tier"}):
        allowed = OUTPUTS if kind == "clv" else OUTPUTS[:3]
        raise ProfileguardError(f"tag {tag!r}: unknown output {output!r} for model {kind!r}; "
                                f"allowed: {', '.join(allowed)}")
    spec = ScoreSpec(tag, output, model)
    if output in {"p_alive", "churn_risk"}:
        bands = tuple(float(b) for b in params.get("bands", [0.3, 0.7]))
        if len(bands) != 2 or not 0 <= bands[0] <= bands[1] <= 1:
            raise ProfileguardError(f"tag {tag!r}: bands must be two numbers 0 <= low <= high "
                                    f"<= 1, got {list(bands)}")
        return replace(spec, bands=(bands[0], bands[1]))
    if output == "expected_purchases":
        return replace(spec, horizon_days=float(params.get("horizon_days", 90)))
    if model.gamma_gamma is None:
        raise ProfileguardError(f"tag {tag!r}: no Gamma-Gamma model could be fitted (fewer "
                                "than two repeat customers with spend), so no CLV")
    months = max(1, round(float(params.get("horizon_days", 180)) / (365.25 / 12)))
    spec = replace(spec, months=months,
                   monthly_discount_rate=float(params.get("monthly_discount_rate", 0.01)))
    if output == "value_tier":
        qs = tuple(float(x) for x in params.get("quantiles", DEFAULT_QUANTILES))
        labels = tuple(str(x) for x in params.get("labels", DEFAULT_TIERS))
        if list(qs) != sorted(qs) or not all(0 <= x <= 1 for x in qs):
            raise ProfileguardError(f"tag {tag!r}: quantiles must be ascending numbers in "
                                    f"[0, 1], got {list(qs)}")
        if len(labels) != len(qs) + 1:
            raise ProfileguardError(f"tag {tag!r}: {len(qs)} quantiles make {len(qs) + 1} "
                                    f"tiers, but {len(labels)} labels were given")
        spec = replace(spec, quantiles=qs, labels=labels)
    return spec


def _summary(spec: ScoreSpec, batch: pa.RecordBatch | pa.Table) -> RFMSummary:
    table = pa.Table.from_batches([batch]) if isinstance(batch, pa.RecordBatch) else batch
    return RFMSummary.from_arrow(table, time_unit=spec.model.time_unit)


def _clv(spec: ScoreSpec, s: RFMSummary) -> FloatArray:
    return spec.model.clv(s, months=spec.months, monthly_discount_rate=spec.monthly_discount_rate)


def _cv_confidence(r: float, x: FloatArray) -> FloatArray:
    """1 − the CV of the posterior purchase rate Gamma(r + x, α + T), floored at 0."""
    out: FloatArray = np.clip(1.0 - 1.0 / np.sqrt(np.maximum(r + x, 1e-9)), 0.0, 1.0)
    return out


def output_schema(spec: ScoreSpec) -> pa.Schema:
    """The columns :func:`score_batch` returns for ``spec``, in order."""
    t = spec.tag
    fields = [pa.field("user_id", pa.string()), pa.field(f"{t}__purchases", pa.int64()),
              pa.field(f"{t}__days_since", pa.int64()),
              pa.field(f"{t}__history_days", pa.int64())]
    if spec.output == "churn_risk":
        fields.append(pa.field(f"{t}__risk", pa.float64()))
    if spec.output == "value_tier":
        fields.append(pa.field(f"{t}__clv", pa.float64()))
    labelled = spec.output in {"churn_risk", "value_tier"}
    fields += [pa.field(t, pa.string() if labelled else pa.float64()),
               pa.field(f"{t}__confidence", pa.float64())]
    return pa.schema(fields)


def score_batch(spec: ScoreSpec, batch: pa.RecordBatch | pa.Table) -> pa.RecordBatch:
    """One batch of summary rows → the tag's columns for those people (see output_schema)."""
    if spec.needs_edges:
        raise ProfileguardError(f"tag {spec.tag!r}: value_tier needs its tier edges fitted "
                                "first (tier_edges)")
    s = _summary(spec, batch)
    since = s.T - s.recency
    cols: dict[str, Any] = {
        "user_id": s.customer_id.cast(pa.string()),
        f"{spec.tag}__purchases": (s.frequency + 1).astype(np.int64),
        f"{spec.tag}__days_since": since.astype(np.int64),
        f"{spec.tag}__history_days": s.T.astype(np.int64)}
    r = float(spec.model.bgnbd.params.r)
    value: Any
    if spec.output in {"p_alive", "churn_risk"}:
        alive = spec.model.p_alive(s)
        conf = np.maximum(alive, 1 - alive)
        if spec.output == "p_alive":
            value = np.round(alive, 3)
        else:
            lo, hi = spec.bands
            risk = 1 - alive
            value = np.where(risk < lo, "low", np.where(risk < hi, "medium", "high"))
            cols[f"{spec.tag}__risk"] = np.round(risk, 3)
    elif spec.output == "expected_purchases":
        value = np.round(spec.model.expected_purchases(s, spec.horizon_days), 2)
        conf = _cv_confidence(r, s.frequency)
    else:
        clv = _clv(spec, s)
        conf = _cv_confidence(r, s.frequency)
        if spec.output == "value_tier":
            edges = np.asarray(spec.edges, dtype=np.float64)
            names = np.asarray(spec.labels, dtype=object)
            value = names[np.searchsorted(edges, clv, side="right")]
            cols[f"{spec.tag}__clv"] = np.round(clv, 2)
        else:
            value = np.round(clv, 2)
    cols[spec.tag] = value
    cols[f"{spec.tag}__confidence"] = np.round(conf, 3)
    schema = output_schema(spec)
    return pa.record_batch([pa.array(cols[f.name], f.type) for f in schema], schema=schema)


def score_batches(spec: ScoreSpec, batches: Iterable[pa.RecordBatch]
                  ) -> Iterator[pa.RecordBatch]:
    """:func:`score_batch` over a stream (the function Spark's ``mapInArrow`` runs)."""
    for batch in batches:
        if batch.num_rows:
            yield score_batch(spec, batch)


CLV_SCHEMA = pa.schema([pa.field("clv", pa.float64())])


def clv_batches(spec: ScoreSpec, batches: Iterable[pa.RecordBatch]
                ) -> Iterator[pa.RecordBatch]:
    """Each customer's unrounded CLV, the input of :func:`tier_edges` (run where the
    summary lives: in-process on DuckDB, by ``mapInArrow`` on Spark)."""
    for batch in batches:
        if batch.num_rows:
            yield pa.record_batch([pa.array(_clv(spec, _summary(spec, batch)), pa.float64())],
                                  schema=CLV_SCHEMA)


def tier_edges(spec: ScoreSpec, clv: Sequence[float] | FloatArray) -> ScoreSpec:
    """``spec`` with the value-tier edges: the CLV quantiles over the whole population."""
    values = np.asarray(clv, dtype=np.float64)
    if values.size == 0:
        raise ProfileguardError(f"tag {spec.tag!r}: no customers to cut value tiers from")
    edges = np.quantile(values, list(spec.quantiles))
    return replace(spec, edges=tuple(float(e) for e in edges))
