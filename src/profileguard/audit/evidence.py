"""The evidence bundle a third-party certifier asks for (paper §5.4), as one zip file.

Contents: the audit report (JSON, Markdown, SARIF), the ledger verification, the PIA
draft, the manifest itself and its hash, rights-request statistics, incident records, and
``SHA256SUMS`` — the digest of every other file, so the bundle can be checked offline with
``sha256sum -c``.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import zipfile
from pathlib import Path
from typing import Any

from profileguard.audit.api import render
from profileguard.audit.context import AuditContext
from profileguard.audit.drafts.document import to_markdown
from profileguard.audit.drafts.pia import pia_document
from profileguard.audit.engine import AuditResult, run_audit


def _json(data: Any) -> bytes:
    return (json.dumps(data, ensure_ascii=False, indent=2, default=str) + "\n").encode("utf-8")


def rights_statistics(ctx: AuditContext) -> dict[str, Any]:
    facts = ctx.rights
    if facts is None:
        return {"available": False}
    now = dt.datetime.combine(ctx.as_of, dt.time(), tzinfo=dt.UTC)
    return {
        "available": True, "total": facts.total, "by_kind_state": facts.by_kind_state,
        "open_overdue": sum(1 for r in facts.open_or_refused
                            if r.state not in {"done", "refused"} and r.due < now),
        "refused_without_reason": sum(1 for r in facts.open_or_refused if r.state == "refused"
                                      and not (r.refusal_reason or "").strip()),
    }


def bundle_files(ctx: AuditContext, result: AuditResult, manifest_bytes: bytes
                 ) -> dict[str, bytes]:
    manifest_name = Path(result.manifest_path).name
    files = {
        "audit/report.json": render(result, "json").encode("utf-8"),
        "audit/report.md": render(result, "md").encode("utf-8"),
        "audit/report.sarif": render(result, "sarif").encode("utf-8"),
        "ledger/verification.json": _json(
            {"available": ctx.ledger is not None, **(vars(ctx.ledger) if ctx.ledger else {})}),
        "pia/pia-draft.md": to_markdown(pia_document(ctx, result)).encode("utf-8"),
        f"manifest/{manifest_name}": manifest_bytes,
        "manifest/sha256.txt": f"{hashlib.sha256(manifest_bytes).hexdigest()}  "
                               f"{manifest_name}\n".encode(),
        "rights/statistics.json": _json(rights_statistics(ctx)),
        "incidents/incidents.json": _json([
            {"id": i.id, "title": i.title, "state": i.state,
             "detected_at": i.detected_at.isoformat(), **i.record}
            for i in ctx.incidents or []]),
    }
    sums = "".join(f"{hashlib.sha256(data).hexdigest()}  {name}\n"
                   for name, data in sorted(files.items()))
    files["SHA256SUMS"] = sums.encode("utf-8")
    return files


def write_evidence(ctx: AuditContext, out: Path, sha256: str | None = None) -> dict[str, str]:
    """Write the bundle to ``out`` (a zip); returns file → sha256 of its contents."""
    result = run_audit(ctx, sha256=sha256)
    files = bundle_files(ctx, result, Path(ctx.manifest_path).read_bytes())
    out.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for name, data in sorted(files.items()):
            zf.writestr(name, data)
    return {name: hashlib.sha256(data).hexdigest() for name, data in files.items()}
