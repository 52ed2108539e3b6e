"""Staging: Parquet read by DuckDB itself, transforms once per distinct value — same gate."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal
from pathlib import Path

import pyarrow as pa
import pyarrow.csv as pcsv
import pyarrow.parquet as pq
from hypothesis import given, settings
from hypothesis import strategies as st

from profileguard.collect.ingest import QUARANTINE, ingest
from profileguard.manifest import load_manifest
from profileguard.process import transforms as t
from profileguard.store.engine import DuckDBEngine
from profileguard.store.keys import _pseudonyms, pseudonym

KEY = b"s" * 32
NOW = dt.datetime(2026, 1, 1)

MANIFEST = """\
organization: {name: Test shop}
sources:
  events:
    format: FORMAT
    path: events.FORMAT
    key: event_id
    user: user_id
    time: ts
    start: 2024-01-01
    columns: {uid: user_id, evt: event_type}
    values: {event_type: {pv: view, pay: purchase}}
fields:
  events:
    event_id: {category: non_personal, purposes: [analytics]}
    user_id: {category: user.unique_id, purposes: [analytics]}
    ts: {category: user.behavior.browsing_history, type: timestamp, purposes: [analytics]}
    event_type: {category: user.behavior.browsing_history, purposes: [analytics]}
    dwell_ms: {category: user.behavior.browsing_history, type: integer, purposes: [analytics]}
    amount: {category: user.payment.amount, type: decimal, purposes: [analytics]}
    session_id: {category: user.device.cookie_id, purposes: [analytics], transform: pseudonymize}
    ip: {category: user.device.ip_address, purposes: [security], transform: truncate_ip}
    phone: {category: user.contact.phone_number, purposes: [security], transform: mask}
    lat: {category: user.location.precise, type: float, purposes: [security], transform: drop}
purposes:
  analytics: {basis: consent}
  security: {basis: consent}
"""

TS = dt.datetime(2025, 3, 1, 12, 0)
#: one row per gate outcome; the file's row number is the index + 1
ROWS: list[dict[str, object]] = [
    {"event_id": "E1", "uid": 7, "ts": TS, "evt": "pv", "dwell_ms": 10, "amount": "1.50",
     "session_id": "S1", "ip": "10.1.2.3", "phone": "13812345678", "lat": 30.1, "wechat": "w"},
    {"event_id": "E2", "uid": 8, "ts": TS, "evt": "pay", "dwell_ms": 20, "amount": "abc",
     "session_id": "S1", "ip": "2409:57d3:6d3a:fd55::371", "phone": None, "lat": 30.2,
     "wechat": "w"},
    {"event_id": "E1", "uid": 9, "ts": TS, "evt": "pv", "dwell_ms": 30, "amount": "2",
     "session_id": "S2", "ip": "10.1.2.4", "phone": "13912345678", "lat": 30.3, "wechat": "w"},
    {"event_id": "E4", "uid": None, "ts": TS, "evt": "pv", "dwell_ms": 40, "amount": "2",
     "session_id": "S3", "ip": "x", "phone": "1", "lat": 30.4, "wechat": "w"},
    {"event_id": "E5", "uid": 7, "ts": dt.datetime(2030, 1, 1), "evt": "pv", "dwell_ms": 50,
     "amount": "2", "session_id": None, "ip": None, "phone": None, "lat": None, "wechat": "w"},
    {"event_id": "E6", "uid": 7, "ts": dt.datetime(2023, 1, 1), "evt": "pv", "dwell_ms": 60,
     "amount": "2", "session_id": "S2", "ip": "10.1.2.5", "phone": None, "lat": None,
     "wechat": "w"},
    {"event_id": "E7", "uid": 8, "ts": TS, "evt": "zzz", "dwell_ms": 70, "amount": "2",
     "session_id": "S4", "ip": "10.1.3.5", "phone": None, "lat": None, "wechat": "w"},
    {"event_id": "E8", "uid": 10, "ts": TS, "evt": "pay", "dwell_ms": None, "amount": None,
     "session_id": "S4", "ip": "10.9.9.9", "phone": "13812345678", "lat": None, "wechat": "w"},
]
EXPECTED = {2: ("bad_type", "amount"), 3: ("duplicate_key", "event_id"),
            4: ("missing_key", "user_id"), 5: ("future_time", "ts"), 6: ("before_start", "ts"),
            7: ("unmapped_value", "event_type")}


def _shop(root: Path, fmt: str) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    (root / "profileguard.yaml").write_text(MANIFEST.replace("FORMAT", fmt))
    table = pa.Table.from_pylist(ROWS)
    if fmt == "parquet":
        pq.write_table(table, root / "events.parquet")
    else:
        pcsv.write_csv(table, root / "events.csv",
                       pcsv.WriteOptions(quoting_style="none"))
    return root


def _ingest(root: Path, engine: DuckDBEngine, *, force: bool = False):  # type: ignore[no-untyped-def]
    m = load_manifest(root / "profileguard.yaml").manifest
    return ingest(engine, m, root, KEY, now=NOW, force=force)


def _loaded(engine: DuckDBEngine) -> list[tuple[object, ...]]:
    return engine.query_rows(
        "SELECT event_id, user_id, ts, event_type, dwell_ms, amount, session_id, ip, phone "
        "FROM events ORDER BY event_id")


def test_parquet_is_gated_row_by_row_with_its_own_types(tmp_path: Path) -> None:
    engine = DuckDBEngine()
    report = _ingest(_shop(tmp_path, "parquet"), engine)
    found = {int(r[0]): (str(r[1]), r[2]) for r in engine.query_rows(
        f'SELECT "row", reason, "column" FROM {QUARANTINE}')}
    assert found == EXPECTED
    assert report.refused_columns == {"events": ["wechat"]}
    assert "lat" not in engine.columns("events") and "wechat" not in engine.columns("events")
    assert report.rows_in == 8 and report.loaded == 2 and report.reconciles
    first, last = _loaded(engine)
    assert first == ("E1", pseudonym(KEY, "7"), TS, "view", 10, Decimal("1.50"),
                     pseudonym(KEY, "S1"), "10.1.2.0/24", "138****5678")
    assert last[:4] == ("E8", pseudonym(KEY, "10"), TS, "purchase")
    assert last[4] is None and last[5] is None


def test_parquet_and_csv_of_the_same_rows_stage_to_the_same_tables(tmp_path: Path) -> None:
    # (the quarantined row as read differs in its text: a Parquet timestamp is rendered by
    # DuckDB, a CSV one is the file's text)
    results = {}
    for fmt in ("parquet", "csv"):
        engine = DuckDBEngine()
        report = _ingest(_shop(tmp_path / fmt, fmt), engine)
        quarantine = engine.query_rows(
            'SELECT "row", reason, "column", detail, user_pid, '
            "json_extract_string(raw, '$.amount') FROM " + QUARANTINE + ' ORDER BY "row"')
        results[fmt] = (_loaded(engine), quarantine, report.as_dict()["quarantine_reasons"])
    assert results["parquet"] == results["csv"]


def test_transforms_run_per_distinct_value_and_equal_the_column_functions(tmp_path: Path) -> None:
    engine = DuckDBEngine()
    _ingest(_shop(tmp_path, "parquet"), engine)
    rows = {r[0]: r for r in engine.query_rows(
        "SELECT event_id, session_id, ip, phone FROM events")}
    src = {str(r["event_id"]): r for r in reversed(ROWS)}  # the first E1 is the one loaded
    for event_id, (_, session, ip, phone) in rows.items():
        raw = src[event_id]
        assert session == (None if raw["session_id"] is None
                           else pseudonym(KEY, str(raw["session_id"])))
        assert ip == t.truncate_ip(pa.array([raw["ip"]], pa.string())).to_pylist()[0]
        assert phone == t.mask(pa.array([raw["phone"]], pa.string())).to_pylist()[0]


def test_forced_reingest_of_parquet_counts_rows_already_loaded(tmp_path: Path) -> None:
    engine = DuckDBEngine()
    root = _shop(tmp_path, "parquet")
    first = _ingest(root, engine)
    again = _ingest(root, engine, force=True)
    assert again.already_loaded == first.loaded == 2
    assert again.loaded == 0 and again.reconciles
    assert engine.query_rows("SELECT count(*) FROM events")[0][0] == 2


@settings(max_examples=60, deadline=None)
@given(st.binary(max_size=100), st.lists(st.text(max_size=30), max_size=20))
def test_batched_hmac_equals_the_one_value_pseudonym_for_any_key(key: bytes,
                                                               values: list[str]) -> None:
    assert _pseudonyms(key, values) == [pseudonym(key, v) for v in values]


def test_parquet_with_a_column_named_like_duckdbs_row_number_still_ingests(tmp_path: Path) -> None:
    (tmp_path / "profileguard.yaml").write_text(
        MANIFEST.replace("FORMAT", "parquet").replace(
            "    lat: {", "    file_row_number: {category: non_personal, type: integer, "
            "purposes: [analytics]}\n    lat: {"))
    rows = [dict(r, file_row_number=100 + i) for i, r in enumerate(ROWS)]
    pq.write_table(pa.Table.from_pylist(rows), tmp_path / "events.parquet")
    engine = DuckDBEngine()
    report = _ingest(tmp_path, engine)
    found = {int(r[0]): (str(r[1]), r[2]) for r in engine.query_rows(
        f'SELECT "row", reason, "column" FROM {QUARANTINE}')}
    assert found == EXPECTED and report.loaded == 2
    assert engine.query_rows("SELECT file_row_number FROM events ORDER BY 1") == [(100,), (107,)]


def test_zoned_parquet_timestamps_load_their_wall_clock_time_whatever_the_session_zone(
        tmp_path: Path) -> None:
    root = _shop(tmp_path, "parquet")
    table = pq.read_table(root / "events.parquet")
    zoned = table.column("ts").cast(pa.timestamp("us")).cast(pa.timestamp("us", "UTC"))
    shanghai = zoned.cast(pa.timestamp("us", "Asia/Shanghai"))  # 12:00 UTC = 20:00 there
    pq.write_table(table.set_column(table.schema.get_field_index("ts"), "ts", shanghai),
                   root / "events.parquet")
    engine = DuckDBEngine()
    engine.execute("SET TimeZone = 'America/New_York'")
    report = _ingest(root, engine)
    assert report.loaded == 2 and report.reconciles
    assert {r[0] for r in engine.query_rows("SELECT ts FROM events")} == {
        dt.datetime(2025, 3, 1, 20, 0)}


def test_quarantined_and_held_rows_keep_the_transformed_values_of_carried_columns(
        tmp_path: Path) -> None:
    # session_id, ip and phone are only carried by the gate (their transforms may finish
    # while it classifies the file): the row as staged still holds their stored values
    from profileguard.collect.ingest import HELD

    engine = DuckDBEngine()
    engine.execute("CREATE TABLE consented (user_pid VARCHAR)")
    engine.execute("INSERT INTO consented VALUES (?)", [pseudonym(KEY, "7")])
    root = _shop(tmp_path, "parquet")
    m = load_manifest(root / "profileguard.yaml").manifest
    report = ingest(engine, m, root, KEY, now=NOW, consented={"events": "consented"})
    assert report.held == 1 and report.reconciles  # E8, of user 10, who has not consented
    raws = [json.loads(r[0]) for r in engine.query_rows(
        f"SELECT raw FROM {QUARANTINE} UNION ALL SELECT raw FROM {HELD}")]
    by_event = {r["event_id"]: r for r in raws}
    assert by_event["E2"]["session_id"] == pseudonym(KEY, "S1")
    assert by_event["E2"]["ip"] == "2409:57d3:6d3a::/48"
    assert by_event["E8"]["phone"] == "138****5678"
    assert by_event["E8"]["session_id"] == pseudonym(KEY, "S4")
    text = " ".join(str(r) for r in raws)
    assert "13812345678" not in text and "10.9.9.9" not in text and '"S4"' not in text
