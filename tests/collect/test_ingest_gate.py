"""Ingestion through the collection gate: refuse, quarantine, reconcile, never load twice."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from profileguard.collect.ingest import QUARANTINE, ingest
from profileguard.errors import ProfileguardError
from profileguard.manifest import load_manifest
from profileguard.store.engine import DuckDBEngine
from profileguard.store.keys import pseudonym

KEY = b"k" * 32
NOW = dt.datetime(2026, 1, 1)

MANIFEST = """\
organization: {name: Test shop}
sources:
  orders: {format: csv, path: orders*.csv, key: order_id, user: user_id, time: order_time,
           start: 2024-01-01}
  events:
    format: csv
    path: foreign.csv
    user: user_id
    time: ts
    time_format: epoch_s
    columns: {uid: user_id, evt: event_type, happened_at: ts}
    values: {event_type: {pv: view, cart_add: add_to_cart, pay: purchase}}
fields:
  orders:
    order_id: {category: non_personal, purposes: [fulfilment]}
    user_id: {category: user.unique_id, purposes: [fulfilment]}
    order_time: {category: user.payment.time, type: timestamp, purposes: [fulfilment]}
    paid_amount: {category: user.payment.amount, type: decimal, purposes: [fulfilment]}
    paid: {category: user.payment, type: boolean, purposes: [fulfilment]}
  events:
    user_id: {category: user.unique_id, purposes: [personalization]}
    ts: {category: user.behavior.browsing_history, type: timestamp, purposes: [personalization]}
    event_type: {category: user.behavior.browsing_history, purposes: [personalization]}
purposes:
  fulfilment: {basis: contract}
  personalization: {basis: consent}
"""

ORDERS = """\
order_id,user_id,order_time,paid_amount,paid,wechat_id
O1,U1,2025-01-02 10:00:00,12.50,true,w1
O2,U2,2025-01-03 10:00:00,abc,true,w2
O3,,2025-01-03 10:00:00,3,false,w3
O1,U3,2025-01-04 10:00:00,5,true,w4
O5,U5,2030-01-01 00:00:00,5,true,w5
O6,U6,2023-01-01 00:00:00,5,true,w6
O7,U7
O8,U8,2025-02-01 00:00:00,7.10,no,w8
O9,U9,2025-02-01 00:00:00,7.10,maybe,w9
"""


@pytest.fixture
def shop(tmp_path: Path) -> Path:
    (tmp_path / "profileguard.yaml").write_text(MANIFEST)
    (tmp_path / "orders.csv").write_text(ORDERS)
    (tmp_path / "foreign.csv").write_text(
        "uid,evt,happened_at\nU1,pv,1735689600\nU2,pay,1735689700\nU3,zzz,1735689800\n")
    return tmp_path


def run(root: Path, engine: DuckDBEngine, sources: list[str] | None = None):  # type: ignore[no-untyped-def]
    m = load_manifest(root / "profileguard.yaml").manifest
    return ingest(engine, m, root, KEY, sources=sources, now=NOW)


def quarantined(engine: DuckDBEngine) -> dict[int, tuple[str, str | None]]:
    rows = engine.query_rows(f'SELECT "row", reason, "column" FROM {QUARANTINE} '
                             "WHERE source = 'orders'")
    return {int(r[0]): (str(r[1]), r[2]) for r in rows}


def test_every_quarantine_reason_is_recorded_with_row_and_column(shop: Path) -> None:
    engine = DuckDBEngine()
    report = run(shop, engine, ["orders"])
    q = quarantined(engine)
    assert q[2] == ("bad_type", "paid_amount")
    assert q[3] == ("missing_key", "user_id")
    assert q[4] == ("duplicate_key", "order_id")
    assert q[5] == ("future_time", "order_time")
    assert q[6] == ("before_start", "order_time")
    assert q[7][0] == "malformed_row"
    assert q[9] == ("bad_type", "paid")
    loaded = {r[0] for r in engine.query_rows("SELECT order_id FROM orders")}
    assert loaded == {"O1", "O8"}
    assert report.rows_in == 9 and report.loaded == 2 and report.reconciles


def test_undeclared_column_is_refused_not_loaded(shop: Path) -> None:
    engine = DuckDBEngine()
    report = run(shop, engine, ["orders"])
    assert report.refused_columns == {"orders": ["wechat_id"]}
    assert "wechat_id" not in engine.columns("orders")


def test_user_ids_are_pseudonymized_and_raw_ids_never_stored(shop: Path) -> None:
    engine = DuckDBEngine()
    run(shop, engine)
    users = {r[0] for r in engine.query_rows("SELECT user_id FROM orders")}
    assert users == {pseudonym(KEY, "U1"), pseudonym(KEY, "U8")}
    raw = " ".join(str(r) for r in engine.query_rows(f"SELECT raw, user_pid FROM {QUARANTINE}"))
    assert "U2" not in raw.replace(pseudonym(KEY, "U2"), "")
    assert pseudonym(KEY, "U2") in raw


def test_foreign_schema_ingests_through_column_and_value_mappings(shop: Path) -> None:
    engine = DuckDBEngine()
    report = run(shop, engine, ["events"])
    rows = engine.query_rows("SELECT event_type, ts FROM events ORDER BY ts")
    assert [r[0] for r in rows] == ["view", "purchase"]
    assert rows[0][1] == dt.datetime(2025, 1, 1, 0, 0)
    assert report.quarantined["unmapped_value"] == 1


def test_second_ingest_of_the_same_files_loads_nothing(shop: Path) -> None:
    engine = DuckDBEngine()
    first = run(shop, engine)
    second = run(shop, engine)
    assert first.loaded == 4
    assert second.loaded == 0 and second.rows_in == 0
    assert all(f.skipped_already_ingested for f in second.files)
    assert engine.query_rows("SELECT count(*) FROM orders")[0][0] == 2


def test_clean_rows_load_typed_beside_the_rows_that_fail(shop: Path) -> None:
    """The gate keeps only the failing rows; the clean ones load from the staged file with
    the values the gate typed (decimal, boolean, timestamp, pseudonym)."""
    engine = DuckDBEngine()
    run(shop, engine, ["orders"])
    rows = engine.query_rows("SELECT order_id, user_id, order_time, paid_amount, paid "
                             "FROM orders ORDER BY order_id")
    assert [(r[0], r[1], r[2], str(r[3]), r[4]) for r in rows] == [
        ("O1", pseudonym(KEY, "U1"), dt.datetime(2025, 1, 2, 10), "12.50", True),
        ("O8", pseudonym(KEY, "U8"), dt.datetime(2025, 2, 1), "7.10", False)]


def test_first_ingest_records_each_files_sha256_and_a_copy_is_not_loaded_again(
        shop: Path) -> None:
    engine = DuckDBEngine()
    run(shop, engine, ["orders"])
    digest = hashlib.sha256((shop / "orders.csv").read_bytes()).hexdigest()
    assert engine.query_rows("SELECT sha256 FROM pg_ingest_files") == [(digest,)]
    (shop / "orders2.csv").write_bytes((shop / "orders.csv").read_bytes())
    again = run(shop, engine, ["orders"])
    assert [f.skipped_already_ingested for f in again.files] == [True, True]
    assert engine.query_rows("SELECT count(*) FROM orders")[0][0] == 2


def test_a_load_that_disagrees_with_the_gate_loads_nothing_of_the_file(
        shop: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The rows loaded are counted by the INSERT itself and checked against the gate's
    verdict; a mismatch (a bug) rolls the whole file back: no rows, no quarantine, no
    ledger entry — so input rows = loaded + quarantined can never be claimed falsely."""
    engine = DuckDBEngine()
    plain = engine.query_rows

    def off_by_one(sql: str, params: object = None) -> list[tuple[object, ...]]:
        rows = plain(sql, params)  # type: ignore[arg-type]
        return [(int(rows[0][0]) + 1,)] if sql.startswith('INSERT INTO "orders"') else rows

    monkeypatch.setattr(engine, "query_rows", off_by_one)
    with pytest.raises(ProfileguardError, match=r"orders\.csv: 3 rows inserted into orders, "
                                                r"but the gate passed 2"):
        run(shop, engine, ["orders"])
    for table in ("orders", QUARANTINE, "pg_ingest_files"):
        assert plain(f"SELECT count(*) FROM {table}")[0][0] == 0


def test_overlapping_new_file_quarantines_keys_already_loaded(shop: Path) -> None:
    engine = DuckDBEngine()
    run(shop, engine, ["orders"])
    (shop / "orders2.csv").write_text(
        "order_id,user_id,order_time,paid_amount,paid\nO8,U8,2025-02-01 00:00:00,7.1,true\n"
        "O10,U10,2025-03-01 00:00:00,1,true\n")
    report = run(shop, engine, ["orders"])
    assert report.loaded == 1 and report.quarantined["duplicate_key"] == 1
    assert report.reconciles


def test_gb18030_csv_is_detected_and_read(tmp_path: Path) -> None:
    (tmp_path / "profileguard.yaml").write_text(MANIFEST.replace("orders*.csv", "gbk.csv"))
    (tmp_path / "gbk.csv").write_bytes(
        "order_id,user_id,order_time,paid_amount,paid\n订单1,用户甲,2025-01-02 10:00:00,1,true\n"
        .encode("gb18030"))
    (tmp_path / "foreign.csv").write_text("uid,evt,happened_at\n")
    engine = DuckDBEngine()
    report = run(tmp_path, engine, ["orders"])
    assert report.loaded == 1
    assert engine.query_rows("SELECT order_id FROM orders")[0][0] == "订单1"


def test_parquet_and_jsonl_sources_ingest(tmp_path: Path) -> None:
    text = MANIFEST.replace("{format: csv, path: orders*.csv", "{format: parquet, path: o.parquet")
    text = text.replace("format: csv\n    path: foreign.csv", "format: jsonl\n    path: f.jsonl")
    (tmp_path / "profileguard.yaml").write_text(text)
    pq.write_table(pa.table({"order_id": ["A", "B"], "user_id": ["U1", None],
                             "order_time": [dt.datetime(2025, 1, 1), dt.datetime(2025, 1, 2)],
                             "paid_amount": [1.5, 2.0], "paid": [True, False]}),
                   tmp_path / "o.parquet")
    (tmp_path / "f.jsonl").write_text("\n".join(json.dumps(r) for r in [
        {"uid": "U1", "evt": "pv", "happened_at": 1735689600},
        {"uid": "U2", "evt": "cart_add", "happened_at": 1735689601}]) + "\n")
    engine = DuckDBEngine()
    report = run(tmp_path, engine)
    assert report.loaded == 3 and report.quarantined["missing_key"] == 1
    assert report.reconciles


def test_database_table_source_ingests_by_sqlalchemy_url(tmp_path: Path) -> None:
    import sqlalchemy as sa

    db = tmp_path / "shop.db"
    eng = sa.create_engine(f"sqlite:///{db}")
    with eng.begin() as conn:
        conn.execute(sa.text("CREATE TABLE orders (order_id TEXT, user_id TEXT, order_time TEXT, "
                             "paid_amount REAL, paid INTEGER)"))
        conn.execute(sa.text("INSERT INTO orders VALUES ('A', 'U1', '2025-01-01 00:00:00', 2.5, 1)"))
    eng.dispose()
    text = MANIFEST.replace("{format: csv, path: orders*.csv",
                            f"{{format: table, url: 'sqlite:///{db}', table: orders")
    (tmp_path / "profileguard.yaml").write_text(text)
    engine = DuckDBEngine()
    report = run(tmp_path, engine, ["orders"])
    assert report.loaded == 1
    assert engine.query_rows("SELECT paid_amount, paid FROM orders")[0] == (
        pytest.approx(2.5), True)


def test_missing_source_file_is_a_clear_error(tmp_path: Path) -> None:
    (tmp_path / "profileguard.yaml").write_text(MANIFEST)
    with pytest.raises(ProfileguardError, match="no file matches"):
        run(tmp_path, DuckDBEngine(), ["orders"])


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                               HealthCheck.function_scoped_fixture])
@given(st.binary(max_size=300))
def test_arbitrary_bytes_as_csv_never_crash_and_always_reconcile(tmp_path: Path, data: bytes) -> None:
    (tmp_path / "profileguard.yaml").write_text(MANIFEST.replace("orders*.csv", "fuzz.csv"))
    (tmp_path / "fuzz.csv").write_bytes(data)
    engine = DuckDBEngine()
    try:
        report = run(tmp_path, engine, ["orders"])
    except ProfileguardError as exc:
        assert "fuzz.csv" in str(exc)
    else:
        assert report.reconciles


def test_forced_reingest_counts_loaded_rows_and_quarantines_tombstoned_users(shop: Path) -> None:
    engine = DuckDBEngine()
    run(shop, engine, ["orders"])
    engine.execute("INSERT INTO pg_tombstones VALUES (?, TIMESTAMP '2025-12-31 00:00:00')",
                   [pseudonym(KEY, "U8")])
    m = load_manifest(shop / "profileguard.yaml").manifest
    report = ingest(engine, m, shop, KEY, sources=["orders"], now=NOW, force=True)
    assert report.loaded == 0
    assert report.already_loaded == 1  # O1 of U1
    assert report.quarantined["erased_user"] == 1  # O8 of the erased U8
    assert report.reconciles


REMARKS = """\
organization: {name: Shop}
sources:
  users: {format: csv, path: users.csv, key: user_id, user: user_id}
fields:
  users:
    user_id: {category: user.unique_id, purposes: [account]}
    remark: {category: user.free_text, purposes: [account]MASK}
purposes:
  account: {basis: contract}
"""


@pytest.mark.parametrize("mask", [False, True])
def test_phone_inside_a_remark_is_a_finding_and_masked_when_declared(tmp_path: Path,
                                                                     mask: bool) -> None:
    (tmp_path / "profileguard.yaml").write_text(
        REMARKS.replace("MASK", ", mask: true" if mask else ""))
    (tmp_path / "users.csv").write_text(
        "user_id,remark\nU1,请联系13812345678送货\nU2,放门口\n")
    engine = DuckDBEngine()
    m = load_manifest(tmp_path / "profileguard.yaml").manifest
    report = ingest(engine, m, tmp_path, KEY, now=NOW)
    assert len(report.findings) == 1
    finding = report.findings[0]
    assert finding["column"] == "remark" and finding["type"] == "CN_MOBILE"
    assert finding["category"] == "user.contact.phone_number"
    stored = engine.query_rows("SELECT remark FROM users ORDER BY remark")[1][0]
    if mask:
        assert "13812345678" not in stored and "5678" in stored and stored.startswith("请联系")
    else:
        assert "13812345678" in stored


def test_a_value_repeated_in_the_sample_counts_each_time_it_occurs(tmp_path: Path) -> None:
    (tmp_path / "profileguard.yaml").write_text(REMARKS.replace("MASK", ""))
    (tmp_path / "users.csv").write_text(
        "user_id,remark\nU1,请联系13812345678送货\nU2,放门口\nU3,请联系13812345678送货\n"
        "U4,13912345678 或 13812345678\n")
    m = load_manifest(tmp_path / "profileguard.yaml").manifest
    report = ingest(DuckDBEngine(), m, tmp_path, KEY, now=NOW)
    [finding] = report.findings
    assert finding["entities"] == 4 and finding["rows_scanned"] == 4


def test_demo_warehouse_holds_no_raw_user_id_or_phone(demo_template: Path) -> None:
    import csv

    with (demo_template / "data" / "users.csv").open(encoding="utf-8") as fh:
        people = list(csv.DictReader(fh))[:80]
    warehouse = (demo_template / ".profileguard" / "warehouse.duckdb").read_bytes()
    for person in people:
        for value in (person["user_id"], person["phone"], person["id_number"], person["email"]):
            if value:
                assert value.encode() not in warehouse, value
