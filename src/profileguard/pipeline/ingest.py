"""Ingesting a workspace: the gate, with the identity map kept in the operational store and
the rows of people without consent for a consent-based source held back."""

from __future__ import annotations

import datetime as dt

import pyarrow as pa

from profileguard.collect.held import release_held
from profileguard.collect.ingest import IngestReport, Progress, ensure_system_tables, ingest
from profileguard.pipeline.services import Services


def consent_based_purposes(svc: Services, source: str) -> list[str]:
    """The purposes of a source whose every purpose rests on consent; [] otherwise."""
    m = svc.manifest
    purposes = sorted({p for d in m.fields.get(source, {}).values() for p in d.purposes})
    if not purposes or any(m.purposes.get(p) is None or m.purposes[p].basis != "consent"
                           for p in purposes):
        return []
    return purposes


def export_consented(svc: Services, at: dt.datetime | None = None) -> dict[str, str]:
    """For each consent-based source, a warehouse table of the people allowed to be in it."""
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
        svc.engine.load_arrow(tname, pa.table({"user_pid": pa.array(sorted(allowed),
                                                                    pa.string())}),
                              mode="replace")
        out[name] = tname
    return out


def ingest_workspace(svc: Services, *, sources: list[str] | None = None,
                     now: dt.datetime | None = None, progress: Progress | None = None,
                     force: bool = False) -> IngestReport:
    ensure_system_tables(svc.engine)
    consented = export_consented(svc)
    try:
        released = {name: release_held(svc.engine, svc.manifest, name, table,
                                       now=now or dt.datetime.now())
                    for name, table in consented.items()}
        report = ingest(svc.engine, svc.manifest, svc.ws.root, svc.ws.key, sources=sources,
                        now=now, progress=progress, force=force,
                        identities=svc.store.register_identities, consented=consented)
        report.released = {k: v for k, v in released.items() if v}
        return report
    finally:
        for table in consented.values():
            svc.engine.execute(f'DROP TABLE IF EXISTS "{table}"')


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
