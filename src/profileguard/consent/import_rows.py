"""The rows of one consent-import batch: checked and converted column by column, and the
canonical JSON their ledger digest is taken over.

Each column is converted as a whole. A column of the type it should have (booleans,
integers, timestamps, text ids) is cast by Arrow; any other column is converted once per
distinct value by the same rules a single value follows (a status column holds three
values, not twenty thousand), so ``"yes"``, ``1`` and ``True`` mean the same in a CSV
read as text as in a typed Parquet file. A value that breaks a rule is reported at the
first row holding it, and of several broken rules the earliest row wins (then the column
order of :data:`LOG_COLUMNS`) — the row a row-by-row check would have stopped at.

:func:`canonical_json` builds ``canonical_json([row, …])`` of
:mod:`profileguard.store.ledger` for the whole batch out of per-column JSON fragments
(strings through :func:`json.dumps` once per distinct value), byte for byte what the
row-by-row encoding gives, without a Python object per row.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from profileguard.consent.decisions import CONSENT_TYPES, STATUSES
from profileguard.errors import ProfileguardError
from profileguard.store.operational import as_utc

_TRUE = {"true", "1", "yes", "y", "t"}
_FALSE = {"false", "0", "no", "n", "f", ""}
UTC_US = pa.timestamp("us", tz="UTC")

#: the log columns an import writes (besides ``recorded_at``), in the order they are
#: checked, with their Arrow types
LOG_COLUMNS: dict[str, pa.DataType] = {
    "user_pid": pa.string(),
    "status": pa.string(),
    "consent_type": pa.string(),
    "purpose": pa.string(),
    "recipient": pa.string(),
    "notice_version": pa.string(),
    "surface": pa.string(),
    "pre_ticked": pa.bool_(),
    "bundled": pa.bool_(),
    "clicks_to_give": pa.int64(),
    "clicks_to_withdraw": pa.int64(),
    "given_at": UTC_US,
    "source": pa.string(),
}


class _Invalid(ValueError):
    """A value a column does not allow; the message says why (the row is added later)."""


def _text(value: Any) -> str | None:
    return None if value is None or value == "" else str(value)


def _status(value: Any) -> str:
    status = str(value or "").strip()
    if status not in STATUSES:
        raise _Invalid(f"{status!r} is not allowed; use one of {', '.join(STATUSES)}")
    return status


def _consent_type(value: Any) -> str:
    consent_type = str(value or "general").strip()
    if consent_type not in CONSENT_TYPES:
        raise _Invalid(f"{consent_type!r} is not allowed; use one of "
                       f"{', '.join(CONSENT_TYPES)}")
    return consent_type


def _purpose(value: Any) -> str:
    purpose = _text(value)
    if purpose is None:
        raise _Invalid("empty; every consent is for a purpose")
    return purpose


def _user(value: Any) -> str:
    if value is None:
        raise _Invalid("empty; every consent is someone's")
    return str(value)


def _bool(value: Any) -> bool:
    if value is None:
        return False
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise _Invalid(f"{value!r} is not a boolean (allowed: true/false, 1/0, yes/no)")


def _int(value: Any) -> int | None:
    if value is None or value == "":
        return None
    try:
        return int(value)
    except (TypeError, ValueError):
        raise _Invalid(f"{value!r} is not a whole number") from None


def _ts(value: Any) -> dt.datetime:
    if isinstance(value, dt.datetime):
        return as_utc(value)
    if isinstance(value, dt.date):
        return dt.datetime(value.year, value.month, value.day, tzinfo=dt.UTC)
    try:
        return as_utc(dt.datetime.fromisoformat(str(value)))
    except ValueError:
        raise _Invalid(f"{value!r} is not an ISO 8601 timestamp "
                       "(e.g. 2025-03-01T09:30:00Z)") from None


#: a conversion's first broken rule: (0-based row, column, why)
Failure = tuple[int, str, str]


def _distinct(arr: pa.Array) -> tuple[list[Any], pa.Array]:
    """The distinct values of ``arr`` and, per row, the position of its value among them
    (null for a null)."""
    if not pa.types.is_dictionary(arr.type):
        arr = pc.dictionary_encode(arr)
    assert isinstance(arr, pa.DictionaryArray)
    return arr.dictionary.to_pylist(), arr.indices


def _per_value(arr: pa.Array, column: str, convert: Callable[[Any], Any],
               out: pa.DataType) -> tuple[pa.Array, Failure | None]:
    """``convert`` applied once per distinct value of ``arr`` (and once to null)."""
    values, positions = _distinct(arr)
    converted: list[Any] = []
    failures: list[Failure] = []
    for i, value in enumerate(values):
        try:
            converted.append(convert(value))
        except _Invalid as bad:
            converted.append(None)
            row = pc.index(positions, i).as_py()
            if row >= 0:  # -1: a dictionary column's unused entry
                failures.append((row, column, str(bad)))
    result = pa.array(converted, out).take(positions)
    if positions.null_count:
        try:
            if_null = convert(None)
        except _Invalid as bad:
            failures.append((pc.index(positions.is_null(), True).as_py(), column, str(bad)))
        else:
            if if_null is not None:
                result = result.fill_null(pa.scalar(if_null, out))
    return result, min(failures, default=None)


def _first_null(arr: pa.Array, column: str, convert: Callable[[Any], Any]
                ) -> Failure | None:
    """Where a cast column breaks its rule: at its first null, if ``convert(None)`` fails."""
    if not arr.null_count:
        return None
    try:
        convert(None)
    except _Invalid as bad:
        return pc.index(arr.is_null(), True).as_py(), column, str(bad)
    return None


def _cast(arr: pa.Array, column: str, convert: Callable[[Any], Any],
          out: pa.DataType) -> tuple[pa.Array, Failure | None] | None:
    """The column cast by Arrow when its type already means what ``convert`` does, else
    None."""
    kind = arr.type
    if out == pa.bool_() and pa.types.is_boolean(kind):
        return arr.fill_null(False), None
    if out == pa.int64() and pa.types.is_integer(kind):
        try:
            return arr.cast(out), None
        except pa.ArrowInvalid:  # an unsigned value beyond int64: the general path says so
            return None
    if out == UTC_US and (pa.types.is_timestamp(kind) or pa.types.is_date(kind)):
        return arr.cast(out, safe=False), _first_null(arr, column, convert)
    if convert is _user and (pa.types.is_string(kind) or pa.types.is_large_string(kind)):
        return arr.cast(out), _first_null(arr, column, convert)
    return None


def _convert_column(arr: pa.Array, column: str, convert: Callable[[Any], Any],
                   out: pa.DataType) -> tuple[pa.Array, Failure | None]:
    """``arr`` converted to ``out`` by the rule ``convert`` and its first broken rule."""
    cast = _cast(arr, column, convert, out)
    return cast if cast is not None else _per_value(arr, column, convert, out)


def _column(chunk: pa.Table, name: str) -> pa.Array:
    """One column of ``chunk`` as a single array (all nulls when it is missing)."""
    if name not in chunk.column_names:
        return pa.nulls(chunk.num_rows)
    col = chunk.column(name)
    return col.combine_chunks() if col.num_chunks != 1 else col.chunk(0)


def log_rows(chunk: pa.Table, id_column: str, first_row: int, source: str
             ) -> tuple[pa.Table, pa.Array]:
    """``chunk`` as log rows (:data:`LOG_COLUMNS`, ``user_pid`` still the raw id when
    ``id_column`` is ``user_id``) and its id column as text; raises for the first row that
    breaks a rule (``first_row`` is the number of the chunk's first row)."""

    def source_or_default(value: Any) -> str:
        return _text(value) or source

    rules: dict[str, tuple[str, Callable[[Any], Any]]] = {
        "user_pid": (id_column, _user),
        "status": ("status", _status),
        "consent_type": ("consent_type", _consent_type),
        "purpose": ("purpose", _purpose),
        "recipient": ("recipient", lambda v: _text(v) or ""),
        "notice_version": ("notice_version", _text),
        "surface": ("surface", _text),
        "pre_ticked": ("pre_ticked", _bool),
        "bundled": ("bundled", _bool),
        "clicks_to_give": ("clicks_to_give", _int),
        "clicks_to_withdraw": ("clicks_to_withdraw", _int),
        "given_at": ("ts", _ts),
        "source": ("source", source_or_default),
    }
    arrays: list[pa.Array] = []
    failures: list[tuple[int, int, str, str]] = []
    for order, (name, (column, convert)) in enumerate(rules.items()):
        arr, failure = _convert_column(_column(chunk, column), column, convert,
                                      LOG_COLUMNS[name])
        arrays.append(arr)
        if failure is not None:
            failures.append((failure[0], order, failure[1], failure[2]))
    if failures:
        row, _, column, why = min(failures)
        raise ProfileguardError(f"row {first_row + row}, column {column}: {why}")
    return pa.Table.from_arrays(arrays, names=list(rules)), arrays[0]


def _json_strings(arr: pa.Array) -> pa.Array:
    """Each string as a JSON string literal (``json.dumps``, non-ASCII kept), null as
    ``null``."""
    values, positions = _distinct(arr)
    literals = [json.dumps(v, ensure_ascii=False) for v in values]
    return pa.array(literals, pa.string()).take(positions).fill_null("null")


def utc_text(arr: pa.Array) -> pa.Array:
    """UTC times as text, ``2025-03-01 09:30:00.000000`` (what SQLAlchemy stores on SQLite)."""
    return arr.cast(pa.timestamp("us")).cast(pa.string())


def _json_times(arr: pa.Array) -> pa.Array:
    """Each UTC time as the JSON string of :meth:`datetime.isoformat`
    (``"2025-03-01T09:30:00+00:00"``, microseconds only when there are any)."""
    text = pc.replace_substring(utc_text(arr), pattern=" ", replacement="T",
                                max_replacements=1)
    text = pc.replace_substring(text, pattern=".000000", replacement="")
    return pc.binary_join_element_wise('"', text, '+00:00"', "")


def _json_values(arr: pa.Array) -> pa.Array:
    kind = arr.type
    if pa.types.is_boolean(kind):
        return pc.if_else(arr, "true", "false")
    if pa.types.is_integer(kind):
        return arr.cast(pa.string()).fill_null("null")
    if pa.types.is_timestamp(kind):
        return _json_times(arr)
    return _json_strings(arr)


def canonical_json(rows: pa.Table) -> pa.Buffer:
    """The UTF-8 bytes of ``canonical_json(rows.to_pylist())`` with times as ISO 8601
    text: a JSON array of one object per row, keys sorted, no whitespace."""
    parts: list[Any] = []
    for i, name in enumerate(sorted(rows.column_names)):
        parts.append(("{" if i == 0 else ",") + json.dumps(name) + ":")
        parts.append(_json_values(rows.column(name).combine_chunks()))
    objects = pc.binary_join_element_wise(*parts, "}", "").cast(pa.large_string())
    whole = pa.LargeListArray.from_arrays(pa.array([0, len(objects)], pa.int64()), objects)
    big = [pa.scalar(c, pa.large_string()) for c in ("[", ",", "]", "")]
    text = pc.binary_join_element_wise(big[0], pc.binary_join(whole, big[1]), *big[2:])
    return text[0].as_buffer()
