"""Loading and validating quotes, users and items: clear errors naming file, line and column."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from profileguard.audit.fairness.quotes import load_quote_data
from profileguard.errors import ProfileguardError

QUOTES = "user_id,item_id,ts,price,coupon,member_price\n" \
    "u1,i1,2026-11-01T08:10:00Z,100.0,0,0\n" \
    "u2,i1,2026-11-01T08:20:00Z,103.5,5,yes\n"
USERS = "user_id,loyalty_tier,city_tier\nu1,gold,1\nu2,bronze,\n"
ITEMS = "item_id,category\ni1,phones\n"


def _write(tmp_path: Path, quotes: str = QUOTES, users: str = USERS) -> tuple[Path, Path, Path]:
    q, u, i = tmp_path / "q.csv", tmp_path / "u.csv", tmp_path / "i.csv"
    q.write_text(quotes)
    u.write_text(users)
    i.write_text(ITEMS)
    return q, u, i


def test_valid_files_are_joined_with_normalized_types(tmp_path: Path) -> None:
    data = load_quote_data(*_write(tmp_path))
    frame = data.frame
    assert list(frame["category"]) == ["phones", "phones"]
    assert list(frame["member_price"]) == [0.0, 1.0]
    assert str(frame["ts"].dt.tz) == "UTC"
    assert data.user_attributes == ("loyalty_tier", "city_tier")


def test_bad_price_names_file_line_and_column(tmp_path: Path) -> None:
    bad = QUOTES.replace("103.5", "abc")
    with pytest.raises(ProfileguardError, match=r"q\.csv:3 \(data row 2\), column 'price'.*not a number"):
        load_quote_data(*_write(tmp_path, quotes=bad))


def test_non_positive_price_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ProfileguardError, match=r"column 'price'.*greater than 0"):
        load_quote_data(*_write(tmp_path, quotes=QUOTES.replace("100.0", "0")))


def test_unparseable_timestamp_says_what_is_allowed(tmp_path: Path) -> None:
    with pytest.raises(ProfileguardError, match=r"q\.csv:2.*'ts'.*ISO 8601"):
        load_quote_data(*_write(tmp_path, quotes=QUOTES.replace("2026-11-01T08:10:00Z", "yesterday")))


def test_missing_required_column_lists_what_was_found(tmp_path: Path) -> None:
    with pytest.raises(ProfileguardError, match=r"missing column\(s\) price"):
        load_quote_data(*_write(tmp_path, quotes=QUOTES.replace(",price,", ",amount,")))


def test_quote_for_unknown_user_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(ProfileguardError, match=r"user_id 'u2' is not in .*u\.csv"):
        load_quote_data(*_write(tmp_path, users="user_id,loyalty_tier\nu1,gold\n"))


def test_duplicate_user_row_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(ProfileguardError, match=r"u\.csv:3 .*appears twice"):
        load_quote_data(*_write(tmp_path, users="user_id,loyalty_tier\nu1,gold\nu1,silver\n"))


def test_bad_member_price_flag_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ProfileguardError, match=r"'member_price'.*not a flag"):
        load_quote_data(*_write(tmp_path, quotes=QUOTES.replace(",yes\n", ",maybe\n")))


def test_parquet_quotes_are_read_and_numbered_by_row(tmp_path: Path) -> None:
    q, u, i = _write(tmp_path)
    frame = pd.read_csv(q, dtype={"user_id": str, "item_id": str})
    frame.loc[1, "price"] = -1.0
    pq = tmp_path / "q.parquet"
    frame.to_parquet(pq)
    with pytest.raises(ProfileguardError, match=r"q\.parquet row 2, column 'price'"):
        load_quote_data(pq, u, i)


def test_unsupported_format_and_missing_file_are_clear(tmp_path: Path) -> None:
    (tmp_path / "q.xlsx").write_text("x")
    with pytest.raises(ProfileguardError, match="unsupported format"):
        load_quote_data(tmp_path / "q.xlsx", tmp_path / "u.csv")
    with pytest.raises(ProfileguardError, match="not found"):
        load_quote_data(tmp_path / "nope.csv", tmp_path / "u.csv")
