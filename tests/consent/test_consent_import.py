"""The consent import: column-wise checks and writes that store what the row-by-row rules
say, batch digests that the stored rows reproduce, and all-or-nothing failures.

The oracle below is the row-by-row conversion the importer used to run (one dict per row,
``canonical_json`` of the batch); the tests hold the importer to it on SQLite and
PostgreSQL.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from typing import Any

import pyarrow as pa
import pytest
import sqlalchemy as sa
from test_consent_book import make_policy

from consent_log import in_force_from_log
from profileguard.consent import ConsentBook
from profileguard.consent.import_rows import canonical_json, log_rows
from profileguard.errors import ProfileguardError
from profileguard.store import keys
from profileguard.store import tables as t
from profileguard.store.ledger import Ledger
from profileguard.store.ledger import canonical_json as canonical_json_text
from profileguard.store.ledger_verify import verify
from profileguard.store.operational import OperationalStore, as_utc

KEY = b"import-consent-test-key-00000000"
FIELDS = ("user_pid", "purpose", "recipient", "status", "consent_type", "notice_version",
          "surface", "pre_ticked", "bundled", "clicks_to_give", "clicks_to_withdraw", "source",
          "given_at")
UTC8 = dt.timezone(dt.timedelta(hours=8))


def oracle_row(r: dict[str, Any], pid: str, source: str) -> dict[str, Any]:
    """One input row as the row-by-row importer stored it (valid rows only)."""

    def text(v: Any) -> str | None:
        return None if v is None or v == "" else str(v)

    def boolean(v: Any) -> bool:
        return v if isinstance(v, bool) else (
            v is not None and str(v).strip().lower() in {"true", "1", "yes", "y", "t"})

    def ts(v: Any) -> dt.datetime:
        if isinstance(v, dt.datetime):
            return as_utc(v)
        if isinstance(v, dt.date):
            return dt.datetime(v.year, v.month, v.day, tzinfo=dt.UTC)
        return as_utc(dt.datetime.fromisoformat(str(v)))

    return {
        "user_pid": pid, "purpose": text(r.get("purpose")),
        "recipient": text(r.get("recipient")) or "",
        "status": str(r.get("status") or "").strip(),
        "consent_type": str(r.get("consent_type") or "general").strip(),
        "notice_version": text(r.get("notice_version")), "surface": text(r.get("surface")),
        "pre_ticked": boolean(r.get("pre_ticked")), "bundled": boolean(r.get("bundled")),
        "clicks_to_give": None if r.get("clicks_to_give") in (None, "") else int(
            r["clicks_to_give"]),
        "clicks_to_withdraw": None if r.get("clicks_to_withdraw") in (None, "") else int(
            r["clicks_to_withdraw"]),
        "source": text(r.get("source")) or source, "given_at": ts(r.get("ts")),
    }


def oracle_digest(rows: list[dict[str, Any]]) -> str:
    jsonable = [{k: v.isoformat() if isinstance(v, dt.datetime) else v for k, v in r.items()}
                for r in rows]
    return hashlib.sha256(canonical_json_text(jsonable).encode("utf-8")).hexdigest()


def text_table() -> pa.Table:
    """A log as a CSV reader without type inference gives it: every column text."""
    return pa.table({
        "user_id": ["u-1", "u-2", "u-1", "u-3", "u-2", "u-4"],
        "purpose": ["personalization", "advertising", "personalization", "fulfilment",
                    "advertising", "personalization"],
        "recipient": ["", "adnet", None, "", "adnet", "物流 \"Co\""],
        "status": [" granted", "granted", "withdrawn ", "refused", "granted", "granted"],
        "consent_type": ["", None, "general", " separate ", "guardian", "explicit"],
        "notice_version": ["v1", "", None, "v2\n", "v1", "v\\2"],
        "surface": ["app", "web\t", "app", None, "", "é\u0001"],
        "pre_ticked": ["yes", "0", None, "T", " false ", "n"],
        "bundled": ["1", "", "no", "Y", None, "true"],
        "clicks_to_give": ["1", "", None, " 3", "0", "-2"],
        "clicks_to_withdraw": ["4", "2", "", None, "7", "1"],
        "source": ["", None, "csv", "csv", "", "app"],
        "ts": ["2025-03-01T09:30:00Z", "2025-03-01T09:30:00.250000+08:00", "2025-03-02",
               "2025-03-01T09:30:00", "2025-03-03 10:00:00.000001+00:00", "0999-01-01T00:00"],
    })


def typed_table() -> pa.Table:
    """The same kind of log with typed columns (booleans, integers, zoned and naive times)."""
    return pa.table({
        "user_id": pa.array(["u-1", "u-5", "u-6", "u-5"]).dictionary_encode(),
        "purpose": ["advertising", "advertising", "personalization", "fulfilment"],
        "status": pa.array(["granted", "refused", "granted", "withdrawn"]).dictionary_encode(),
        "pre_ticked": pa.array([True, None, False, True]),
        "bundled": pa.array([0, 1, None, 1], pa.int8()),
        "clicks_to_give": pa.array([2, None, 5, 1], pa.int32()),
        "ts": pa.array([dt.datetime(2025, 4, 1, 8, tzinfo=UTC8), dt.datetime(2025, 4, 1, 0),
                        dt.datetime(2025, 4, 2, 3, 4, 5, 6), dt.datetime(2025, 4, 3)],
                       pa.timestamp("ms", tz="Asia/Shanghai")),
    })


def stored_log(store: OperationalStore) -> list[dict[str, Any]]:
    with store.read() as conn:
        rows = conn.execute(sa.select(t.consents).order_by(t.consents.c.id)).all()
    out = []
    for r in rows:
        row = {f: getattr(r, f) for f in FIELDS}
        row.update(pre_ticked=bool(row["pre_ticked"]), bundled=bool(row["bundled"]),
                   given_at=as_utc(row["given_at"]))
        out.append(row)
    return out


@pytest.mark.parametrize("make", [text_table, typed_table])
def test_import_stores_the_rows_and_digests_of_the_row_by_row_rules(
    state_url: str, make: Any,
) -> None:
    store = OperationalStore(state_url, pseudonymize=KEY)
    book = ConsentBook(store, make_policy())
    data = make()
    assert book.import_arrow(data, batch_size=4, source="file.csv") == data.num_rows
    expected = [oracle_row(r, keys.pseudonym(KEY, str(r["user_id"])), "file.csv")
                for r in data.to_pylist()]
    assert stored_log(store) == expected
    entries = [e for e in Ledger(store).entries() if e.kind == "consent.import"]
    assert [(e.payload["first_row"], e.payload["last_row"], e.payload["sha256"])
            for e in entries] == [
        (start + 1, min(start + 4, len(expected)), oracle_digest(expected[start:start + 4]))
        for start in range(0, len(expected), 4)]
    assert verify(Ledger(store)).ok
    with store.read() as conn:
        identities = dict(conn.execute(sa.select(t.identity_map.c.user_id,
                                                 t.identity_map.c.user_pid)).all())
    assert identities == {str(u): keys.pseudonym(KEY, str(u))
                          for u in data.column("user_id").to_pylist()}
    store.close()


def test_the_digest_of_a_batch_is_reproduced_from_the_rows_it_stored(state_url: str) -> None:
    """What ``ledger verify`` can be extended with: the log rows between a batch's first and
    last row hash to the digest its entry holds."""
    store = OperationalStore(state_url, pseudonymize=KEY)
    book = ConsentBook(store, make_policy())
    book.grant("p_before", "personalization")  # ids of the import do not start at 1
    book.import_arrow(text_table(), batch_size=4)
    log = stored_log(store)[1:]
    for entry in (e for e in Ledger(store).entries() if e.kind == "consent.import"):
        first, last = entry.payload["first_row"], entry.payload["last_row"]
        assert oracle_digest(log[first - 1:last]) == entry.payload["sha256"]
    store.close()


def test_canonical_json_is_byte_for_byte_the_ledgers_encoding() -> None:
    rows, ids = log_rows(text_table(), "user_id", 1, "import")
    rows = rows.set_column(0, "user_pid", ids)
    as_python = [{k: v.isoformat() if isinstance(v, dt.datetime) else v for k, v in r.items()}
                 for r in rows.to_pylist()]
    assert bytes(canonical_json(rows)) == canonical_json_text(as_python).encode("utf-8")


def test_sqlite_stores_times_as_text_in_the_form_of_a_single_record(tmp_path: Any) -> None:
    store = OperationalStore(f"sqlite:///{tmp_path / 'state.db'}", pseudonymize=KEY)
    book = ConsentBook(store, make_policy())
    given = dt.datetime(2025, 3, 1, 9, 30, 0, 250, tzinfo=dt.UTC)
    book.grant("p_single", "personalization", given_at=given)
    book.import_arrow(pa.table({"user_pid": ["p_bulk"], "purpose": ["personalization"],
                                "status": ["granted"], "ts": [given]}))
    store.register_identities(["u-registered"])
    book.import_arrow(pa.table({"user_id": ["u-imported"], "purpose": ["advertising"],
                                "status": ["granted"], "ts": [given]}))
    with store.read() as conn:
        times = conn.exec_driver_sql("SELECT given_at, typeof(given_at), typeof(recorded_at), "
                                     "length(recorded_at) FROM consents").all()
        created = conn.exec_driver_sql("SELECT typeof(created_at), length(created_at) "
                                       "FROM identity_map").all()
    assert {tuple(r) for r in times} == {("2025-03-01 09:30:00.000250", "text", "text", 26)}
    assert {tuple(r) for r in created} == {("text", 26)}
    store.close()


def test_a_bad_row_is_named_and_nothing_of_the_import_is_kept(state_url: str) -> None:
    store = OperationalStore(state_url, pseudonymize=KEY)
    book = ConsentBook(store, make_policy())
    book.grant("p_kept", "personalization")
    bad = text_table()
    # row 6 has a bad boolean, row 5 a bad count, row 5 also a bad time: row 5, first column
    bad = bad.set_column(bad.schema.get_field_index("bundled"), "bundled",
                         pa.array(["1", "", "no", "Y", None, "maybe"]))
    bad = bad.set_column(bad.schema.get_field_index("clicks_to_give"), "clicks_to_give",
                         pa.array(["1", "", None, " 3", "x", "-2"]))
    bad = bad.set_column(bad.schema.get_field_index("ts"), "ts",
                         pa.array(["2025-03-01"] * 4 + ["yesterday", "2025-03-01"]))
    with pytest.raises(ProfileguardError,
                       match=r"^row 5, column clicks_to_give: 'x' is not a whole number"):
        book.import_arrow(bad, batch_size=4)  # the first batch (rows 1-4) is valid
    with pytest.raises(ProfileguardError, match=r"^row 2, column user_id: empty"):
        book.import_arrow(pa.table({"user_id": ["u", None], "purpose": ["p", "p"],
                                    "status": ["granted"] * 2, "ts": ["2025-03-01"] * 2}))
    with pytest.raises(ProfileguardError, match=r"^row 1, column ts: None is not an ISO"):
        book.import_arrow(pa.table({"user_pid": ["p_x"], "purpose": ["p"],
                                    "status": ["granted"],
                                    "ts": pa.array([None], pa.timestamp("s"))}))
    with store.read() as conn:
        logged = conn.execute(sa.select(sa.func.count()).select_from(t.consents)).scalar()
        known = conn.execute(sa.select(sa.func.count()).select_from(t.identity_map)).scalar()
    assert (logged, known) == (1, 0)
    assert [e.kind for e in Ledger(store).entries()] == ["consent.granted"]
    store.close()


def test_an_import_larger_than_the_log_rebuilds_the_indexes_and_the_current_table(
    tmp_path: Any,
) -> None:
    store = OperationalStore(f"sqlite:///{tmp_path / 'state.db'}", pseudonymize=KEY)
    book = ConsentBook(store, make_policy())
    book.grant("p_u1", "personalization", given_at=dt.datetime(2025, 5, 1, tzinfo=dt.UTC))
    book.import_arrow(text_table(), batch_size=2)  # 6 rows onto a log of 1: indexes rebuilt
    book.import_arrow(typed_table().slice(0, 1))  # 1 row onto 7: indexes kept
    with store.read() as conn:
        names = {ix["name"] for table in ("consents", "consents_current")
                 for ix in sa.inspect(conn).get_indexes(table)}
        current = {(r.user_pid, r.purpose, r.recipient): r.consent_id
                   for r in conn.execute(sa.select(t.consents_current))}
    assert names == {ix.name for ix in (*t.consents.indexes, *t.consents_current.indexes)}
    assert current == {k: r.id for k, r in in_force_from_log(store).items()}
    store.close()
