"""Bulk decisions agree with single checks; consent history imports from Arrow."""

from __future__ import annotations

import datetime as dt
import random
from pathlib import Path

import pyarrow as pa
import pytest
import sqlalchemy as sa
from test_consent_book import T0, make_policy

from profileguard.consent import ConsentBook, ConsentPolicy
from profileguard.errors import ProfileguardError
from profileguard.store import tables as t
from profileguard.store.engine import DuckDBEngine
from profileguard.store.ledger import Ledger
from profileguard.store.ledger_verify import verify
from profileguard.store.operational import OperationalStore

PURPOSES = ("personalization", "advertising", "fulfilment")
KEY = b"bulk-consent-test-key-000000000"


def test_bulk_export_to_the_engine_equals_per_user_allows(state_url: str) -> None:
    rng = random.Random(7)
    births = {f"p_u{i:03d}": dt.date(rng.choice([2014, 2016, 1985, 2001]), 5, 5)
              for i in range(0, 60, 3)}
    base = make_policy()
    policy = ConsentPolicy(**{**base.__dict__, "birth_date_of": births.get})
    store = OperationalStore(state_url, pseudonymize=KEY)
    book = ConsentBook(store, policy)
    users = [f"p_u{i:03d}" for i in range(60)]
    for i, user in enumerate(users):
        for purpose in PURPOSES:
            for step in range(rng.randint(0, 3)):
                book.record(
                    user, purpose, rng.choice(["granted", "granted", "withdrawn", "refused"]),
                    consent_type=rng.choice(["general", "separate", "guardian"]),
                    notice_version=rng.choice(["v1", "v2", "v2"]),
                    recipient=rng.choice([None, None, "adnet"]),
                    pre_ticked=rng.random() < 0.1,
                    given_at=T0 + dt.timedelta(hours=step * 5 + i % 4),
                )
        if i % 11 == 0:
            book.object(user)
        if i % 13 == 0:
            book.set_non_personalized(user)
    store.register_identities(["raw-only-user"])  # known, no consent at all
    at = T0 + dt.timedelta(days=1)
    engine = DuckDBEngine()
    rows = book.export_to_engine(
        engine, "consent_decisions", PURPOSES,
        categories={"personalization": ["user.behavior.browsing"]},
        recipients={"advertising": ["adnet", "cloudco"]}, at=at,
    )
    exported = engine.query_rows(
        "SELECT user_pid, purpose, recipient, allowed, reason FROM consent_decisions")
    known = {r[0] for r in exported}
    assert store.resolve("raw-only-user") in known
    assert rows == len(exported) == len(known) * (len(PURPOSES) + 2)
    for user, purpose, recipient, allowed, reason in exported:
        single = book.allows(
            user, purpose, recipient=recipient or None, at=at,
            categories=["user.behavior.browsing"] if purpose == "personalization" else (),
        )
        assert (allowed, reason) == (single.allowed, single.reason), (user, purpose, recipient)
    assert 0 < sum(1 for r in exported if r[3]) < len(exported)
    expected = {r[0] for r in exported if r[1] == "advertising" and r[2] == "" and r[3]}
    assert book.allowed_users("advertising", at=at) == expected
    engine.close()
    store.close()


def _consents_table(n: int) -> pa.Table:
    return pa.table({
        "user_id": [f"user-{i % 4}" for i in range(n)],
        "purpose": ["personalization" if i % 2 else "advertising" for i in range(n)],
        "recipient": ["" if i % 3 else "adnet" for i in range(n)],
        "status": ["granted" if i % 5 else "withdrawn" for i in range(n)],
        "consent_type": ["separate" if i % 3 == 0 else "general" for i in range(n)],
        "notice_version": ["v2"] * n,
        "surface": ["app_signup"] * n,
        "pre_ticked": [False] * n,
        "bundled": ["false"] * n,
        "clicks_to_give": [1] * n,
        "clicks_to_withdraw": pa.array([3] * n, pa.int64()),
        "ts": [f"2026-02-{1 + i % 27:02d}T10:00:00Z" for i in range(n)],
    })


def test_import_of_consent_history_batches_rows_with_one_digest_entry_per_batch(
    state_url: str,
) -> None:
    store = OperationalStore(state_url, pseudonymize=KEY)
    book = ConsentBook(store, make_policy())
    assert book.import_arrow(_consents_table(10), batch_size=4) == 10
    with store.read() as conn:
        stored = conn.execute(sa.select(sa.func.count()).select_from(t.consents)).scalar()
        ids = conn.execute(sa.select(t.identity_map.c.user_id)).scalars().all()
    assert stored == 10 and sorted(ids) == [f"user-{i}" for i in range(4)]
    entries = [e for e in Ledger(store).entries() if e.kind == "consent.import"]
    assert [(e.payload["first_row"], e.payload["rows"]) for e in entries] == [
        (1, 4), (5, 4), (9, 2)]
    assert all(len(e.payload["sha256"]) == 64 and e.subject is None for e in entries)
    assert verify(Ledger(store)).ok
    pid = store.resolve("user-1")
    assert [r.purpose for r in book.history(pid)][:1] == ["personalization"]
    bad = _consents_table(3).set_column(3, "status", pa.array(["granted", "maybe", "granted"]))
    with pytest.raises(ProfileguardError, match=r"row 2, column status: 'maybe'"):
        book.import_arrow(bad)
    with pytest.raises(ProfileguardError, match="missing column"):
        book.import_arrow(pa.table({"user_id": ["u"], "purpose": ["x"]}))
    store.close()


def test_what_a_use_requires_is_remembered_per_policy_not_across_policies() -> None:
    """decide() answers the policy part of a use once per policy (a bulk decision asks it
    for every user); a policy with another rule must still get its own answer."""
    from dataclasses import replace

    from profileguard.consent.decisions import ConsentRecord, decide

    record = ConsentRecord(None, "p_1", "advertising", "", "granted", "general", "v2", None,
                           False, False, None, None, "test", T0, T0)
    cats = ["user.financial.bank_account"]
    strict = make_policy()
    lenient = replace(strict, separate_consent={})
    for _ in range(2):  # the second round is answered from what was remembered
        assert not decide(strict, "advertising", record, categories=cats, at=T0)
        assert decide(lenient, "advertising", record, categories=cats, at=T0)
    needs = decide(strict, "advertising", record, categories=cats, at=T0).reason
    assert "needs separate consent" in needs


def test_set_wise_decisions_equal_single_checks_for_minors_flags_past_moments_and_odd_ids(
    state_url: str,
) -> None:
    """Bulk decisions group users by what decide() reads; every user must still get exactly
    the single check's answer: minors (a birthday on the day, a birth date after it),
    objections and the non-personalized choice, a moment before some records (the log is
    ranked then), records without a notice version, user ids holding the separator."""
    from profileguard.consent import bulk

    rng = random.Random(11)
    users = [f"p_v{i:03d}" for i in range(70)] + ["p_odd\x1fid", "p_comma,id"]
    at = T0 + dt.timedelta(days=2)
    births: dict[str, dt.date] = {}
    for i, user in enumerate(users):
        if i % 4 == 0:
            births[user] = rng.choice([dt.date(at.year - 14, at.month, at.day),  # 14 today
                                       dt.date(at.year - 14, at.month, at.day) + dt.timedelta(1),
                                       dt.date(at.year - 9, 1, 1), dt.date(1990, 2, 2),
                                       dt.date(at.year + 1, 1, 1)])  # after at: negative age
    base = make_policy()
    policy = ConsentPolicy(**{**base.__dict__, "birth_date_of": births.get})
    store = OperationalStore(state_url, pseudonymize=KEY)
    book = ConsentBook(store, policy)
    for i, user in enumerate(users):
        for purpose in PURPOSES:
            for step in range(rng.randint(0, 3)):
                book.record(
                    user, purpose, rng.choice(["granted", "granted", "withdrawn", "refused"]),
                    consent_type=rng.choice(["general", "separate", "guardian", "explicit"]),
                    notice_version=rng.choice(["v1", "v2", None, "v9"]),
                    recipient=rng.choice([None, None, "adnet"]),
                    pre_ticked=rng.random() < 0.1, bundled=rng.random() < 0.1,
                    given_at=T0 + dt.timedelta(hours=rng.randint(0, 96), seconds=step),
                )
        if i % 7 == 0:
            book.object(user)
        if i % 5 == 0:
            book.set_non_personalized(user)
    table = pa.table({"user_pid": list(births), "birth_date": list(births.values())},
                     schema=bulk.BIRTH_SCHEMA)
    asked = [*users, "p_never_seen"]
    seen: list[str] = []
    uses = [("personalization", ["user.behavior.browsing"], None), ("advertising", [], "adnet"),
            ("advertising", ["user.financial.bank_account"], None), ("fulfilment", [], "cloudco")]
    for when in (at, T0 + dt.timedelta(hours=30)):  # after every record; before some
        for purpose, cats, recipient in uses:
            single = {u: book.allows(u, purpose, categories=cats, recipient=recipient, at=when)
                      for u in asked}
            for births_given in (table, None):
                got = bulk.decisions(book, purpose, categories=cats, recipient=recipient,
                                     at=when, users=asked, birth_dates=births_given)
                assert got.column("user_pid").to_pylist() == asked
                for user, allowed, reason in zip(*(got.column(c).to_pylist() for c in
                                                   ("user_pid", "allowed", "reason")),
                                                 strict=True):
                    assert (allowed, reason) == (single[user].allowed, single[user].reason), (
                        user, purpose, recipient, when)
                allowed_set = bulk.allowed_users(book, purpose, categories=cats,
                                                 recipient=recipient, at=when,
                                                 birth_dates=births_given).to_pylist()
                assert sorted(allowed_set) == sorted(u for u in asked if single[u].allowed)
            seen += [d.reason for d in single.values() if not d.allowed]
            assert any(d.allowed for d in single.values())
    for kind in ("under 14", "user is -", "objected", "non-personalized", "no consent record",
                 "pre-ticked", "bundled", "which the policy does not know", "withdrawn"):
        assert any(kind in reason for reason in seen), kind  # the cases were all exercised
    store.close()


def test_a_group_too_large_for_one_string_is_read_row_by_row_with_the_same_decisions(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Each group's user ids travel as one aggregated string; a database that cannot build
    it (SQLite and PostgreSQL cap a string at ~1 GB; here SQLite's limit is lowered) gets the
    group read row by row, in the same read transaction, with the same decisions."""
    import sqlite3

    from profileguard.consent import bulk

    store = OperationalStore(f"sqlite:///{tmp_path / 'state.db'}", pseudonymize=KEY)
    book = ConsentBook(store, make_policy())
    for i in range(40):
        book.record(f"p_w{i:03d}", "personalization", "granted" if i % 3 else "withdrawn",
                    notice_version="v2", given_at=T0 + dt.timedelta(hours=i % 2))
    book.object("p_w004")
    at = T0 + dt.timedelta(days=1)
    expected = bulk.decisions(book, "personalization", at=at, only_recorded=True)
    allowed = set(bulk.allowed_users(book, "personalization", at=at).to_pylist())
    by_row: list[int] = []
    read_rows = bulk._chunks_by_row
    monkeypatch.setattr(bulk, "_chunks_by_row",
                        lambda *a, **k: by_row.append(1) or read_rows(*a, **k))
    store.engine.dispose()

    @sa.event.listens_for(store.engine, "connect")
    def _small_strings(dbapi_connection: sqlite3.Connection, _record: object) -> None:
        dbapi_connection.setlimit(sqlite3.SQLITE_LIMIT_LENGTH, 120)  # < 20 ids joined

    assert bulk.decisions(book, "personalization", at=at, only_recorded=True).equals(expected)
    assert set(bulk.allowed_users(book, "personalization", at=at).to_pylist()) == allowed
    assert by_row == [1, 1] and 0 < len(allowed) < 40 and "p_w004" not in allowed
    store.close()


def test_known_users_are_every_table_s_users_once_in_code_point_order(state_url: str) -> None:
    from profileguard.consent import bulk

    store = OperationalStore(state_url, pseudonymize=KEY)
    book = ConsentBook(store, make_policy())
    store.register_identities(["raw-b", "raw-a"])  # identity map only
    book.record("p_Zed", "advertising", "granted", recipient="adnet")  # consents only
    book.record("p_zed", "personalization", "granted")
    book.record("p_zed", "advertising", "withdrawn")  # two rows, one user
    book.set_non_personalized("p_mid")  # preferences only
    with store.read() as conn:
        expected = sorted({str(u) for table in (t.identity_map, t.consents_current,
                                                t.preferences)
                           for u in conn.execute(sa.select(table.c.user_pid)).scalars()})
        got = bulk.known_users(conn)
    assert got == expected and len(got) == len(set(got)) == 5
    assert {"p_Zed", "p_zed", "p_mid"} <= set(got) and got.index("p_Zed") < got.index("p_zed")
