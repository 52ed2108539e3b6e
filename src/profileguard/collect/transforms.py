"""Ingest-time transforms declared per field (``transform:``), applied before anything is stored.

``pseudonymize`` keyed HMAC (the person's id column is always pseudonymized);
``mask`` keep the first 3 and last 4 characters (138****5678); ``truncate_ip`` /24 or /48;
``generalize_gps`` a 0.1° grid cell; ``generalize_age`` a date of birth to its year;
``hash`` unkeyed SHA-256 (linkable across datasets — prefer pseudonymize); ``drop`` not stored.
The column transforms themselves live in :mod:`profileguard.process.transforms`.
"""

from __future__ import annotations

import hashlib

import pyarrow as pa
import pyarrow.compute as pc

from profileguard.process import transforms as t
from profileguard.store.keys import pseudonymize_array


def _sha256(values: pa.Array) -> pa.Array:
    encoded = pc.dictionary_encode(values)
    digests = [None if v is None else hashlib.sha256(v.encode()).hexdigest()
               for v in encoded.dictionary.to_pylist()]
    return pc.take(pa.array(digests, pa.string()), encoded.indices)


def apply_transform(kind: str, values: pa.Array, key: bytes,
                    cache: dict[str, str] | None = None) -> pa.Array:
    text = values.cast(pa.string())
    if kind == "pseudonymize":
        return pseudonymize_array(key, text, cache)
    if kind == "mask":
        return t.mask(text)
    if kind == "truncate_ip":
        return t.truncate_ip(text)
    if kind == "hash":
        return _sha256(text)
    if kind == "generalize_age":
        return pc.utf8_slice_codeunits(text, 0, 4)
    if kind == "generalize_gps":
        return t.generalize_gps(pc.cast(text, pa.float64(), safe=False)).cast(pa.string())
    return text
