"""The demo generator: deterministic, referentially sound, with exactly the planted dirt and effects."""

from __future__ import annotations

import json
import re
from datetime import date, datetime
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from profileguard.cli import app
from profileguard.demo import generate as generate_module
from profileguard.demo.clock import seconds
from profileguard.demo.generate import GenerateSummary, generate
from profileguard.demo.identity import id_is_valid
from profileguard.demo.orders import MEMBER_DISCOUNT, price_index
from profileguard.demo.pricing import (
    BUCKET_B_DISCOUNT,
    LOYAL_MIN_ORDERS,
    SURCHARGE,
    SURCHARGE_CATEGORIES,
)
from profileguard.errors import ProfileguardError

AS_OF = datetime(2026, 11, 1)
USERS = 600
MOBILE = re.compile(r"^1[3-9]\d{9}$")


def _csv(path: Path) -> pd.DataFrame:
    return pd.read_csv(path, dtype=str, keep_default_na=False)


@pytest.fixture(scope="module")
def shop(tmp_path_factory: pytest.TempPathFactory) -> GenerateSummary:
    out = tmp_path_factory.mktemp("shop")
    return generate(out, users=USERS, seed=11, formats=("csv", "parquet", "jsonl"), as_of=AS_OF)


def _read(shop: GenerateSummary, name: str) -> pd.DataFrame:
    path = shop.out_dir / name
    if name.endswith(".parquet"):
        return pq.read_table(path).to_pandas()
    return _csv(path)


def test_same_seed_gives_byte_identical_files_and_another_seed_differs(tmp_path: Path) -> None:
    runs = {}
    for label, seed in (("a", 5), ("b", 5), ("c", 6)):
        out = tmp_path / label
        generate(out, users=150, seed=seed, formats=("csv", "parquet", "jsonl"), as_of=AS_OF)
        runs[label] = {p.name: p.read_bytes() for p in sorted(out.iterdir())}
    assert runs["a"].keys() == runs["b"].keys()
    assert len(runs["a"]) == 15
    for name, data in runs["a"].items():
        assert data == runs["b"][name], f"{name} differs between two runs with the same seed"
    assert runs["a"]["users.csv"] != runs["c"]["users.csv"]
    assert runs["a"]["events.parquet"] != runs["c"]["events.parquet"]


def test_summary_row_counts_match_every_written_file(shop: GenerateSummary) -> None:
    for name, rows in shop.files.items():
        path = shop.out_dir / name
        if name.endswith(".parquet"):
            actual = pq.ParquetFile(path).metadata.num_rows
        elif name.endswith(".jsonl"):
            actual = sum(1 for _ in path.open(encoding="utf-8"))
        else:
            actual = len(_csv(path))
        assert actual == rows, name
    assert shop.files["users.csv"] == USERS
    assert shop.files["events.jsonl"] == shop.files["events.parquet"]


def test_rows_reference_existing_users_and_items_except_planted_missing_users(
    shop: GenerateSummary,
) -> None:
    users = set(_read(shop, "users.csv")["user_id"])
    items = set(_read(shop, "items.csv")["item_id"])
    orders = _read(shop, "orders.csv")
    missing = orders.index[orders["user_id"] == ""] + 1
    assert sorted(missing) == shop.dirty_rows["orders.csv"]["missing_user_id"]
    assert set(orders.loc[orders["user_id"] != "", "user_id"]) <= users
    assert set(orders["item_id"]) <= items
    events = _read(shop, "events.parquet")
    assert set(events["user_id"]) <= users
    assert set(events["item_id"].dropna()) <= items
    for name in ("consents.csv", "permissions.csv", "quotes.csv"):
        assert set(_read(shop, name)["user_id"]) <= users, name
    assert set(_read(shop, "events_foreign.csv")["uid"]) <= users


def test_planted_order_dirt_is_exactly_what_the_summary_reports(shop: GenerateSummary) -> None:
    orders = _read(shop, "orders.csv")
    row = orders.index + 1
    order_time = pd.to_datetime(orders["order_time"])
    found = {
        "bad_paid_amount": row[pd.to_numeric(orders["paid_amount"], errors="coerce").isna()],
        "missing_user_id": row[orders["user_id"] == ""],
        "duplicate_order_id": row[orders["order_id"].duplicated(keep="first")],
        "future_order_time": row[order_time > AS_OF],
        "before_shop_start": row[order_time < datetime(2024, 1, 1)],
    }
    expected_each = max(1, round(0.002 * len(orders)))
    for kind, rows in found.items():
        assert sorted(rows) == shop.dirty_rows["orders.csv"][kind], kind
        assert shop.dirt["orders.csv"][kind] == expected_each
    assert set(orders.loc[orders["paid_amount"].str.contains("[a-z]"), "paid_amount"]) == {"abc"}
    assert shop.dirt["orders.parquet"] == shop.dirt["orders.csv"]


def test_resident_ids_are_valid_and_agree_with_birth_date_and_gender(shop: GenerateSummary) -> None:
    users = _read(shop, "users.csv")
    with_id = users[users["id_number"] != ""]
    assert 0.15 < len(with_id) / len(users) < 0.35
    for _, person in with_id.iterrows():
        number = person["id_number"]
        assert id_is_valid(number), number
        assert number[6:14] == person["birth_date"].replace("-", "")
        if person["gender"]:
            assert (int(number[16]) % 2 == 1) == (person["gender"] == "男")
    assert not id_is_valid("110101199001011230")


def test_population_has_under_14s_minors_and_elderly(shop: GenerateSummary) -> None:
    births = pd.to_datetime(_read(shop, "users.csv")["birth_date"]).dt.date
    today = AS_OF.date()

    def age(born: date) -> int:
        return today.year - born.year - ((today.month, today.day) < (born.month, born.day))

    ages = np.array([age(b) for b in births])
    assert (ages < 14).sum() >= 5
    assert ((ages >= 14) & (ages < 18)).sum() >= 10
    assert (ages >= 60).sum() >= 30
    population = shop.planted["population"]
    assert isinstance(population, dict)
    assert population["age_under_14"] == int((ages < 14).sum())
    assert population["age_14_17"] == int(((ages >= 14) & (ages < 18)).sum())


def test_phones_are_mainland_mobiles_and_some_remarks_hide_one(shop: GenerateSummary) -> None:
    users = _read(shop, "users.csv")
    assert users["phone"].str.match(MOBILE).all()
    hidden = users["remark"].str.contains(r"1[3-9]\d{9}")
    assert hidden.sum() >= 3
    population = shop.planted["population"]
    assert isinstance(population, dict)
    assert population["remarks_with_phone"] == int(hidden.sum())
    assert "wechat_id" in users.columns
    assert (users["remark"] == "").mean() > 0.9


def test_only_loyal_customers_pay_a_surcharge_and_only_in_two_categories(
    shop: GenerateSummary,
) -> None:
    quotes = _read(shop, "quotes.csv").merge(
        _read(shop, "items.csv")[["item_id", "category"]], on="item_id"
    )
    orders = _read(shop, "orders.csv")
    counts = orders[orders["user_id"] != ""].groupby("user_id").size()
    quotes["orders"] = quotes["user_id"].map(counts).fillna(0).astype(int)
    # A user one order short may have lost an order to a planted missing user_id: ambiguous.
    quotes = quotes[quotes["orders"] != LOYAL_MIN_ORDERS - 1]
    ts = np.array([seconds(datetime.fromisoformat(t)) for t in quotes["ts"]], dtype=np.int64)
    base = (
        quotes["list_price"].astype(float).to_numpy()
        * 100
        * price_index(ts)
        * np.where(quotes["ab_bucket"] == "B", 1 - BUCKET_B_DISCOUNT, 1.0)
        * np.where(quotes["member_price"] == "true", 1 - MEMBER_DISCOUNT, 1.0)
    )
    gross = (quotes["price"].astype(float) + quotes["coupon"].astype(float)).to_numpy() * 100
    plain = np.abs(gross - base) <= 1.0
    surcharged = np.abs(gross - base * (1 + SURCHARGE)) <= 1.0
    assert (plain ^ surcharged).all(), "every quote is explained by the documented factors"
    expected = quotes["category"].isin(SURCHARGE_CATEGORIES) & (
        quotes["orders"] >= LOYAL_MIN_ORDERS
    )
    assert (surcharged == expected.to_numpy()).all()
    assert surcharged.sum() >= 5


def test_ab_bucket_leans_on_device_os_and_coupons_on_new_users(shop: GenerateSummary) -> None:
    users = _read(shop, "users.csv")[["user_id", "device_os", "register_time"]]
    quotes = _read(shop, "quotes.csv").merge(users, on="user_id")
    share_b = quotes.groupby("device_os")["ab_bucket"].apply(lambda s: (s == "B").mean())
    assert share_b["iOS"] > share_b["Android"] + 0.15
    tenure = pd.to_datetime(quotes["ts"]) - pd.to_datetime(quotes["register_time"])
    new = tenure < pd.Timedelta(days=30)
    coupon = quotes["coupon"].astype(float) > 0
    assert coupon[new].mean() > 3 * coupon[~new].mean()


def test_foreign_extract_uses_the_second_systems_schema_and_event_names(
    shop: GenerateSummary,
) -> None:
    foreign = _read(shop, "events_foreign.csv")
    assert list(foreign.columns) == ["uid", "evt", "item", "happened_at", "cat"]
    assert set(foreign["evt"]) <= {"pv", "srch", "cart_add", "cart_del", "order_submit", "pay"}
    assert {"pv", "srch", "cart_add", "pay"} <= set(foreign["evt"])
    epoch = foreign["happened_at"].astype(int)
    assert epoch.between(seconds(datetime(2023, 12, 31)), seconds(AS_OF)).all()
    assert (foreign.loc[foreign["evt"] == "srch", "item"] == "").all()


def test_events_form_sessions_that_end_in_the_orders(shop: GenerateSummary) -> None:
    events = _read(shop, "events.parquet")
    kinds = events["event_type"].value_counts()
    assert kinds["purchase"] == shop.files["orders.csv"]
    assert kinds["view"] > kinds["add_to_cart"] > kinds["remove_from_cart"] > 0
    searches = events[events["event_type"] == "search"]
    assert searches["item_id"].isna().all() and searches["query"].notna().all()
    assert events.loc[events["event_type"] != "search", "query"].isna().all()
    assert (events["ts"] <= AS_OF).all()
    assert 0.02 < events["lat"].notna().mean() < 0.25
    assert events["ip"].str.contains(":").any() and events["event_id"].is_unique
    first = events.sort_values(["session_id", "ts"]).groupby("session_id")["event_type"].first()
    assert set(first) <= {"search", "view"}
    registered = pd.to_datetime(_read(shop, "users.csv").set_index("user_id")["register_time"])
    assert (events["ts"] >= events["user_id"].map(registered)).all()


def test_consent_log_has_the_planted_mix(shop: GenerateSummary) -> None:
    consents = _read(shop, "consents.csv")
    users = _read(shop, "users.csv")
    birth = pd.to_datetime(users.set_index("user_id")["birth_date"])
    age_days = (pd.Timestamp(AS_OF) - birth).dt.days
    adults = set(age_days[age_days >= 18 * 365.25].index)
    personal = consents[
        (consents["purpose"] == "personalization") & consents["user_id"].isin(adults)
    ]
    granted = personal.loc[personal["status"] != "refused", "user_id"].nunique()
    assert 0.7 < granted / len(adults) < 0.9
    assert (personal["status"] == "withdrawn").sum() > 0
    ads = consents[consents["purpose"] == "advertising"]
    assert set(ads["recipient"]) == {"AdNet Ltd"}
    assert {"separate", "general"} <= set(ads["consent_type"])
    under_14 = set(age_days[age_days < 14 * 365.25].index)
    kids = consents[consents["user_id"].isin(under_14)]
    assert (kids["consent_type"] == "guardian").any()
    assert (kids["consent_type"] != "guardian").any()
    assert 0.05 < (consents["notice_version"] == "2024.1").mean() < 0.3
    assert (pd.to_datetime(consents["ts"]) <= AS_OF).all()


def test_block_boundaries_keep_ids_unique_and_users_contiguous(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(generate_module, "BLOCK_USERS", 70)
    (tmp_path / "events.jsonl").write_text("left over from an earlier run\n")
    reported: list[tuple[int, int]] = []
    summary = generate(
        tmp_path, users=200, seed=3, as_of=AS_OF, progress=lambda d, t: reported.append((d, t))
    )
    assert reported == [(70, 200), (140, 200), (200, 200)]
    assert not (tmp_path / "events.jsonl").exists(), "files this run did not write are removed"
    users = _csv(tmp_path / "users.csv")
    assert list(users["user_id"]) == [f"U{i:07d}" for i in range(1, 201)]
    orders = _csv(tmp_path / "orders.csv")
    duplicates = int(orders["order_id"].duplicated().sum())
    assert duplicates == summary.dirt["orders.csv"]["duplicate_order_id"]
    events = pq.read_table(tmp_path / "events.parquet", columns=["event_id"]).to_pandas()
    assert events["event_id"].is_unique
    assert _csv(tmp_path / "quotes.csv")["quote_id"].is_unique


def test_bad_arguments_are_user_errors(tmp_path: Path) -> None:
    with pytest.raises(ProfileguardError, match="too early"):
        generate(tmp_path, users=10, as_of=datetime(2024, 3, 1))
    with pytest.raises(ProfileguardError, match="allowed: csv, parquet, jsonl"):
        generate(tmp_path, users=10, formats=("xml",))
    with pytest.raises(ProfileguardError, match="at least 1 user"):
        generate(tmp_path, users=0)
    (tmp_path / "a-file").write_text("x")
    with pytest.raises(ProfileguardError, match="cannot create the folder"):
        generate(tmp_path / "a-file", users=10)


def test_cli_writes_the_files_and_prints_the_json_summary(tmp_path: Path) -> None:
    out = tmp_path / "cli"
    result = CliRunner().invoke(
        app,
        [
            "generate",
            "--users",
            "120",
            "--seed",
            "2",
            "--out",
            str(out),
            "-d",
            "csv,parquet",
            "--as-of",
            "2026-06-30",
            "--format",
            "json",
            "--dirty-rows",
        ],
    )
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert summary["users"] == 120 and summary["as_of"] == "2026-06-30 00:00:00"
    assert summary["files"]["users.parquet"] == 120
    assert summary["dirty_rows"]["orders.csv"].keys() == summary["dirt"]["orders.csv"].keys()
    for name, rows in summary["files"].items():
        assert (out / name).is_file(), name
        if name.endswith(".csv"):
            assert len(_csv(out / name)) == rows
