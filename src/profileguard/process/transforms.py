"""Column transforms for de-identification, each a pure function over an Arrow column.

mask (keep the first n and last m characters), truncate_ip (/24 for IPv4, /48 for IPv6),
generalize (age → band, date → month or year, GPS coordinate → grid cell, address → city,
number → range) and suppress. They work on whole columns with Arrow compute or numpy;
Python only runs once per *distinct* value where no vector kernel exists (IP parsing).
"""

from __future__ import annotations

import ipaddress
import itertools
import math
import socket
from collections.abc import Sequence
from typing import Literal

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from profileguard.errors import ProfileguardError

#: keep-first / keep-last presets: 138****5678, 110***********1234, 622202******1234
MASK_PRESETS: dict[str, tuple[int, int]] = {
    "phone": (3, 4),
    "id_number": (3, 4),
    "bank_card": (6, 4),
    "name": (1, 0),
    "email": (1, 0),
}
DEFAULT_AGE_EDGES: tuple[int, ...] = (0, 18, 25, 35, 45, 55, 65)
#: a 0.1° grid cell is about 11 km north–south: roughly a city district
CITY_CELL_DEGREES = 0.1


def _flat(column: pa.Array | pa.ChunkedArray) -> pa.Array:
    return column.combine_chunks() if isinstance(column, pa.ChunkedArray) else column


def _as_string(column: pa.Array | pa.ChunkedArray) -> pa.Array:
    arr = _flat(column)
    if pa.types.is_string(arr.type) or pa.types.is_large_string(arr.type):
        return arr
    return pc.cast(arr, pa.string())


def mask(
    column: pa.Array | pa.ChunkedArray, keep_first: int = 3, keep_last: int = 4, char: str = "*"
) -> pa.Array:
    """Replace the middle of each value with ``char``: ``13812345678`` → ``138****5678``.

    A value too short to keep both ends is masked entirely, so nothing short leaks.
    """
    if keep_first < 0 or keep_last < 0 or len(char) != 1:
        raise ProfileguardError("mask: keep_first/keep_last must be ≥ 0 and char one character")
    arr = _as_string(column)
    length = pc.utf8_length(arr)
    hidden = pc.subtract(length, keep_first + keep_last)
    short = pc.less_equal(hidden, 0)
    head = pc.utf8_slice_codeunits(arr, 0, keep_first)
    tail = (
        pc.utf8_slice_codeunits(arr, -keep_last, None)
        if keep_last
        else pc.utf8_slice_codeunits(arr, 0, 0)
    )
    stars = pc.binary_repeat(pa.scalar(char), pc.max_element_wise(hidden, 0))
    middle = pc.binary_join_element_wise(head, pc.cast(stars, pa.string()), tail, "")
    full = pc.cast(pc.binary_repeat(pa.scalar(char), length), pa.string())
    return pc.if_else(short, full, middle)


_OCTET = r"(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])"
_IPV4 = rf"^\s*{_OCTET}\.{_OCTET}\.{_OCTET}\.{_OCTET}\s*$"


#: up to this IPv6 prefix the last three groups are zero, so the C library's text form of the
#: network (``inet_ntop``: longest zero run compressed, first of equals, never one group, no
#: embedded IPv4 form) is exactly :mod:`ipaddress`'s
_V6_NTOP_MAX_PREFIX = 80


def _truncate_v6(text: str, prefix: int) -> str | None:
    """The /``prefix`` network of an IPv6 address by ``inet_pton``/``inet_ntop`` (C, ~20×
    faster than :mod:`ipaddress`); None when that cannot tell, so the caller asks ipaddress."""
    try:
        packed = socket.inet_pton(socket.AF_INET6, text)
    except (OSError, ValueError):  # not plain IPv6 text (e.g. a scope id): ipaddress decides
        return None
    bits = int.from_bytes(packed, "big") >> (128 - prefix) << (128 - prefix)
    return f"{socket.inet_ntop(socket.AF_INET6, bits.to_bytes(16, 'big'))}/{prefix}"


def _truncate_one(text: str, v4_prefix: int, v6_prefix: int) -> str | None:
    stripped = text.strip()
    if ":" in stripped and v6_prefix <= _V6_NTOP_MAX_PREFIX and (
            fast := _truncate_v6(stripped, v6_prefix)) is not None:
        return fast
    try:
        addr = ipaddress.ip_address(stripped)
    except ValueError:
        return None
    prefix = v4_prefix if addr.version == 4 else v6_prefix
    net = ipaddress.ip_network(f"{addr}/{prefix}", strict=False)
    return str(net)


def truncate_ip(
    column: pa.Array | pa.ChunkedArray, v4_prefix: int = 24, v6_prefix: int = 48
) -> pa.Array:
    """Keep the network part: ``192.168.1.77`` → ``192.168.1.0/24``, IPv6 → ``/48``.

    Values that are not IP addresses become null rather than pass through unmasked.
    """
    if not (0 <= v4_prefix <= 32 and 0 <= v6_prefix <= 128):
        raise ProfileguardError("truncate_ip: v4_prefix must be 0–32 and v6_prefix 0–128")
    text = _as_string(column)
    if v4_prefix == 24:
        # the common case, vectorized: a.b.c.d → a.b.c.0/24 for valid IPv4 text
        v4 = pc.match_substring_regex(text, _IPV4)
        fast = pc.replace_substring_regex(text, _IPV4, r"\1.\2.\3.0/24")
        rest = pc.if_else(pc.fill_null(v4, False), pa.scalar(None, pa.string()), text)
        encoded = pc.dictionary_encode(rest)
        slow = pa.array([_truncate_one(v, v4_prefix, v6_prefix) if v is not None else None
                         for v in encoded.dictionary.to_pylist()], type=pa.string())
        return pc.if_else(pc.fill_null(v4, False), fast, slow.take(encoded.indices))
    encoded = pc.dictionary_encode(text)
    dictionary = [_truncate_one(v, v4_prefix, v6_prefix) for v in encoded.dictionary.to_pylist()]
    return pa.array(dictionary, type=pa.string()).take(encoded.indices)

def _numbers(column: pa.Array | pa.ChunkedArray) -> np.ndarray:
    arr = _flat(column)
    if not (pa.types.is_integer(arr.type) or pa.types.is_floating(arr.type)):
        try:
            arr = pc.cast(arr, pa.float64())
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as exc:
            raise ProfileguardError(f"generalize: column is not numeric ({arr.type})") from exc
    values: np.ndarray = pc.cast(arr, pa.float64()).to_numpy(zero_copy_only=False)
    return values


def _fmt(x: float) -> str:
    return str(int(x)) if float(x).is_integer() else f"{x:g}"


def generalize_age(
    column: pa.Array | pa.ChunkedArray, edges: Sequence[float] = DEFAULT_AGE_EDGES
) -> pa.Array:
    """Age → band: with edges 18, 25, … the age 30 becomes ``25-34`` and 70 ``65+``."""
    return generalize_number(column, edges=edges, integer_bands=True)


def generalize_number(
    column: pa.Array | pa.ChunkedArray,
    width: float | None = None,
    edges: Sequence[float] | None = None,
    integer_bands: bool = False,
) -> pa.Array:
    """Number → range, by a fixed ``width`` (``[1000, 2000)``) or by sorted ``edges``."""
    values = _numbers(column)
    nulls = np.isnan(values)
    labels: list[str | None]
    if width is not None:
        if width <= 0:
            raise ProfileguardError("generalize number: width must be > 0")
        low = np.floor(np.where(nulls, 0.0, values) / width) * width
        labels = [
            None if n else f"[{_fmt(lo)}, {_fmt(lo + width)})"
            for lo, n in zip(low, nulls, strict=True)
        ]
        return pa.array(labels, type=pa.string())
    if not edges or list(edges) != sorted(edges):
        raise ProfileguardError("generalize: edges must be a non-empty increasing list")
    edge = np.asarray(edges, dtype=float)
    names: list[str] = [f"<{_fmt(edge[0])}"]
    for lo, hi in itertools.pairwise(edge):
        if integer_bands and lo.is_integer() and hi.is_integer():
            names.append(f"{int(lo)}-{int(hi) - 1}")
        else:
            names.append(f"[{_fmt(lo)}, {_fmt(hi)})")
    names.append(f"{_fmt(edge[-1])}+")
    bucket = np.searchsorted(edge, np.where(nulls, 0.0, values), side="right")
    table = pa.array(names, type=pa.string())
    return table.take(pa.array(bucket, mask=nulls))


def generalize_date(
    column: pa.Array | pa.ChunkedArray, to: Literal["month", "year"] = "month"
) -> pa.Array:
    """Date or timestamp → ``2024-05`` (month) or ``2024`` (year)."""
    arr = _flat(column)
    if pa.types.is_string(arr.type) or pa.types.is_large_string(arr.type):
        try:
            arr = pc.cast(pc.utf8_slice_codeunits(arr, 0, 10), pa.date32())
        except pa.ArrowInvalid as exc:
            raise ProfileguardError(f"generalize date: not an ISO date: {exc}") from exc
    if not (pa.types.is_date(arr.type) or pa.types.is_timestamp(arr.type)):
        raise ProfileguardError(f"generalize date: column is {arr.type}, not a date")
    fmt = "%Y-%m" if to == "month" else "%Y"
    if to not in ("month", "year"):
        raise ProfileguardError("generalize date: 'to' must be month or year")
    if pa.types.is_date(arr.type):
        arr = pc.cast(arr, pa.timestamp("s"))
    result: pa.Array = pc.strftime(arr, format=fmt)
    return result


def generalize_gps(column: pa.Array | pa.ChunkedArray, cell: float = CITY_CELL_DEGREES) -> pa.Array:
    """Coordinate → grid cell of ``cell`` degrees (south-west corner).

    Works on one numeric coordinate column (latitude or longitude; flooring each axis is
    the grid cell) or on a ``"lat,lon"`` text column. No reverse geocoding: there is no
    offline map of city borders, so "city" means a 0.1° cell.
    """
    if cell <= 0:
        raise ProfileguardError("generalize gps: cell must be > 0 degrees")
    arr = _flat(column)
    decimals = max(0, -math.floor(math.log10(cell))) if cell < 1 else 0
    if pa.types.is_string(arr.type) or pa.types.is_large_string(arr.type):
        parts = pc.split_pattern(arr, ",")
        lat = pc.cast(pc.utf8_trim_whitespace(pc.list_element(parts, 0)), pa.float64())
        lon = pc.cast(pc.utf8_trim_whitespace(pc.list_element(parts, 1)), pa.float64())
        lat_cell = _grid(lat.to_numpy(zero_copy_only=False), cell, decimals)
        lon_cell = _grid(lon.to_numpy(zero_copy_only=False), cell, decimals)
        out: pa.Array = pc.binary_join_element_wise(lat_cell, lon_cell, ",")
        return out
    return _grid(_numbers(arr), cell, decimals)


def _grid(values: np.ndarray, cell: float, decimals: int) -> pa.Array:
    nulls = np.isnan(values)
    floored = np.floor(np.where(nulls, 0.0, values) / cell + 1e-9) * cell
    return pa.array(
        [None if n else f"{v:.{decimals}f}" for v, n in zip(floored, nulls, strict=True)],
        type=pa.string(),
    )


def generalize_address(column: pa.Array | pa.ChunkedArray) -> pa.Array:
    """Address → city: the text up to and including the first 市 (``广东省深圳市``).

    Without a 市, the province (up to 省 or 自治区) is kept; otherwise null.
    """
    arr = _as_string(column)
    city = pc.extract_regex(arr, r"^(?P<c>[^市]*?市)")
    province = pc.extract_regex(arr, r"^(?P<c>.*?(?:省|自治区))")
    city_v = pc.struct_field(city, [0])
    prov_v = pc.struct_field(province, [0])
    result: pa.Array = pc.coalesce(city_v, prov_v)
    return result


def suppress(column: pa.Array | pa.ChunkedArray, replacement: str | None = None) -> pa.Array:
    """Replace every value with null (default) or a fixed string such as ``*``."""
    arr = _flat(column)
    if replacement is None:
        return pa.nulls(len(arr), type=arr.type)
    return pa.array([replacement] * len(arr), type=pa.string())
