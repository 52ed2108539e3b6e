"""Ingest-time transforms declared per field (``transform:``), applied before anything is stored.

``pseudonymize`` keyed HMAC (the person's id column is always pseudonymized);
``mask`` keep the first 3 and last 4 characters (138****5678); ``truncate_ip`` /24 or /48;
``generalize_gps`` two decimals (about 1 km); ``generalize_age`` a date of birth to its year;
``hash`` unkeyed SHA-256 (linkable across datasets — prefer pseudonymize); ``drop`` not stored.
"""

from __future__ import annotations

import hashlib
import ipaddress

import pyarrow as pa
import pyarrow.compute as pc

from profileguard.store.keys import pseudonymize_array


def _map_unique(values: pa.Array, fn: object) -> pa.Array:
    encoded = pc.dictionary_encode(values.cast(pa.string()))
    f = fn  # callable str -> str | None
    mapped = pa.array([None if u is None else f(u) for u in encoded.dictionary.to_pylist()],  # type: ignore[operator]
                      pa.string())
    return pc.take(mapped, encoded.indices)


def mask_text(value: str) -> str:
    n = len(value)
    if n >= 11:
        return value[:3] + "*" * (n - 7) + value[-4:]
    if n >= 4:
        return value[0] + "*" * (n - 2) + value[-1]
    return "*" * n


def truncate_ip(value: str) -> str | None:
    try:
        ip = ipaddress.ip_address(value.strip().split("%")[0])
    except ValueError:
        return None
    prefix = 24 if ip.version == 4 else 48
    return str(ipaddress.ip_network(f"{ip}/{prefix}", strict=False).network_address)


def apply_transform(kind: str, values: pa.Array, key: bytes) -> pa.Array:
    if kind == "pseudonymize":
        return pseudonymize_array(key, values)
    text = values.cast(pa.string())
    if kind == "mask":
        return _map_unique(text, mask_text)
    if kind == "truncate_ip":
        return _map_unique(text, truncate_ip)
    if kind == "hash":
        return _map_unique(text, lambda v: hashlib.sha256(v.encode()).hexdigest())
    if kind == "generalize_age":
        return pc.utf8_slice_codeunits(text, 0, 4)
    if kind == "generalize_gps":
        num = pc.cast(text, pa.float64(), safe=False) if pa.types.is_string(text.type) else text
        return pc.round(num, 2).cast(pa.string())
    return values
