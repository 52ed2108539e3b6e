"""Length-preserving NFKC normalization of a text column.

Recognizers match on normalized text (full-width ``１３８``, ``＋８６`` and ``：`` become ASCII)
but report offsets into the cell's *original* text. Full NFKC can change a string's length
(``㎡`` → ``m2``, ``ﬁ`` → ``fi``, combining sequences compose), which would shift every later
offset. So this module applies NFKC **character by character, only where the result is a
single character**: full-width digits, letters and punctuation, the ideographic space,
circled and superscript digits … are mapped; characters whose NFKC form has another length
are left unchanged. The normalized cell therefore always has the original cell's length and
an offset in one is the same offset in the other.

The mapping is a ``str.translate`` table built once from :mod:`unicodedata` (the standard
library's NFKC), so normalizing a cell runs in C; ASCII cells (found with
``pyarrow.compute.string_is_ascii``) are not touched at all.
"""

from __future__ import annotations

import unicodedata
from functools import lru_cache

import pyarrow as pa
import pyarrow.compute as pc

__all__ = ["normalize_column", "normalize_text"]


@lru_cache(maxsize=1)
def _table() -> dict[int, str]:
    """Code point → its one-character NFKC form, for the Basic Multilingual Plane."""
    table: dict[int, str] = {}
    for cp in range(0x80, 0x10000):
        if 0xD800 <= cp <= 0xDFFF:
            continue
        ch = chr(cp)
        nf = unicodedata.normalize("NFKC", ch)
        if nf != ch and len(nf) == 1:
            table[cp] = nf
    return table


def normalize_text(text: str) -> str:
    """NFKC one character at a time where that keeps the length (see module docstring)."""
    if text.isascii():
        return text
    return text.translate(_table())


def normalize_column(texts: pa.Array) -> pa.Array:
    """Normalize a string column; the result has the same length in every cell."""
    if len(texts) == 0 or texts.null_count == len(texts):
        return texts
    ascii_mask = pc.string_is_ascii(texts)
    if pc.all(pc.fill_null(ascii_mask, True)).as_py():
        return texts
    table = _table()
    values = texts.to_pylist()
    out = [v if v is None or v.isascii() else v.translate(table) for v in values]
    return pa.array(out, type=pa.string())
