"""The shape every recognizer shares, run over a whole column at once.

A recognizer reads like a Presidio one (STYLE.md): a class with a docstring giving the
format and its reference, a few :class:`Pattern` s (name, regex, score), context words in
Chinese and English, and :meth:`Recognizer.validate_result` for checksums. Unlike Presidio
it works on a column, not a string:

1. ``prefilter`` — an RE2 regex run by ``pyarrow.compute.match_substring_regex`` over the
   whole (normalized) column in C++. Cells it rejects are never seen by Python, so a clean
   column costs one vectorized pass.
2. ``patterns`` — Python :mod:`re` regexes run only on the candidate cells. They carry the
   digit look-arounds ``(?<!\\d)`` / ``(?!\\d)`` (RE2 has no look-arounds, and ``\\b`` fails
   next to Chinese characters: ``卡号6222…`` has no word boundary before ``6``). A pattern
   may mark the entity with a group named ``v``; otherwise the whole match is the entity.
3. ``validate_result`` — receives *all* candidate strings of the column at once and returns
   a boolean array (checksums are computed with numpy over the batch).
4. Scores: the pattern score, raised when the column name or the text just before the
   match holds a context word, lowered when it holds a negative one (``订单号``,
   ``tracking``), clamped to [0, 1].
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import ClassVar, NamedTuple

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

__all__ = [
    "COLUMN_BOOST",
    "COLUMN_PENALTY",
    "TEXT_BOOST",
    "TEXT_PENALTY",
    "Match",
    "Pattern",
    "Recognizer",
    "column_tokens",
    "has_context",
]

#: score added when the column name holds a context word (``手机号``, ``phone``)
COLUMN_BOOST = 0.3
#: score removed when the column name holds a negative word (``订单号``, ``order_id``)
COLUMN_PENALTY = 0.4
#: score added when a context word appears in the few characters before the match
TEXT_BOOST = 0.2
#: score removed when a negative word appears there
TEXT_PENALTY = 0.4
#: how many characters before a match are searched for context words
TEXT_WINDOW = 12

#: negative words shared by the digit-shaped recognizers: numbers that are not about a person
DIGIT_NEGATIVE_CONTEXT: tuple[str, ...] = (
    "订单", "单号", "运单", "快递单", "物流", "流水", "交易号", "时间戳", "编号", "商品", "条码", "sku",
    "order", "tracking", "waybill", "timestamp", "serial", "barcode", "invoice", "txn",
)

_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")
_SPLIT = re.compile(r"[^0-9a-z]+")


@dataclass(frozen=True)
class Pattern:
    """One regex of a recognizer and the score a match of it starts with."""

    name: str
    regex: str
    score: float


class Match(NamedTuple):
    """One entity found in one cell: ``row`` is the index within the analysed column,
    ``start``/``end`` are character offsets into the cell's text (end exclusive).
    (A named tuple: a column can yield hundreds of thousands.)"""

    row: int
    start: int
    end: int
    type: str
    score: float


def column_tokens(column: str) -> tuple[str, tuple[str, ...]]:
    """The lower-cased column name and its ASCII tokens (``shipToPhone`` → ship, to, phone)."""
    lowered = _CAMEL.sub("_", column).lower()
    return column.lower(), tuple(t for t in _SPLIT.split(lowered) if t)


def has_context(column: str, words: Sequence[str]) -> bool:
    """Whether a column name holds one of ``words``.

    Chinese words match as substrings (``收货人手机`` holds ``手机``), and so do ASCII words
    with an underscore against the tokens joined by ``_`` (``idCard`` holds ``id_card``).
    Other ASCII words match a
    whole token, or — for words of four letters or more — the start or end of a token
    (``cellphone`` holds ``phone``), so ``ip`` matches ``client_ip`` but not ``zip`` or
    ``ship``.
    """
    if not column:
        return False
    raw, tokens = column_tokens(column)
    joined = "_".join(tokens)
    for word in words:
        if not word.isascii() or "_" in word:
            if word in (raw if not word.isascii() else joined):
                return True
            continue
        for token in tokens:
            if token == word or (
                len(word) >= 4 and (token.startswith(word) or token.endswith(word))
            ):
                return True
    return False


def _words_regex(words: Sequence[str]) -> re.Pattern[str] | None:
    """One case-insensitive alternation of ``words`` (longest first), or None if empty."""
    if not words:
        return None
    ordered = sorted(words, key=len, reverse=True)
    return re.compile("|".join(re.escape(w) for w in ordered), re.IGNORECASE)


class Recognizer:
    """Base class: subclasses set the class attributes and may override the hooks."""

    #: fixed type name reported in findings, e.g. ``CN_MOBILE``
    entity: ClassVar[str]
    #: the taxonomy category this type suggests (a key of ``taxonomy.CATEGORIES``)
    category: ClassVar[str]
    #: RE2 regex (no look-arounds) a cell must match to be looked at by ``patterns``
    prefilter: ClassVar[str]
    patterns: ClassVar[tuple[Pattern, ...]]
    #: words (zh and en) that make a match more likely to be this entity
    context: ClassVar[tuple[str, ...]] = ()
    #: words that make it less likely (an order number is not a phone)
    negative_context: ClassVar[tuple[str, ...]] = ()

    def __init__(self) -> None:
        self._compiled = tuple(
            (p.score, re.compile(p.regex), "v" in re.compile(p.regex).groupindex)
            for p in self.patterns
        )
        self._context_rx = _words_regex(self.context)
        self._negative_rx = _words_regex(self.negative_context)

    # -- hooks ---------------------------------------------------------------------------

    def validate_result(self, values: list[str]) -> np.ndarray:
        """Vectorized check of all candidate strings of a column; True keeps a candidate."""
        return np.ones(len(values), dtype=bool)

    def mask(self, value: str) -> str:
        """A display form that hides the middle: keep a quarter at each end."""
        keep = max(1, len(value) // 4)
        if len(value) <= 2:
            return "*" * len(value)
        return value[:keep] + "*" * (len(value) - 2 * keep) + value[-keep:]

    def column_adjustment(self, column: str) -> float:
        """Score change from the column name (positive or negative context)."""
        if has_context(column, self.negative_context):
            return -COLUMN_PENALTY
        if has_context(column, self.context):
            return COLUMN_BOOST
        return 0.0

    def text_adjustment(self, text: str, start: int) -> float:
        """Score change from the words just before a match in the same cell."""
        if start == 0:
            return 0.0
        window = text[max(0, start - TEXT_WINDOW):start]
        if self._negative_rx is not None and self._negative_rx.search(window):
            return -TEXT_PENALTY
        if self._context_rx is not None and self._context_rx.search(window):
            return TEXT_BOOST
        return 0.0

    # -- the column pass ----------------------------------------------------------------

    def candidate_rows(self, texts: pa.Array) -> np.ndarray:
        """Indices of cells the RE2 prefilter accepts (one C++ pass over the column)."""
        hit = pc.fill_null(pc.match_substring_regex(texts, self.prefilter), False)
        return np.flatnonzero(hit.to_numpy(zero_copy_only=False))

    def analyze_column(self, texts: pa.Array, column: str = "") -> list[Match]:
        """All matches in a normalized string column (scores not yet thresholded)."""
        rows = self.candidate_rows(texts)
        if rows.size == 0:
            return []
        cells: list[str] = pc.take(texts, pa.array(rows)).to_pylist()
        spans: list[tuple[int, int, int, float]] = []
        values: list[str] = []
        for row, text in zip(rows.tolist(), cells, strict=True):
            taken: list[tuple[int, int]] = []
            for score, rx, grouped in self._compiled:
                for m in rx.finditer(text):
                    s, e = m.span("v") if grouped else m.span()
                    if taken and any(s < te and ts < e for ts, te in taken):
                        continue
                    taken.append((s, e))
                    spans.append((row, s, e, score))
                    values.append(text[s:e])
        if not spans:
            return []
        valid = self.validate_result(values)
        col_adj = self.column_adjustment(column)
        by_row = dict(zip(rows.tolist(), cells, strict=True))
        out: list[Match] = []
        for (row, s, e, score), ok in zip(spans, valid.tolist(), strict=True):
            if not ok:
                continue
            total = score + col_adj + self.text_adjustment(by_row[row], s)
            out.append(Match(row, s, e, self.entity, round(min(1.0, max(0.0, total)), 3)))
        return out
