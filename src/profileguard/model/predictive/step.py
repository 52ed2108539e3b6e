"""Predictive tags in a build: the models behind ``kind: predictive`` tags, fitted and scored.

A predictive tag names a model and its parameters::

    - name: churn_risk
      kind: predictive
      model: bgnbd            # bgnbd | clv | interests | segments
      source: orders          # the transactions (bgnbd, clv, segments) or events (interests)
      filter: "status = 'paid'"
      purpose: tiered_operations
      params: {output: churn_risk, bands: [0.3, 0.7]}

Customer-value models (bgnbd, clv) are fitted on the driver from the RFM summary and
scored where the summary is (``scoring.py``): in-process on DuckDB, on the executors by
``mapInArrow`` on Spark, whose values stay in the engine (``_b_pred``).

Models are fitted only on the people whose consent covers the tag's purpose (the build's
``_d_allowed`` table), once per build; every value carries a confidence and the inputs its
explanation needs. Confidence, per output:

* expected purchases and CLV: 1 − the coefficient of variation of the person's posterior
  purchase rate (Gamma(r + x, α + T) has CV 1/√(r + x)), floored at 0 — more history,
  more confidence;
* P(alive) and churn risk: the probability of the stated state, max(p, 1 − p);
* interests: the share of the person's positive affinity held by the listed categories;
* segments: the segmentation's silhouette score (clipped to [0, 1]).
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from functools import partial
from typing import Any

import numpy as np
import pyarrow as pa

from profileguard.errors import ProfileguardError
from profileguard.manifest.model import Manifest, Tag
from profileguard.model.predictive.clv import fit_customer_value, model_cards
from profileguard.model.predictive.interests import InterestConfig, interests_sql
from profileguard.model.predictive.scoring import (
    CLV_SCHEMA,
    ScoreSpec,
    clv_batches,
    output_schema,
    score_batch,
    score_batches,
    score_spec,
    tier_edges,
)
from profileguard.model.predictive.segments import Segment, Segmentation, build_segments
from profileguard.model.predictive.summary import RFMSummary, rfm_summary_sql
from profileguard.store.engine import Engine
from profileguard.store.engine import quote_ident as q
from profileguard.store.spark import SparkEngine

MODELS = ("bgnbd", "clv", "interests", "segments")


@dataclass(frozen=True)
class Columns:
    """The source columns a predictive model reads."""

    user: str
    time: str
    amount: str | None = None
    event_type: str | None = None
    category: str | None = None


def columns_of(tag: Tag, m: Manifest) -> Columns:
    if tag.model not in MODELS:
        raise ProfileguardError(f"tag {tag.name!r}: unknown model {tag.model!r}; "
                                f"known: {', '.join(MODELS)}")
    if not tag.source or tag.source not in m.sources:
        raise ProfileguardError(f"predictive tag {tag.name!r} needs a declared `source`")
    src = m.sources[tag.source]
    p = tag.params
    user = str(p.get("user", src.user or ""))
    time = str(p.get("time", src.time or ""))
    if not user or not time:
        raise ProfileguardError(f"tag {tag.name!r}: source {tag.source!r} needs `user` and "
                                "`time` columns (or params user/time)")
    if tag.model == "interests":
        return Columns(user, time, event_type=str(p.get("event_type", "event_type")),
                       category=str(p.get("category", "category")))
    return Columns(user, time, amount=str(p.get("amount", "paid_amount")))


def lineage_columns(tag: Tag, m: Manifest) -> list[str]:
    c = columns_of(tag, m)
    return [x for x in (c.user, c.time, c.amount, c.event_type, c.category) if x]


def _restricted_sql(tag: Tag, m: Manifest, as_of: dt.datetime) -> str:
    """The rows of the tag's source its model may read — up to as_of, of users whose consent
    covers the tag's purpose, passing its filter — and only the columns it reads
    (`lineage_columns`; copying every column of the 50M events at 1M users took 7.7 s)."""
    c = columns_of(tag, m)
    where = [f"{q(c.time)} <= TIMESTAMP '{as_of:%Y-%m-%d %H:%M:%S}'",
             f"{q(c.user)} IN (SELECT user_pid FROM _d_allowed WHERE purpose = "
             f"'{tag.purpose}')"]
    if tag.filter:
        where.append(f"({tag.filter})")
    columns = ", ".join(q(x) for x in lineage_columns(tag, m))
    return f"SELECT {columns} FROM {q(tag.source or '')} WHERE {' AND '.join(where)}"


def _restricted_view(engine: Engine, tag: Tag, m: Manifest, as_of: dt.datetime,
                     name: str) -> None:
    """:func:`_restricted_sql` as the TEMP table ``name`` (read several times)."""
    engine.execute(f"CREATE OR REPLACE TEMP TABLE {q(name)} AS "
                   + _restricted_sql(tag, m, as_of))


@dataclass
class _Fitted:
    summary: RFMSummary
    model: Any
    cards: list[dict[str, Any]]
    #: the summary rows: an Arrow table on the driver (DuckDB), or the name of the
    #: engine's temporary table holding them (Spark, where they are scored in place)
    rows: pa.Table | str


class PredictiveStep:
    """Callable the build runs after descriptive and derived tags (see model/build.py)."""

    def __init__(self, previous_cards: list[dict[str, Any]] | None = None) -> None:
        self.previous = {c.get("tag"): c for c in previous_cards or []}

    def __call__(self, engine: Engine, m: Manifest, as_of: dt.datetime,
                 catalog: Any) -> Any:
        from profileguard.model.build import PredictiveResult

        tags = [t.tag for t in catalog.buildable if t.tag.kind == "predictive"]
        if not tags:
            return None
        fitted: dict[tuple[str, str, str], _Fitted] = {}
        cards: list[dict[str, Any]] = []
        parts: list[pa.Table | str] = []
        try:
            for tag in tags:
                part, tag_cards = self._one(engine, m, tag, as_of, fitted)
                parts.append(part)
                cards.extend(tag_cards)
            if isinstance(engine, SparkEngine):
                return _merge_in_engine(engine, parts, cards)
        finally:
            for fit in fitted.values():
                if isinstance(fit.rows, str):
                    engine.execute(f"DROP TABLE IF EXISTS {q(fit.rows)}")
        tables = [part for part in parts if isinstance(part, pa.Table)]  # all, off Spark
        merged = tables[0]
        for t in tables[1:]:
            merged = merged.join(t, "user_id", join_type="full outer")
        return PredictiveResult(merged, cards)

    # -- per model ------------------------------------------------------------------------
    def _customer_value(self, engine: Engine, m: Manifest, tag: Tag, as_of: dt.datetime,
                        fitted: dict[tuple[str, str, str], _Fitted]) -> _Fitted:
        key = (tag.source or "", tag.filter or "", tag.purpose)
        if key in fitted:
            return fitted[key]
        c = columns_of(tag, m)
        view = f"_p_{tag.name}"
        _restricted_view(engine, tag, m, as_of, view)
        sql = rfm_summary_sql(view, customer=c.user, date=c.time, amount=c.amount or "",
                              calibration_end=as_of.date(), time_unit="day",
                              dialect=engine.dialect)
        rows: pa.Table | str
        if isinstance(engine, SparkEngine):  # kept on the executors; the driver fits on a copy
            rows = f"_p_summary_{len(fitted)}"
            engine.execute(f"CREATE OR REPLACE TEMP TABLE {q(rows)} AS {sql}")
            arrow = engine.query_arrow(f"SELECT * FROM {q(rows)} ORDER BY customer_id")
        else:
            rows = arrow = engine.query_arrow(sql)
        summary = RFMSummary.from_arrow(arrow, time_unit="day")
        n_tx = int(engine.query_rows(f"SELECT count(*) FROM {q(view)}")[0][0])
        first = engine.query_rows(f"SELECT CAST(min({q(c.time)}) AS DATE) FROM {q(view)}")[0][0]
        engine.execute(f"DROP TABLE IF EXISTS {q(view)}")
        if len(summary) < 10:
            raise ProfileguardError(f"tag {tag.name!r}: {len(summary)} customers with consent "
                                    "for its purpose; too few to fit a model")
        model = fit_customer_value(summary)
        cards = [c.to_dict() for c in model_cards(
            model, training_window=(str(first), as_of.date().isoformat()), transactions=n_tx)]
        fitted[key] = _Fitted(summary, model, cards, rows)
        return fitted[key]

    def _one(self, engine: Engine, m: Manifest, tag: Tag, as_of: dt.datetime,
             fitted: dict[tuple[str, str, str], _Fitted]
             ) -> tuple[pa.Table | str, list[dict[str, Any]]]:
        """One tag's values (an Arrow table, or on Spark the engine table scored in place)
        and its model cards."""
        if tag.model == "interests":
            return self._interests(engine, m, tag, as_of)
        fit = self._customer_value(engine, m, tag, as_of, fitted)
        if tag.model == "segments":
            return self._segments(tag, fit.summary, engine, m, as_of,
                                  {"tag": tag.name, "output": str(tag.params.get("output",
                                                                                 tag.model))})
        spec = score_spec(tag.name, tag.model or "", tag.params, fit.model)
        card_extra: dict[str, Any] = {"tag": tag.name, "output": spec.output}
        part: pa.Table | str
        if isinstance(fit.rows, str):
            assert isinstance(engine, SparkEngine)
            part, spec = _score_in_engine(engine, spec, fit.rows)
        else:
            if spec.needs_edges:
                spec = tier_edges(spec, np.concatenate(
                    [b.column(0).to_numpy() for b in clv_batches(spec, fit.rows.to_batches())]))
            part = pa.Table.from_batches([score_batch(spec, fit.rows)])
        if spec.edges is not None:
            card_extra["tier_edges"] = list(spec.edges)
        return part, [dict(c, **card_extra) for c in fit.cards]

    def _interests(self, engine: Engine, m: Manifest, tag: Tag, as_of: dt.datetime
                   ) -> tuple[pa.Table, list[dict[str, Any]]]:
        p = tag.params
        c = columns_of(tag, m)
        cfg = InterestConfig(half_life_days=float(p.get("half_life_days", 30)),
                             weights={str(k): float(v) for k, v in p.get(
                                 "weights", {"view": 1, "add_to_cart": 3, "purchase": 10}).items()},
                             threshold=float(p.get("threshold", 2.0)),
                             top_k=int(p.get("top", 3)))
        # the tag's rows are read by this one statement, not copied into a table first (as a
        # subquery each time: a CTE read twice was materialized by DuckDB, 2.7 against 2.3 s)
        readable = f"({_restricted_sql(tag, m, as_of)}) AS _p_rows"
        refunds = p.get("refunds")  # e.g. {source: orders, time: refund_time, category_from: items}
        union = (f"SELECT {q(c.user)} AS u, {q(c.time)} AS ts, {q(c.event_type or '')} AS et, "
                 f"{q(c.category or '')} AS cat, FALSE AS refunded FROM {readable}")
        if isinstance(refunds, dict) and engine.table_exists(str(refunds.get("source"))):
            rs, rt = str(refunds["source"]), str(refunds.get("time", "refund_time"))
            items = str(refunds.get("category_from", "items"))
            union += (f" UNION ALL SELECT o.user_id, o.{q(rt)}, 'purchase', i.category, TRUE "
                      f"FROM {q(rs)} o JOIN {q(items)} i USING (item_id) WHERE o.status = "
                      f"'refunded' AND o.{q(rt)} IS NOT NULL AND o.user_id IN "
                      f"(SELECT u FROM (SELECT DISTINCT {q(c.user)} AS u FROM {readable}))")
        engine.execute(f"CREATE OR REPLACE TEMP TABLE _p_interest_events AS {union}")
        top = engine.query_arrow(interests_sql("_p_interest_events", as_of, cfg, user="u",
                                               ts="ts", event_type="et", category="cat"))
        totals = engine.query_arrow(interests_sql("_p_interest_events", as_of, InterestConfig(
            half_life_days=cfg.half_life_days, weights=cfg.weights, threshold=0.0, top_k=1000),
            user="u", ts="ts", event_type="et", category="cat"))
        engine.execute("DROP TABLE IF EXISTS _p_interest_events")
        listed: dict[str, list[tuple[str, float]]] = {}
        for u, cat, aff, rank in zip(*(top.column(n).to_pylist() for n in
                                       ("user", "category", "affinity", "rank")), strict=True):
            if rank <= cfg.top_k:
                listed.setdefault(u, []).append((cat, aff))
        total: dict[str, float] = {}
        for u, aff in zip(totals.column("user").to_pylist(), totals.column("affinity").to_pylist(),
                          strict=True):
            total[u] = total.get(u, 0.0) + max(float(aff), 0.0)
        users = sorted(listed)
        rows = [listed[u] for u in users]
        table = pa.table({
            "user_id": pa.array(users, pa.string()),
            tag.name: pa.array([",".join(cat for cat, _ in r) for r in rows], pa.string()),
            f"{tag.name}__confidence": pa.array(
                [round(sum(a for _, a in r) / total[u], 3) if total.get(u) else 0.0
                 for u, r in zip(users, rows, strict=True)]),
            f"{tag.name}__affinity": pa.array(
                [", ".join(f"{cat} {a:.1f}" for cat, a in r) for r in rows], pa.string()),
        })
        card = {"tag": tag.name, "model": "interests", "parameters": {
                    "half_life_days": cfg.half_life_days, "threshold": cfg.threshold,
                    "top_k": cfg.top_k, **{f"weight_{k}": v for k, v in cfg.weights.items()}},
                "training_window": ["", as_of.date().isoformat()],
                "data_size": {"users": len(users)}, "validation": {},
                "features": [c.event_type, c.category, c.time],
                "feature_categories": {}, "notes": "exponentially decayed category affinity"}
        return table, [card]

    def _segments(self, tag: Tag, s: RFMSummary, engine: Engine, m: Manifest,
                  as_of: dt.datetime, extra: dict[str, Any]) -> tuple[pa.Table, list[dict[str, Any]]]:
        p = tag.params
        features = {"monetary": s.monetary_value, "recency_days": s.T - s.recency,
                    "frequency": s.frequency}
        k_range = range(int(p.get("k_min", 2)), int(p.get("k_max", 6)) + 1)
        previous = self._previous_segmentation(tag.name)
        seg = build_segments(features, k_range=k_range, previous=previous,
                             seed=int(p.get("seed", 0)))
        by_label = {x.label: x for x in seg.segments}
        labels = seg.labels.tolist()
        conf = max(0.0, min(1.0, float(seg.silhouette)))
        table = pa.table({
            "user_id": s.customer_id.cast(pa.string()),
            tag.name: pa.array([f"S{lab}" for lab in labels], pa.string()),
            f"{tag.name}__confidence": pa.array([round(conf, 3)] * len(labels)),
            f"{tag.name}__name_zh": pa.array([by_label[lab].name_zh for lab in labels]),
            f"{tag.name}__name_en": pa.array([by_label[lab].name_en for lab in labels]),
        })
        card = {**extra, "model": "kmeans_segments", "parameters": {
                    "k": float(seg.k), "silhouette": float(seg.silhouette)},
                "segments": [{"label": x.label, "size": x.size, "centroid": x.centroid,
                              "name_en": x.name_en, "name_zh": x.name_zh} for x in seg.segments],
                "training_window": ["", as_of.date().isoformat()],
                "data_size": {"customers": len(labels)},
                "validation": {"silhouette": float(seg.silhouette)},
                "features": list(seg.features), "feature_categories": {
                    f: "user.behavior.purchase_history" for f in seg.features},
                "notes": "k-means on log-scaled standardized RFM; labels matched to the "
                         "previous build's centroids"}
        return table, [card]

    def _previous_segmentation(self, tag: str) -> Segmentation | None:
        card = self.previous.get(tag)
        if not card or "segments" not in card:
            return None
        segs = tuple(Segment(int(x["label"]), int(x["size"]),
                             {k: float(v) for k, v in x["centroid"].items()},
                             str(x["name_en"]), str(x["name_zh"])) for x in card["segments"])
        return Segmentation(tuple(card.get("features", ())), np.zeros(0, dtype=np.int64), segs,
                            len(segs), float(card.get("validation", {}).get("silhouette", 0.0)))


def _score_in_engine(engine: SparkEngine, spec: ScoreSpec, summary: str
                     ) -> tuple[str, ScoreSpec]:
    """Score ``spec`` over the summary table on the executors (mapInArrow); returns the
    temporary table of values and the spec (with its fitted tier edges, if any)."""
    if spec.needs_edges:  # the population's CLV comes to the driver: one double per person
        engine.map_arrow(summary, "_p_clv", partial(clv_batches, spec), CLV_SCHEMA)
        clv = engine.query_arrow("SELECT clv FROM _p_clv").column("clv").to_numpy()
        engine.execute("DROP TABLE IF EXISTS _p_clv")
        spec = tier_edges(spec, clv)
    target = f"_p_scored_{spec.tag}"
    engine.map_arrow(summary, target, partial(score_batches, spec), output_schema(spec))
    return target, spec


def _merge_in_engine(engine: SparkEngine, parts: list[pa.Table | str],
                     cards: list[dict[str, Any]]) -> Any:
    """Join the tags' values into the engine's ``_b_pred`` (the build joins it into the
    wide table); values computed on the driver (interests, segments) are loaded first."""
    from profileguard.model.build import PredictiveResult

    names: list[str] = []
    try:
        for i, part in enumerate(parts):
            if isinstance(part, pa.Table):
                engine.load_arrow(f"_p_part_{i}", part, mode="replace", temporary=True)
                names.append(f"_p_part_{i}")
            else:
                names.append(part)
        joins = " ".join(f"FULL OUTER JOIN {q(n)} USING (user_id)" for n in names[1:])
        engine.execute(f"CREATE OR REPLACE TEMP TABLE _b_pred AS SELECT * FROM {q(names[0])} "
                       f"{joins}")
    finally:
        for name in names:
            engine.execute(f"DROP TABLE IF EXISTS {q(name)}")
    if not engine.query_rows("SELECT count(*) FROM _b_pred")[0][0]:
        engine.execute("DROP TABLE IF EXISTS _b_pred")
        return None  # as on DuckDB: no scored person, no predictive columns
    return PredictiveResult(engine.query_arrow("SELECT * FROM _b_pred WHERE FALSE"), cards,
                            in_engine=True)


def previous_cards(engine: Engine) -> list[dict[str, Any]]:
    """The model cards stored with the current snapshot (for stable segment labels)."""
    from profileguard.model import snapshot

    snap = snapshot.current(engine)
    if snap is None or not engine.table_exists(snap.cards):
        return []
    return [json.loads(r[0]) for r in engine.query_rows(f"SELECT card FROM {snap.cards}")]
