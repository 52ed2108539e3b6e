"""The pseudonymization key and keyed pseudonyms (HMAC-SHA256).

The key lives outside the data: in ``PROFILEGUARD_PSEUDONYM_KEY`` (hex) or in a key file
that is never inside the warehouse or the operational database (by default
``<workspace>/.profileguard-secrets/pseudonym.key``, created with mode 0600). Without the
key a pseudonym cannot be recomputed from a raw id, so the warehouse alone does not
re-identify anyone (PIPL 73: de-identified, not anonymous).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import secrets
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from profileguard.errors import ProfileguardError

KEY_ENV = "PROFILEGUARD_PSEUDONYM_KEY"
PID_PREFIX = "p_"


def load_or_create_key(key_file: Path, *, create: bool = True) -> bytes:
    env = os.environ.get(KEY_ENV)
    if env:
        try:
            return bytes.fromhex(env.strip())
        except ValueError:
            raise ProfileguardError(f"{KEY_ENV} must be hex (e.g. 64 hex digits)") from None
    if key_file.is_file():
        text = key_file.read_text().strip()
        try:
            return bytes.fromhex(text)
        except ValueError:
            raise ProfileguardError(f"{key_file}:1: the key file must hold hex digits") from None
    if not create:
        raise ProfileguardError(
            f"no pseudonymization key: set {KEY_ENV} or create {key_file}")
    key_file.parent.mkdir(parents=True, exist_ok=True)
    key = secrets.token_bytes(32)
    fd = os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(key.hex() + "\n")
    return key


PID_LENGTH = len(PID_PREFIX) + 26


def pseudonym(key: bytes, value: str) -> str:
    """Deterministic pseudonym of ``value`` under ``key``: ``p_`` + base32 of 128 HMAC bits."""
    digest = hmac.digest(key, value.encode("utf-8"), "sha256")[:16]
    return PID_PREFIX + base64.b32encode(digest).decode("ascii").rstrip("=").lower()


def is_pseudonym(value: str) -> bool:
    return value.startswith(PID_PREFIX) and len(value) == PID_LENGTH


_B32 = np.frombuffer(b"abcdefghijklmnopqrstuvwxyz234567", dtype=np.uint8)
_B32_CHARS = 26  # 128 bits in 5-bit groups (the last one padded with two zero bits)
_PID_BYTES = np.frombuffer(PID_PREFIX.encode("ascii"), dtype=np.uint8)
#: the two base32 characters of every 10-bit number, as one uint16 (native byte order)
_B32_PAIRS = np.stack([_B32[np.arange(1024) >> 5], _B32[np.arange(1024) & 31]],
                      axis=1).copy().view(np.uint16).ravel()


def _digests(key: bytes, values: list[str]) -> np.ndarray:
    """The first 16 bytes of HMAC-SHA256 (RFC 2104) of each value, as :func:`hmac.digest`,
    one row of a ``(len(values), 16)`` array per value.

    The keyed inner and outer SHA-256 states are computed once and copied per value, which
    costs about half of a one-shot ``hmac.digest`` per value; the loop does nothing else
    (whole digests are joined and cut to 16 bytes by numpy afterwards).
    """
    block = key if len(key) <= 64 else hashlib.sha256(key).digest()
    block = block.ljust(64, b"\0")
    inner = hashlib.sha256(bytes(b ^ 0x36 for b in block)).copy
    outer = hashlib.sha256(bytes(b ^ 0x5C for b in block)).copy
    out: list[bytes] = []
    append = out.append
    for v in values:
        i = inner()
        i.update(v.encode("utf-8"))
        o = outer()
        o.update(i.digest())
        append(o.digest())
    full = np.frombuffer(b"".join(out), dtype=np.uint8).reshape(len(values), 32)
    return full[:, :16]


def _pid_bytes(key: bytes, values: list[str]) -> np.ndarray:
    """The pseudonyms of ``values`` as a ``(len(values), PID_LENGTH)`` array of ASCII bytes.

    The 128 bits of each digest, padded with two zero bits as base32 pads them, are cut
    into 13 groups of 10 bits, each looked up as its two base32 characters (vectorized
    over all values, one group at a time), so each row spells :func:`pseudonym` of its
    value.
    """
    n = len(values)
    words = np.ascontiguousarray(_digests(key, values)).view(">u8").astype(np.uint64)
    hi, lo = words[:, 0], words[:, 1]  # bits 0-63 and 64-127 of the digest
    pairs = np.empty((n, _B32_CHARS // 2), dtype=np.uint16)
    ten = np.uint64(1023)
    for j in range(_B32_CHARS // 2):
        first = 10 * j  # the group's first bit
        if first + 10 <= 64:
            group = (hi >> np.uint64(54 - first)) & ten
        elif first >= 64:  # in ``lo`` followed by the two padding bits
            shift = 118 - first
            group = ((lo >> np.uint64(shift)) if shift >= 0 else (lo << np.uint64(-shift))) & ten
        else:  # the last bits of ``hi`` and the first of ``lo``
            high = 64 - first
            group = (((hi & np.uint64((1 << high) - 1)) << np.uint64(10 - high))
                     | (lo >> np.uint64(54 + high)))
        pairs[:, j] = _B32_PAIRS[group]
    out = np.empty((n, PID_LENGTH), dtype=np.uint8)
    out[:, :len(PID_PREFIX)] = _PID_BYTES
    out[:, len(PID_PREFIX):] = pairs.view(np.uint8).reshape(n, _B32_CHARS)
    return out


def _pseudonyms(key: bytes, values: list[str]) -> list[str]:
    """Many pseudonyms at once, equal to :func:`pseudonym` value by value."""
    text = _pid_bytes(key, values).tobytes().decode("ascii")
    return [text[i:i + PID_LENGTH] for i in range(0, len(text), PID_LENGTH)]


def _pid_array(key: bytes, values: list[str]) -> pa.Array:
    """:func:`_pseudonyms` as an Arrow string array, built from the bytes without making a
    Python string per value (every pseudonym has the same length)."""
    offsets = np.arange(0, (len(values) + 1) * PID_LENGTH, PID_LENGTH, dtype=np.int32)
    return pa.StringArray.from_buffers(len(values), pa.py_buffer(offsets.tobytes()),
                                       pa.py_buffer(_pid_bytes(key, values).tobytes()))


def pseudonymize_array(key: bytes, values: pa.Array | pa.ChunkedArray,
                       cache: dict[str, str] | None = None) -> pa.Array:
    """Pseudonymize a string column; HMAC is computed once per distinct value (and, with a
    ``cache`` shared across batches, once per value per run)."""
    arr = values.combine_chunks() if isinstance(values, pa.ChunkedArray) else values
    arr = arr.cast(pa.string())
    encoded = pc.dictionary_encode(arr)  # nulls stay in the indices, not in the dictionary
    uniques: list[str] = encoded.dictionary.to_pylist()
    if cache is None:
        return _pid_array(key, uniques).take(encoded.indices)
    todo = [u for u in uniques if u not in cache]
    cache.update(zip(todo, _pseudonyms(key, todo), strict=True))
    return pa.array([cache[u] for u in uniques], pa.string()).take(encoded.indices)
