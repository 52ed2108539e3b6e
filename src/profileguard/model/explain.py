"""Explanations a person understands: each tag value with its actual inputs.

A tag's explanation template (zh and en) names its inputs in braces — ``{n_orders}``,
``{total}``, ``{value}``, or for derived tags the tags they read (``{recency_days}``).
Rendering fills them from the snapshot's stored inputs; a missing input renders as "?"
rather than failing, so one odd value never hides the rest of a profile.
"""

from __future__ import annotations

import datetime as dt
import math
import string
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from profileguard.manifest.model import Manifest
from profileguard.model import snapshot
from profileguard.model.catalog import Catalog
from profileguard.store.engine import DuckDBEngine

KIND_LABEL = {
    "fact": {"zh": "事实", "en": "fact"},
    "prediction": {"zh": "预测", "en": "prediction"},
    "corrected": {"zh": "已由您更正", "en": "corrected by you"},
}


class _Lenient(dict[str, Any]):
    def __missing__(self, key: str) -> str:
        return "?"


def _fmt(value: Any) -> str:
    if isinstance(value, float) and math.isnan(value):
        return "?"
    if isinstance(value, float):
        return f"{value:.2f}".rstrip("0").rstrip(".") if value != int(value) else str(int(value))
    if isinstance(value, Decimal):
        return format(value.normalize(), "f")
    return "?" if value is None else str(value)


def render(template: str, inputs: dict[str, Any]) -> str:
    values = _Lenient({k: _fmt(v) for k, v in inputs.items()})
    try:
        return string.Formatter().vformat(template, (), values)
    except (ValueError, IndexError):
        return template


@dataclass
class ExplainedTag:
    tag: str
    title: str
    value: str
    kind: str
    kind_label: str
    confidence: float
    explanation: str
    purpose: str
    fields: list[str]
    categories: list[str]
    computed_at: datetime
    valid_until: datetime
    inputs: dict[str, Any]

    def as_dict(self) -> dict[str, Any]:
        return {
            "tag": self.tag, "title": self.title, "value": self.value, "kind": self.kind,
            "kind_label": self.kind_label, "confidence": self.confidence,
            "explanation": self.explanation, "purpose": self.purpose,
            "lineage": {"fields": self.fields, "categories": self.categories},
            "computed_at": self.computed_at.isoformat(),
            "valid_until": self.valid_until.isoformat(), "inputs": self.inputs,
        }


def inputs_of(tag: str, row: dict[str, Any], depends_on: tuple[str, ...] | list[str] = ()
              ) -> dict[str, Any]:
    """A tag's explanation inputs from the person's wide snapshot row: its ``tag__input``
    columns (not its confidence) and, for derived tags, the tags it reads."""
    prefix = tag + "__"
    inputs = {k[len(prefix):]: v for k, v in row.items()
              if k.startswith(prefix) and k != prefix + "confidence"}
    inputs.update({d: row.get(d) for d in depends_on})
    return {k: _plain(v) for k, v in inputs.items()}


def _plain(value: Any) -> Any:
    """JSON-safe input values: dates as ISO text, decimals as floats, NaN as missing."""
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, dt.date | dt.datetime | dt.time):
        return value.isoformat()
    return value


def profile_of(engine: DuckDBEngine, m: Manifest, catalog: Catalog, user_pid: str,
               lang: str = "zh") -> list[ExplainedTag]:
    """Every tag the current snapshot holds for one person, explained."""
    snap = snapshot.current(engine)
    if snap is None:
        return []
    rows = engine.query_rows(
        f"SELECT tag, value, kind, confidence, purpose, computed_at, valid_until "
        f"FROM {snap.long} WHERE user_id = ? ORDER BY tag", [user_pid])
    wide = engine.query_arrow(f"SELECT * FROM {snap.wide} WHERE user_id = ?", [user_pid])
    row: dict[str, Any] = wide.to_pylist()[0] if wide.num_rows else {}
    out = []
    order = {t.name: i for i, t in enumerate(m.tags)}
    for tag, value, kind, conf, purpose, computed, valid in rows:
        info = catalog.get(tag)
        decl = m.tag(tag)
        inputs = inputs_of(tag, row, info.validated.depends_on if info and info.validated else ())
        inputs["value"] = value
        template = decl.explanation.get(lang) if decl else ""
        text = render(template, inputs) if template else f"{tag} = {value}"
        if kind == "corrected":
            text = ("您已将此标签更正为 " if lang == "zh" else "You corrected this tag to ") + str(value)
        out.append(ExplainedTag(
            tag=tag, title=(decl.title.get(lang) if decl else tag) or tag, value=str(value),
            kind=kind, kind_label=KIND_LABEL.get(kind, {}).get(lang, kind),
            confidence=float(conf), explanation=text, purpose=purpose,
            fields=list(info.fields) if info else [],
            categories=list(info.categories) if info else [],
            computed_at=computed, valid_until=valid, inputs=inputs))
    out.sort(key=lambda e: order.get(e.tag, 999))
    return out
