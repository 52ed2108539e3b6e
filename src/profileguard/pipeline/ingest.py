"""Ingesting a workspace: the gate, with the identity map kept in the operational store and
the rows of people without consent for a consent-based source held back.

With ``--engine spark`` (``svc.build_engine`` a SparkEngine) the same gate runs on Spark
over Parquet sources (:mod:`profileguard.collect.spark_ingest`): the consent and tombstone
tables it reads are copied into the Spark warehouse first, and the sources are claimed
for Spark in DuckDB before anything loads."""

from __future__ import annotations

import datetime as dt

import pyarrow as pa

from profileguard.collect.held import release_held
from profileguard.collect.ingest import (
    TOMBSTONES,
    IngestReport,
    Progress,
    ensure_system_tables,
    ingest,
)
from profileguard.collect.spark_ingest import (
    claim_for_spark,
    refuse_spark_sources,
    require_parquet,
    spark_stage,
)
from profileguard.collect.stage import stage_file
from profileguard.errors import ProfileguardError
from profileguard.pipeline.services import Services
from profileguard.store.engine import Engine
from profileguard.store.spark import SparkEngine


def consent_based_purposes(svc: Services, source: str) -> list[str]:
    """The purposes of a source whose every purpose rests on consent; [] otherwise."""
    m = svc.manifest
    purposes = sorted({p for d in m.fields.get(source, {}).values() for p in d.purposes})
    if not purposes or any(m.purposes.get(p) is None or m.purposes[p].basis != "consent"
                           for p in purposes):
        return []
    return purposes


def export_consented(svc: Services, at: dt.datetime | None = None,
                     engine: Engine | None = None) -> dict[str, str]:
    """For each consent-based source, a table of the people allowed to be in it, in
    ``engine`` (default: the DuckDB warehouse)."""
    out: dict[str, str] = {}
    for name, src in svc.manifest.sources.items():
        purposes = consent_based_purposes(svc, name) if src.user else []
        if not purposes:
            continue
        allowed: set[str] = set()
        for p in purposes:
            cats = sorted({d.category for d in svc.manifest.fields[name].values()
                           if p in d.purposes})
            table = svc.book.decisions(p, categories=cats, at=at)
            allowed.update(u for u, ok in zip(table.column("user_pid").to_pylist(),
                                              table.column("allowed").to_pylist(), strict=True)
                           if ok)
        tname = f"_pg_consented_{name}"
        (engine or svc.engine).load_arrow(tname, pa.table({"user_pid": pa.array(sorted(allowed),
                                                                    pa.string())}),
                              mode="replace")
        out[name] = tname
    return out


def ingest_workspace(svc: Services, *, sources: list[str] | None = None,
                     now: dt.datetime | None = None, progress: Progress | None = None,
                     force: bool = False) -> IngestReport:
    ensure_system_tables(svc.engine)
    names = sources or list(svc.manifest.sources)
    for name in names:
        if name not in svc.manifest.sources:
            raise ProfileguardError(f"unknown source {name!r}; declared: "
                                    f"{sorted(svc.manifest.sources)}")
    if svc.ws.engine_name == "spark":  # before a JVM starts
        require_parquet(svc.manifest, names)
    engine = svc.build_engine
    on_spark = isinstance(engine, SparkEngine)
    if on_spark:
        claim_for_spark(svc.engine, names, now or dt.datetime.now())
        ensure_system_tables(engine)  # erasures are recorded in DuckDB: Spark's gate needs them
        engine.load_arrow(TOMBSTONES, svc.engine.query_arrow(f"SELECT * FROM {TOMBSTONES}"),
                          mode="replace")
    else:
        refuse_spark_sources(svc.engine, names)
    consented = export_consented(svc, engine=engine)
    try:
        released = {name: release_held(engine, svc.manifest, name, table,
                                       now=now or dt.datetime.now())
                    for name, table in consented.items() if not on_spark or name in names}
        report = ingest(engine, svc.manifest, svc.ws.root, svc.ws.key, sources=names,
                        now=now, progress=progress, force=force,
                        identities=svc.store.register_identities, consented=consented,
                        stage=spark_stage if on_spark else stage_file)
        report.released = {k: v for k, v in released.items() if v}
        return report
    finally:
        for table in consented.values():
            engine.execute(f'DROP TABLE IF EXISTS "{table}"')


def release_consented(svc: Services, now: dt.datetime | None = None) -> dict[str, int]:
    """Release held rows of everyone who has consented since; returns rows per source."""
    ensure_system_tables(svc.engine)
    consented = export_consented(svc)
    try:
        return {name: release_held(svc.engine, svc.manifest, name, table,
                                   now=now or dt.datetime.now())
                for name, table in consented.items()}
    finally:
        for table in consented.values():
            svc.engine.execute(f'DROP TABLE IF EXISTS "{table}"')
