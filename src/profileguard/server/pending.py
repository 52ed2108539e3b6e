"""Warehouse work the server queued, done when no server holds the warehouse.

``profileguard serve`` calls :func:`apply_pending` before it starts its workers (it is
then the only process with the warehouse open): queued erasures and field corrections
run through the same rights handlers as the CLI, and tags people deleted or stopped since
the last build are removed from the current snapshot, so the file agrees with what the
server has been answering.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from profileguard.pipeline.rights import rights_context, rights_desk
from profileguard.pipeline.services import open_services
from profileguard.rights import handlers
from profileguard.server.desk import queued


@dataclass
class PendingReport:
    requests_done: list[int] = field(default_factory=list)
    requests_failed: dict[int, str] = field(default_factory=dict)
    tags_removed: int = 0


def apply_pending(manifest: str | Path, state_url: str | None = None) -> PendingReport:
    report = PendingReport()
    with open_services(manifest, state_url=state_url) as svc:
        if not svc.ws.warehouse_path.exists():
            return report
        desk = rights_desk(svc)
        for req in desk.list(state="in_progress"):
            if not queued(req.kind, req.details):
                continue
            try:
                desk.run(req.id, actor="server.pending")
                report.requests_done.append(req.id)
            except Exception as exc:  # reported, the request stays in the queue
                report.requests_failed[req.id] = f"{type(exc).__name__}: {exc}"
        ctx = rights_context(svc)
        for pid in sorted(svc.book.objectors()):
            report.tags_removed += handlers.drop_from_current(ctx, pid)
        by_person: dict[str, list[str]] = {}
        for o in svc.book.overrides():
            if o.action == "delete":
                by_person.setdefault(o.user_pid, []).append(o.tag)
        for pid, tags in by_person.items():
            report.tags_removed += handlers.drop_from_current(ctx, pid, tags)
    return report
