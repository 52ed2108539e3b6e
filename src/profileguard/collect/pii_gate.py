"""The scanner inside the gate: personal information where the manifest did not declare it.

Each file's declared text columns are scanned on a sample of their first rows; a value
holding personal information of a category the column's declaration does not cover (phone
numbers inside a ``remark`` declared ``user.free_text``) becomes a finding of the ingest
report. A field declared ``mask: true`` has every such entity masked in every row before
anything is stored (``请联系138****5678送货``).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

import pyarrow as pa
import pyarrow.compute as pc

from profileguard.collect.recognizers import category_of, default_recognizers
from profileguard.collect.scanner import find_undeclared_pi, scan_column
from profileguard.manifest.model import FieldDecl
from profileguard.taxonomy import covers

SAMPLE_ROWS = 5_000
_MASKERS = {r.entity: r for r in default_recognizers()}


@dataclass
class ColumnScan:
    """What the sample of one column revealed, accumulated over a file."""

    scanned: int = 0
    types: Counter[str] = field(default_factory=Counter)


def scan_sample(values: pa.Array, column: str, decl: FieldDecl, state: ColumnScan) -> None:
    room = SAMPLE_ROWS - state.scanned
    if room <= 0 or (decl.category == "non_personal" and decl.type != "string"):
        return
    sample = values.slice(0, room)
    state.scanned += len(sample)
    # the recognizers read one cell at a time: each distinct value is scanned once and its
    # findings count as often as it occurs (most columns repeat a few values)
    counts = pc.value_counts(sample)
    times = counts.field("counts").to_pylist()
    for f in find_undeclared_pi(decl.category, counts.field("values"), column):
        state.types[f.type] += times[f.row]


def mask_undeclared(values: pa.Array, column: str, decl: FieldDecl) -> pa.Array:
    """Mask every entity whose category the declaration does not cover."""
    matches, _ = scan_column(values, column)
    todo = [m for m in matches if not covers(decl.category, category_of(m.type))]
    if not todo:
        return values
    cells = values.cast(pa.string()).to_pylist()
    by_row: dict[int, list[tuple[int, int, str]]] = {}
    for m in todo:
        by_row.setdefault(m.row, []).append((m.start, m.end, m.type))
    for row, spans in by_row.items():
        text = cells[row]
        if text is None:
            continue
        for start, end, kind in sorted(spans, reverse=True):
            masker = _MASKERS.get(kind)
            piece = text[start:end]
            text = text[:start] + (masker.mask(piece) if masker else "*" * len(piece)) + text[end:]
        cells[row] = text
    return pa.array(cells, pa.string())


def findings(source: str, scans: dict[str, ColumnScan], decls: dict[str, FieldDecl]
             ) -> list[dict[str, object]]:
    out: list[dict[str, object]] = []
    for column, state in scans.items():
        for kind, n in sorted(state.types.items()):
            decl = decls[column]
            out.append({
                "source": source, "column": column, "declared": decl.category, "type": kind,
                "category": category_of(kind), "entities": n, "rows_scanned": state.scanned,
                "masked": decl.mask,
                "message": (f"{source}.{column} is declared {decl.category} but holds {kind} "
                            f"({category_of(kind)}): {n} in the first {state.scanned} rows"
                            + ("; masked before storage (mask: true)" if decl.mask else
                               "; declare the category or set `mask: true`")),
            })
    return out
