"""Building text columns from numbers, vectorised with Arrow compute.

The generator makes millions of identifiers, phone numbers, money amounts and timestamps;
formatting them one Python string at a time would dominate the run time, so every helper
here turns a numpy array into an Arrow string array in a handful of C-level kernels.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

IntArray = npt.NDArray[np.int64]

_HEX = np.frombuffer(b"0123456789abcdef", dtype=np.uint8)
_ALNUM = np.frombuffer(b"abcdefghijklmnopqrstuvwxyz0123456789", dtype=np.uint8)


def digits(values: npt.ArrayLike, width: int) -> pa.Array:
    """Non-negative integers as zero-padded decimal strings of ``width`` characters."""
    arr = pa.array(np.asarray(values, dtype=np.int64), type=pa.int64())
    return pc.utf8_lpad(pc.cast(arr, pa.string()), width=width, padding="0")


def concat(*parts: pa.Array | str) -> pa.Array:
    """Element-wise concatenation of string arrays and scalar strings (nulls propagate)."""
    return pc.binary_join_element_wise(*parts, "")


def prefixed_ids(prefix: str, numbers: npt.ArrayLike, width: int) -> pa.Array:
    """Identifiers such as ``U0000042``: a fixed prefix and a zero-padded number."""
    return concat(prefix, digits(numbers, width))


def money(cents: npt.ArrayLike) -> pa.Array:
    """Integer cents as ``'123.45'`` strings, exact (no float formatting)."""
    c = np.asarray(cents, dtype=np.int64)
    return concat(digits(c // 100, 1), ".", digits(c % 100, 2))


def random_text(rng: np.random.Generator, n: int, length: int, alphabet: str = "alnum") -> pa.Array:
    """``n`` random strings of ``length`` characters from lower-case hex or alphanumerics."""
    table = _HEX if alphabet == "hex" else _ALNUM
    codes = np.ascontiguousarray(table[rng.integers(0, len(table), size=(n, length))])
    offsets = np.arange(0, n * length + 1, length, dtype=np.int32)
    return pa.StringArray.from_buffers(n, pa.py_buffer(offsets), pa.py_buffer(codes.tobytes()))


def pick(pool: Sequence[str], index: npt.ArrayLike) -> pa.Array:
    """Strings of ``pool`` at positions ``index`` (an Arrow take, no Python loop)."""
    return pc.take(pa.array(pool, type=pa.string()), pa.array(np.asarray(index, dtype=np.int64)))


def with_nulls(values: pa.Array, mask: npt.NDArray[np.bool_]) -> pa.Array:
    """``values`` with nulls (empty CSV cells) where ``mask`` is true."""
    return pc.if_else(pa.array(mask), pa.scalar(None, type=values.type), values)


def timestamps(seconds: npt.ArrayLike) -> pa.Array:
    """Seconds since 1970-01-01 of naive local time (Asia/Shanghai) as ``timestamp[s]``."""
    return pa.array(np.asarray(seconds, dtype=np.int64), type=pa.timestamp("s"))
