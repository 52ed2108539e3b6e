"""SARIF 2.1.0: findings at their manifest lines, so code review shows them inline.

Severity maps to SARIF levels: high → error, medium → warning, low and review → note
(review also carries ``kind: review``). Suppressed findings carry an in-source
suppression with the reason.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from profileguard import __version__
from profileguard.audit.engine import AuditResult
from profileguard.audit.finding import Finding

SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
LEVEL = {"high": "error", "medium": "warning", "low": "note", "review": "note"}


def _uri(path: str, base: Path | None) -> str:
    p = Path(path)
    if base is not None:
        try:
            return p.resolve().relative_to(base.resolve()).as_posix()
        except ValueError:
            pass
    return p.as_posix() if not p.is_absolute() else p.as_uri()


def _result(f: Finding, index: int, base: Path | None) -> dict[str, Any]:
    out: dict[str, Any] = {
        "ruleId": f.rule, "ruleIndex": index, "level": LEVEL[f.severity],
        "message": {"text": f"[{f.law} {f.article}] {f.message}"},
        "properties": {"severity": f.severity, "stage": f.stage, "law": f.law,
                       "article": f.article, "penalty": f.penalty,
                       "evidence": [e.as_dict() for e in f.evidence]},
    }
    if f.severity == "review":
        out["kind"] = "review"
    loc = f.location
    if loc is not None and loc.path and loc.line:
        out["locations"] = [{"physicalLocation": {
            "artifactLocation": {"uri": _uri(loc.path, base)},
            "region": {"startLine": loc.line}}}]
    if f.suppressed:
        out["suppressions"] = [{"kind": "inSource", "justification": f.suppression_reason or ""}]
    return out


def to_sarif(result: AuditResult, base: Path | None = None) -> dict[str, Any]:
    rules = result.rules
    index = {r.id: i for i, r in enumerate(rules)}
    driver = {
        "name": "profileguard", "version": __version__,
        "informationUri": "https://github.com/profileguard/profileguard",
        "rules": [{
            "id": r.id, "name": r.id.replace("-", "_"),
            "shortDescription": {"text": r.title_en},
            "fullDescription": {"text": f"{r.title_zh} — {r.law} {r.article}"},
            "help": {"text": r.fix or r.title_en},
            "defaultConfiguration": {"level": LEVEL[r.severity]},
            "properties": {"law": r.law, "article": r.article, "stage": r.stage,
                           "tags": [r.law, r.stage]},
        } for r in rules],
    }
    results = [_result(f, index[f.rule], base)
               for f in [*result.findings, *result.suppressed]]
    return {"$schema": SCHEMA, "version": "2.1.0",
            "runs": [{"tool": {"driver": driver}, "results": results,
                      "columnKind": "unicodeCodePoints"}]}


def to_sarif_text(result: AuditResult, base: Path | None = None) -> str:
    return json.dumps(to_sarif(result, base), ensure_ascii=False, indent=2)
