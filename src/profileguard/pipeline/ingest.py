"""Ingesting a workspace: the gate, with the identity map kept in the operational store."""

from __future__ import annotations

import datetime as dt

from profileguard.collect.ingest import IngestReport, Progress, ingest
from profileguard.pipeline.services import Services


def ingest_workspace(svc: Services, *, sources: list[str] | None = None,
                     now: dt.datetime | None = None, progress: Progress | None = None,
                     force: bool = False) -> IngestReport:
    return ingest(svc.engine, svc.manifest, svc.ws.root, svc.ws.key, sources=sources, now=now,
                  progress=progress, force=force, identities=svc.store.register_identities)
