"""Building profiles for a workspace: people's decisions from the ConsentBook, then the build."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace

import pyarrow as pa

from profileguard.collect.spark_ingest import spark_sources
from profileguard.consent import bulk
from profileguard.errors import ProfileguardError
from profileguard.model.build import BuildReport, Decisions, build
from profileguard.model.build import PredictiveStep as PredictiveStepType
from profileguard.model.predictive.step import PredictiveStep, previous_cards
from profileguard.pipeline.services import Services
from profileguard.store.spark import SparkEngine
from profileguard.store.spark_export import export_to_parquet
from profileguard.store.spark_publish import publish_snapshot


def decisions_for(svc: Services, at: dt.datetime | None = None) -> Decisions:
    """Allowed (user, purpose) pairs for every purpose a tag serves, objectors, overrides."""
    by_purpose: dict[str, list[str]] = {}
    for info in svc.catalog.buildable:
        cats = by_purpose.setdefault(info.tag.purpose, [])
        cats.extend(c for c in info.categories if c not in cats)
    births = svc.birth_dates() if by_purpose and svc.book.policy.birth_date_of else None
    parts = []
    for purpose, cats in by_purpose.items():
        # default deny: only users with a record can be allowed; decided per group of users
        # with the same inputs (see bulk.py), never per user
        users = bulk.allowed_users(svc.book, purpose, categories=cats, at=at,
                                   birth_dates=births)
        parts.append(pa.table({"user_pid": users,
                               "purpose": pa.repeat(pa.scalar(purpose, pa.string()),
                                                    len(users))}))
    allowed = pa.concat_tables(parts) if parts else Decisions.empty().allowed
    objectors = pa.table({"user_pid": pa.array(sorted(svc.book.objectors()), pa.string())})
    ovr = svc.book.overrides()
    overrides = pa.table({
        "user_pid": pa.array([o.user_pid for o in ovr], pa.string()),
        "tag": pa.array([o.tag for o in ovr], pa.string()),
        "action": pa.array([o.action for o in ovr], pa.string()),
        "value": pa.array([o.value for o in ovr], pa.string()),
        "created_at": pa.array([o.created_at.replace(tzinfo=None) for o in ovr],
                               pa.timestamp("us")),
    })
    return Decisions(allowed, objectors, overrides)


def build_profiles(svc: Services, as_of: dt.datetime, *,
                   predictive: PredictiveStepType | None = None) -> BuildReport:
    m = svc.manifest
    # consent is judged when the processing happens (now), whatever the data cut-off as_of
    decisions = decisions_for(svc)
    engine = svc.build_engine
    if isinstance(engine, SparkEngine):  # Spark reads the gated source tables as Parquet:
        # those a Spark ingest wrote in place, the others exported from DuckDB
        on_spark = spark_sources(svc.engine)
        missing = sorted(s for s in on_spark if not engine.table_exists(s))
        if missing:
            raise ProfileguardError(
                f"source(s) {', '.join(missing)} are ingested with --engine spark but have no "
                "table in .profileguard/spark-warehouse/ (an erasure removes that folder): run "
                "`profileguard ingest --engine spark` again (erased people stay out)")
        export_to_parquet(svc.engine, engine, [s for s in m.sources if s not in on_spark])
    if predictive is None and any(t.kind == "predictive" for t in m.tags):
        predictive = PredictiveStep(previous_cards(engine))
    report = build(engine, m, manifest_sha256=svc.ws.loaded.sha256, as_of=as_of,
                   decisions=decisions, keep=m.retention.snapshots_kept, predictive=predictive,
                 catalog=svc.catalog)
    if isinstance(engine, SparkEngine):  # served and erased from the DuckDB warehouse
        published = publish_snapshot(engine, svc.engine, m.retention.snapshots_kept)
        report = replace(report, snapshot=published)
    return report
