"""Audience export to one recipient: recipient-specific pseudonyms, ledger, erasure follow-up.

The file holds one pseudonym per member, computed with the recipient's own derived key
(:func:`profileguard.process.pseudonym.recipient_key`), so two recipients' files share no
identifier and cannot be joined with each other or with the warehouse. The guards are
re-run against the ConsentBook as it is at export time (the guard table is rebuilt), the
export is refused when the audience is too small, and in one transaction the export is
listed in ``exports`` / ``export_members`` (so an erasure request can name the recipients
to tell — PIPL 47) and appended to the ledger.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pyarrow as pa

from profileguard.apply.audience import AudienceResult, AudienceSpec, select_audience
from profileguard.errors import ProfileguardError
from profileguard.process.pseudonym import Pseudonymizer
from profileguard.store import tables as t
from profileguard.store.operational import utcnow

if TYPE_CHECKING:
    from profileguard.pipeline.services import Services


@dataclass(frozen=True)
class AudienceExport:
    export_id: int
    path: Path
    rows: int
    sha256: str
    result: AudienceResult

    def as_dict(self) -> dict[str, Any]:
        return {"export_id": self.export_id, "path": str(self.path), "rows": self.rows,
                "sha256": self.sha256, **self.result.as_dict()}


def _default_path(svc: Services, recipient: str) -> Path:
    slug = re.sub(r"[^A-Za-z0-9]+", "_", recipient).strip("_").lower() or "recipient"
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%S%f")
    return svc.ws.exports_dir / f"audience_{slug}_{stamp}.csv"


def export_audience(svc: Services, spec: AudienceSpec, *, out: Path | None = None,
                    actor: str = "system") -> AudienceExport:
    if not spec.recipient:
        raise ProfileguardError("an audience export needs --recipient: the file is "
                                "pseudonymized with that recipient's own key")
    result = select_audience(svc, spec, members=True, refresh=True)
    if result.refusal is not None:
        r = result.refusal
        raise ProfileguardError(f"audience export refused [{r.law} {r.article}, {r.rule}]: "
                                f"{r.reason}; allowed: at least {result.min_size} people")
    pseudo = Pseudonymizer(svc.ws.key, recipient=spec.recipient)
    ids = pseudo.column(pa.array(result.members, pa.string())).to_pylist()
    path = out or _default_path(svc, spec.recipient)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["audience_member"])
        writer.writerows([i] for i in ids)
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    with svc.store.write() as conn:
        export_id = int(conn.execute(t.exports.insert().values(
            kind="audience", recipient=spec.recipient, purpose=spec.purpose,
            path=str(path), rows=len(ids), created_at=utcnow(),
        ).returning(t.exports.c.id)).scalar_one())
        if result.members:
            conn.execute(t.export_members.insert(),
                         [{"export_id": export_id, "user_pid": u} for u in result.members])
        svc.ledger.append("audience.export", actor, None, {
            "export_id": export_id, "recipient": spec.recipient, "purpose": spec.purpose,
            "expression": spec.expression, "snapshot": result.snapshot, "rows": len(ids),
            "removed": result.removed, "sha256": digest, "path": str(path),
        }, conn=conn)
    return AudienceExport(export_id, path, len(ids), digest, result)
