"""Shared body of ``profileguard pia`` and ``profileguard filing``: audit, draft, print."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from rich.console import Console

from profileguard.audit.api import load_context
from profileguard.audit.context import AuditContext
from profileguard.audit.drafts.document import Document, to_html, to_markdown
from profileguard.audit.engine import AuditResult, run_audit
from profileguard.cli._audit_report import parse_day
from profileguard.errors import ProfileguardError

Drafter = Callable[[AuditContext, AuditResult], Document]


def run_draft(drafter: Drafter, manifest: Path | None, fmt: str, out: Path | None,
              as_of: str | None, state_url: str | None) -> None:
    if fmt not in ("md", "html"):
        raise ProfileguardError(f"--format {fmt!r} is not allowed; use md or html")
    ctx, sha = load_context(manifest, as_of=parse_day(as_of), state_url=state_url)
    doc = drafter(ctx, run_audit(ctx, sha256=sha))
    text = to_html(doc) if fmt == "html" else to_markdown(doc)
    if out is None:
        print(text, end="")
    else:
        out.write_text(text, encoding="utf-8")
        Console(stderr=True).print(f"wrote {out}")
