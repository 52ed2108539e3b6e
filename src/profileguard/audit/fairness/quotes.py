"""Load and validate the price audit's inputs: quotes, user attributes, item attributes.

Quotes (CSV or Parquet): ``user_id``, ``item_id``, ``ts``, ``price`` and optionally
``coupon`` (amount off), ``member_price`` (flag), ``ab_bucket``, ``channel``,
``list_price``. Users (CSV/Parquet) are keyed by ``user_id``; every other column is an
attribute the audit may test (tenure band, loyalty tier, device OS, …). Items carry
``item_id`` and ``category``. Errors name the file, the line (CSV) or row (Parquet) and the
column, and say what is allowed, because a price audit on silently mangled data is worse
than none.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from profileguard.errors import ProfileguardError

REQUIRED_QUOTE_COLUMNS = ("user_id", "item_id", "ts", "price")
OPTIONAL_QUOTE_COLUMNS = ("coupon", "member_price", "ab_bucket", "channel", "list_price")
_TRUE = {"1", "true", "t", "yes", "y"}
_FALSE = {"0", "false", "f", "no", "n", ""}


@dataclass(frozen=True)
class Source:
    """Where a table came from, to point at a bad value."""

    label: str
    csv: bool = False

    def where(self, index: int, column: str) -> str:
        if self.csv:
            return f"{self.label}:{index + 2} (data row {index + 1}), column {column!r}"
        return f"{self.label} row {index + 1}, column {column!r}"


@dataclass(frozen=True)
class QuoteData:
    """Validated quotes joined with user and item attributes, ready for the estimator."""

    frame: pd.DataFrame
    #: columns that came from the users table (candidates for auditing)
    user_attributes: tuple[str, ...]
    sources: tuple[str, ...]

    @property
    def has_category(self) -> bool:
        return "category" in self.frame.columns


def read_table(path: Path, what: str) -> tuple[pd.DataFrame, Source]:
    """Read a CSV or Parquet file; id columns stay strings so leading zeros survive."""
    if not path.is_file():
        raise ProfileguardError(f"{what} file not found: {path} (expected a .csv or .parquet file)")
    name = path.name.lower()
    try:
        if name.endswith((".parquet", ".pq")):
            return pd.read_parquet(path), Source(str(path))
        if name.endswith((".csv", ".csv.gz", ".txt")):
            frame = pd.read_csv(path, dtype={"user_id": str, "item_id": str}, skipinitialspace=True)
            return frame, Source(str(path), csv=True)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError, OSError) as exc:
        raise ProfileguardError(f"{what} file {path} cannot be read: {exc}") from exc
    except (ValueError, TypeError) as exc:  # pyarrow errors on a corrupt Parquet footer
        raise ProfileguardError(f"{what} file {path} cannot be read: {exc}") from exc
    raise ProfileguardError(
        f"{what} file {path}: unsupported format; allowed: .csv, .csv.gz, .parquet"
    )


def _require_columns(frame: pd.DataFrame, columns: tuple[str, ...], source: Source) -> None:
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise ProfileguardError(
            f"{source.label}: missing column(s) {', '.join(missing)}; "
            f"required: {', '.join(columns)}; found: {', '.join(map(str, frame.columns))}"
        )


def _first_bad(mask: pd.Series | np.ndarray) -> int:
    return int(np.flatnonzero(np.asarray(mask))[0])


def _ids(frame: pd.DataFrame, column: str, source: Source) -> pd.Series:
    raw = frame[column]
    blank = raw.isna().to_numpy() | (raw.astype(str).str.strip() == "").to_numpy()
    if blank.any():
        i = _first_bad(blank)
        raise ProfileguardError(f"{source.where(i, column)}: empty {column}; every row needs one")
    return raw.astype(str).str.strip()


def _numeric(
    frame: pd.DataFrame, column: str, source: Source, *, positive: bool, allow_missing: bool
) -> pd.Series:
    raw = frame[column]
    values = pd.to_numeric(raw, errors="coerce").astype(np.float64)
    bad = values.isna().to_numpy() & raw.notna().to_numpy()
    if not allow_missing:
        bad |= raw.isna().to_numpy()
    if bad.any():
        i = _first_bad(bad)
        raise ProfileguardError(
            f"{source.where(i, column)}: {raw.iloc[i]!r} is not a number; allowed: a decimal "
            f"amount such as 129.90" + ("" if allow_missing else " (required)")
        )
    arr = values.to_numpy()
    out_of_range = (arr <= 0) if positive else (arr < 0)
    out_of_range &= ~np.isnan(arr)
    if out_of_range.any():
        i = _first_bad(out_of_range)
        allowed = "greater than 0" if positive else "0 or more"
        raise ProfileguardError(f"{source.where(i, column)}: {arr[i]} is out of range; allowed: {allowed}")
    return values


def _flag(frame: pd.DataFrame, column: str, source: Source) -> pd.Series:
    raw = frame[column]
    if raw.dtype == bool:
        return raw.astype(np.float64)
    text = raw.astype(str).str.strip().str.lower().where(raw.notna(), "")
    text = text.str.replace(r"\.0$", "", regex=True)
    ok = text.isin(_TRUE | _FALSE).to_numpy()
    if not ok.all():
        i = _first_bad(~ok)
        raise ProfileguardError(
            f"{source.where(i, column)}: {raw.iloc[i]!r} is not a flag; allowed: 1/0, true/false, yes/no"
        )
    return text.isin(_TRUE).astype(np.float64)


def _timestamps(frame: pd.DataFrame, source: Source) -> pd.Series:
    raw = frame["ts"]
    if pd.api.types.is_datetime64_any_dtype(raw):
        parsed = pd.to_datetime(raw, utc=True)
    elif pd.api.types.is_numeric_dtype(raw):
        seconds = raw.astype(np.float64)
        seconds = seconds.where(seconds < 1e11, seconds / 1000.0)  # milliseconds
        parsed = pd.to_datetime(seconds, unit="s", utc=True)
    else:
        parsed = pd.to_datetime(raw, utc=True, format="ISO8601", errors="coerce")
    bad = parsed.isna().to_numpy()
    if bad.any():
        i = _first_bad(bad)
        raise ProfileguardError(
            f"{source.where(i, 'ts')}: {raw.iloc[i]!r} is not a timestamp; allowed: ISO 8601 "
            "(2026-11-01T08:30:00+08:00) or Unix epoch seconds"
        )
    return parsed


def validate_quotes(frame: pd.DataFrame, source: Source) -> pd.DataFrame:
    """Check and normalize the quotes table; return a new frame."""
    _require_columns(frame, REQUIRED_QUOTE_COLUMNS, source)
    if frame.empty:
        raise ProfileguardError(f"{source.label}: no quotes (the file has a header but no rows)")
    out = frame.reset_index(drop=True).copy()
    src = frame.reset_index(drop=True)
    out["user_id"] = _ids(src, "user_id", source)
    out["item_id"] = _ids(src, "item_id", source)
    out["ts"] = _timestamps(src, source)
    out["price"] = _numeric(src, "price", source, positive=True, allow_missing=False)
    if "coupon" in out.columns:
        out["coupon"] = _numeric(src, "coupon", source, positive=False, allow_missing=True).fillna(0.0)
    if "list_price" in out.columns:
        out["list_price"] = _numeric(src, "list_price", source, positive=True, allow_missing=True)
    if "member_price" in out.columns:
        out["member_price"] = _flag(src, "member_price", source)
    for column in ("ab_bucket", "channel"):
        if column in out.columns:
            out[column] = src[column].astype(str).where(src[column].notna(), "(none)")
    return out


def _keyed(frame: pd.DataFrame, key: str, source: Source, what: str) -> pd.DataFrame:
    _require_columns(frame, (key,), source)
    out = frame.reset_index(drop=True).copy()
    out[key] = _ids(out, key, source)
    dup = out[key].duplicated().to_numpy()
    if dup.any():
        i = _first_bad(dup)
        raise ProfileguardError(
            f"{source.where(i, key)}: {key} {out[key].iloc[i]!r} appears twice; {what} needs one row per {key}"
        )
    return out


def validate_users(frame: pd.DataFrame, source: Source) -> pd.DataFrame:
    """One row per ``user_id``; attributes as given (blank = unknown, left out of that test)."""
    out = _keyed(frame, "user_id", source, "the users table")
    if len(out.columns) < 2:
        raise ProfileguardError(
            f"{source.label}: no attribute columns besides user_id; add e.g. tenure_band, loyalty_tier"
        )
    return out


def validate_items(frame: pd.DataFrame, source: Source) -> pd.DataFrame:
    """One row per ``item_id`` with a ``category``."""
    _require_columns(frame, ("item_id", "category"), source)
    out = _keyed(frame, "item_id", source, "the items table")[["item_id", "category"]]
    out["category"] = out["category"].astype(str).where(out["category"].notna(), "(uncategorized)")
    return out


def _check_join(quotes: pd.DataFrame, known: pd.Series, key: str, source: Source, other: str) -> None:
    missing = ~quotes[key].isin(known).to_numpy()
    if missing.any():
        i = _first_bad(missing)
        raise ProfileguardError(
            f"{source.where(i, key)}: {key} {quotes[key].iloc[i]!r} is not in {other} "
            f"({int(missing.sum())} quotes in all); every quote's {key} must be listed there"
        )


def assemble(
    quotes: pd.DataFrame,
    users: pd.DataFrame,
    items: pd.DataFrame | None = None,
    *,
    quotes_source: Source | None = None,
    users_source: Source | None = None,
    items_source: Source | None = None,
) -> QuoteData:
    """Validate three frames and join them into one :class:`QuoteData`."""
    qs = quotes_source or Source("<quotes>")
    us = users_source or Source("<users>")
    q = validate_quotes(quotes, qs)
    u = validate_users(users, us)
    clash = sorted((set(u.columns) & set(q.columns)) - {"user_id"})
    if clash:
        raise ProfileguardError(
            f"column(s) {', '.join(clash)} appear in both {qs.label} and {us.label}; "
            "keep each column in one table"
        )
    _check_join(q, u["user_id"], "user_id", qs, us.label)
    frame = q.merge(u, on="user_id", how="left", validate="many_to_one")
    if items is not None:
        its = items_source or Source("<items>")
        it = validate_items(items, its)
        if "category" in frame.columns:
            raise ProfileguardError(
                f"{qs.label} already has a category column; pass categories in one place only"
            )
        _check_join(q, it["item_id"], "item_id", qs, its.label)
        frame = frame.merge(it, on="item_id", how="left", validate="many_to_one")
    elif "category" in frame.columns:
        frame["category"] = frame["category"].astype(str).where(frame["category"].notna(), "(uncategorized)")
    sources = tuple(s.label for s in (qs, us, items_source) if s is not None)
    attributes = tuple(str(c) for c in u.columns if c != "user_id")
    return QuoteData(frame=frame, user_attributes=attributes, sources=sources)


def load_quote_data(quotes: Path, users: Path, items: Path | None = None) -> QuoteData:
    """Read and validate the files named on the command line."""
    qf, qs = read_table(quotes, "quotes")
    uf, us = read_table(users, "users")
    if items is not None:
        itf, its = read_table(items, "items")
        return assemble(qf, uf, itf, quotes_source=qs, users_source=us, items_source=its)
    return assemble(qf, uf, quotes_source=qs, users_source=us)
