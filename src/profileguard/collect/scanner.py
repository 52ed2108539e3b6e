"""Scan tables for personal information: per column, which types, how often, and where.

``scan_table`` runs every recognizer over every column of an Arrow table (or the first /
a random ``sample`` of its rows) and returns a :class:`ScanReport`: for each column the
types found, the number of entities and of rows holding one, the share of scanned rows, a
masked example and the taxonomy category each type suggests — plus, on request, one
:class:`Finding` per entity with character offsets into the cell's original text.
``TableScanner`` does the same over a stream of record batches, for files too large to
hold at once.

``find_undeclared_pi`` is the hook for the ingestion gate: given the category a manifest
declares for a column and the column's values, it returns the findings whose category the
declaration does not cover (phones inside a ``remark`` column declared ``user.free_text``).

Cells of non-string columns are scanned as their Arrow string cast (``13812345678`` in an
int64 column, ``39.9042`` in a float column); offsets refer to that text. Struct columns
are flattened (``address.city``); list, map and binary columns are not scanned.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pyarrow as pa

from profileguard.collect.recognizers import (
    Match,
    Recognizer,
    category_of,
    default_recognizers,
    entity_types,
    normalize_column,
)
from profileguard.taxonomy import covers

__all__ = [
    "DEFAULT_THRESHOLD",
    "ColumnReport",
    "Finding",
    "ScanReport",
    "TableScanner",
    "TypeSummary",
    "find_undeclared_pi",
    "scan_batches",
    "scan_column",
    "scan_table",
]

#: findings scoring below this are not reported
DEFAULT_THRESHOLD = 0.5


@dataclass(frozen=True)
class Finding:
    """One detected entity: ``row`` is the 0-based data row (a header is not a row);
    ``start``/``end`` are character offsets into the cell's original text."""

    row: int
    column: str
    type: str
    start: int
    end: int
    score: float

    def to_dict(self) -> dict[str, Any]:
        return {"row": self.row, "column": self.column, "type": self.type,
                "start": self.start, "end": self.end, "score": self.score}


@dataclass
class TypeSummary:
    """One type found in one column."""

    type: str
    category: str
    count: int = 0
    rows: int = 0
    share: float = 0.0
    example: str = ""
    max_score: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        return {"type": self.type, "category": self.category, "count": self.count,
                "rows": self.rows, "share": self.share, "example": self.example,
                "max_score": self.max_score}


@dataclass
class ColumnReport:
    name: str
    types: list[TypeSummary] = field(default_factory=list)
    scanned: bool = True

    @property
    def suggested_category(self) -> str | None:
        """The category of the type found in the most rows, if any."""
        if not self.types:
            return None
        return max(self.types, key=lambda t: (t.rows, t.max_score)).category

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "scanned": self.scanned,
                "suggested_category": self.suggested_category,
                "types": [t.to_dict() for t in self.types]}


@dataclass
class ScanReport:
    rows: int
    columns: list[ColumnReport]
    findings: list[Finding] | None = None

    def to_dict(self) -> dict[str, Any]:
        """``{"rows", "columns", "findings"}``; ``findings`` only when they were collected."""
        out: dict[str, Any] = {"rows": self.rows, "columns": [c.to_dict() for c in self.columns]}
        if self.findings is not None:
            out["findings"] = [f.to_dict() for f in self.findings]
        return out


def _as_text(values: pa.Array | pa.ChunkedArray) -> pa.Array | None:
    """A string array for scanning, or None for types that are not scanned."""
    arr = values.combine_chunks() if isinstance(values, pa.ChunkedArray) else values
    t = arr.type
    if pa.types.is_dictionary(t):
        arr = arr.dictionary_decode()
        t = arr.type
    if pa.types.is_string(t):
        return arr
    if pa.types.is_large_string(t) or pa.types.is_string_view(t):
        return arr.cast(pa.string())
    if (pa.types.is_integer(t) or pa.types.is_floating(t) or pa.types.is_decimal(t)
            or pa.types.is_boolean(t) or pa.types.is_temporal(t)):
        return arr.cast(pa.string())
    return None


def _resolve_overlaps(matches: list[Match], priority: dict[str, int]) -> list[Match]:
    """Within a cell keep the best of overlapping matches: higher score, then type priority,
    then the longer span."""
    by_row: dict[int, list[Match]] = {}
    for m in matches:
        by_row.setdefault(m.row, []).append(m)
    kept: list[Match] = []
    for row_matches in by_row.values():
        if len(row_matches) == 1:
            kept.extend(row_matches)
            continue
        row_matches.sort(key=lambda m: (-m.score, priority[m.type], m.start - m.end))
        taken: list[Match] = []
        for m in row_matches:
            if all(m.end <= t.start or t.end <= m.start for t in taken):
                taken.append(m)
        kept.extend(taken)
    kept.sort(key=lambda m: (m.row, m.start))
    return kept


def _text_array(values: Sequence[str | None]) -> pa.Array:
    """Python strings as Arrow text; lone surrogates (not valid UTF-8, so never from a file)
    become U+FFFD one for one, so offsets into the cell stay right."""
    try:
        return pa.array(values, pa.string())
    except UnicodeEncodeError:
        return pa.array([None if v is None else "".join(
            "\ufffd" if 0xD800 <= ord(ch) <= 0xDFFF else ch for ch in v) for v in values],
            pa.string())


def scan_column(
    values: pa.Array | pa.ChunkedArray | Sequence[str | None],
    column: str = "",
    *,
    threshold: float = DEFAULT_THRESHOLD,
    recognizers: Sequence[Recognizer] | None = None,
) -> tuple[list[Match], pa.Array | None]:
    """All matches at or above ``threshold`` in one column (``row`` = index in ``values``),
    with the normalized text they were found in (None when the type is not scanned)."""
    arr = values if isinstance(values, pa.Array | pa.ChunkedArray) else _text_array(values)
    text = _as_text(arr)
    if text is None:
        return [], None
    norm = normalize_column(text)
    recs = default_recognizers() if recognizers is None else recognizers
    found: list[Match] = []
    for rec in recs:
        found.extend(m for m in rec.analyze_column(norm, column) if m.score >= threshold)
    priority = {name: i for i, name in enumerate(entity_types())}
    for rec in recs:
        priority.setdefault(rec.entity, len(priority))
    return _resolve_overlaps(found, priority), norm


class TableScanner:
    """Accumulates a scan over record batches (or tables) that arrive one after another."""

    def __init__(
        self,
        *,
        threshold: float = DEFAULT_THRESHOLD,
        collect_findings: bool = False,
        recognizers: Sequence[Recognizer] | None = None,
    ) -> None:
        self.threshold = threshold
        self.collect_findings = collect_findings
        self.recognizers = tuple(default_recognizers() if recognizers is None else recognizers)
        self._masks = {r.entity: r for r in self.recognizers}
        self.rows = 0
        self._columns: dict[str, ColumnReport] = {}
        self._findings: list[Finding] = []

    def add(self, batch: pa.RecordBatch | pa.Table, row_ids: np.ndarray | None = None) -> None:
        """Scan one batch; ``row_ids`` gives each row's index in the source (default: the
        running row count, so consecutive batches number rows 0, 1, 2 …)."""
        table = batch if isinstance(batch, pa.Table) else pa.Table.from_batches([batch])
        table = _flatten(table)
        n = table.num_rows
        ids = np.arange(self.rows, self.rows + n) if row_ids is None else np.asarray(row_ids)
        for name, values in zip(table.column_names, table.columns, strict=True):
            report = self._columns.setdefault(name, ColumnReport(name))
            matches, norm = scan_column(values, name, threshold=self.threshold,
                                        recognizers=self.recognizers)
            if norm is None:
                report.scanned = False
                continue
            self._summarize(report, matches, norm)
            if self.collect_findings:
                self._findings.extend(
                    Finding(int(ids[m.row]), name, m.type, m.start, m.end, m.score) for m in matches
                )
        self.rows += n

    def _summarize(self, report: ColumnReport, matches: list[Match], norm: pa.Array) -> None:
        summaries = {t.type: t for t in report.types}
        rows_by_type: dict[str, set[int]] = {}
        for m in matches:
            s = summaries.get(m.type)
            if s is None:
                s = summaries[m.type] = TypeSummary(m.type, category_of(m.type))
                report.types.append(s)
            s.count += 1
            s.max_score = max(s.max_score, m.score)
            rows_by_type.setdefault(m.type, set()).add(m.row)
            if not s.example:
                cell: str = norm[m.row].as_py()
                s.example = self._masks[m.type].mask(cell[m.start:m.end])
        for entity, rows in rows_by_type.items():
            summaries[entity].rows += len(rows)

    def report(self) -> ScanReport:
        for col in self._columns.values():
            for t in col.types:
                t.share = round(t.rows / self.rows, 4) if self.rows else 0.0
            col.types.sort(key=lambda t: (-t.rows, t.type))
        findings = sorted(self._findings, key=lambda f: (f.row, f.column, f.start)) \
            if self.collect_findings else None
        return ScanReport(self.rows, list(self._columns.values()), findings)


def _flatten(table: pa.Table) -> pa.Table:
    while any(pa.types.is_struct(f.type) for f in table.schema):
        table = table.flatten()
    return table


def scan_table(
    table: pa.Table,
    *,
    sample: int | None = None,
    random_sample: bool = False,
    seed: int = 0,
    threshold: float = DEFAULT_THRESHOLD,
    findings: bool = False,
    recognizers: Sequence[Recognizer] | None = None,
) -> ScanReport:
    """Scan a table: all rows, the first ``sample`` rows, or (``random_sample``) ``sample``
    rows drawn without replacement with ``seed``. Finding rows are always row indices of
    ``table``."""
    scanner = TableScanner(threshold=threshold, collect_findings=findings, recognizers=recognizers)
    if sample is not None and sample < table.num_rows:
        if random_sample:
            ids = np.sort(np.random.default_rng(seed).choice(table.num_rows, sample, replace=False))
            scanner.add(table.take(pa.array(ids)), row_ids=ids)
            return scanner.report()
        table = table.slice(0, sample)
    scanner.add(table)
    return scanner.report()


def scan_batches(
    batches: Iterable[pa.RecordBatch],
    *,
    sample: int | None = None,
    threshold: float = DEFAULT_THRESHOLD,
    findings: bool = False,
) -> ScanReport:
    """Scan a stream of batches, stopping after the first ``sample`` rows when given."""
    scanner = TableScanner(threshold=threshold, collect_findings=findings)
    for batch in batches:
        if sample is not None:
            left = sample - scanner.rows
            if left <= 0:
                break
            if batch.num_rows > left:
                batch = batch.slice(0, left)
        scanner.add(batch)
    return scanner.report()


def find_undeclared_pi(
    declared_category: str,
    values: pa.Array | pa.ChunkedArray | Sequence[str | None],
    column: str = "",
    *,
    threshold: float = DEFAULT_THRESHOLD,
) -> list[Finding]:
    """Findings in a declared column whose category the declaration does not cover.

    For the ingestion gate: a ``remark`` column declared ``user.free_text`` that holds
    ``13812345678`` yields a ``CN_MOBILE`` finding (``user.contact.phone_number`` is not
    under ``user.free_text``); the same value in a column declared ``user.contact`` does
    not. ``row`` is the index in ``values``. Returns an empty list when nothing undeclared
    is found.
    """
    matches, _ = scan_column(values, column, threshold=threshold)
    return [
        Finding(m.row, column, m.type, m.start, m.end, m.score)
        for m in matches
        if not covers(declared_category, category_of(m.type))
    ]
