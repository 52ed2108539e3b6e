"""consents_current: the record in force per user × purpose × recipient, derived from the log.

Every test compares the table with the record in force recomputed from the log itself
(latest ``given_at``, then highest id), on SQLite and PostgreSQL.
"""

from __future__ import annotations

import datetime as dt
import random
import threading
from typing import Any

import pyarrow as pa
import pytest
import sqlalchemy as sa
from test_consent_book import T0, make_policy

from consent_log import in_force_from_log
from profileguard.consent import ConsentBook
from profileguard.errors import ProfileguardError
from profileguard.store import consents_current
from profileguard.store import tables as t
from profileguard.store.operational import MIGRATIONS, OperationalStore, as_utc, utcnow

KEY = b"current-consent-test-key-0000000"
FIELDS = ("consent_id", "status", "consent_type", "notice_version", "pre_ticked", "bundled",
          "given_at")


def from_log(store: OperationalStore) -> dict[tuple[str, str, str], tuple[Any, ...]]:
    """The record in force per key, computed in Python from the whole log."""
    return {k: (r.id, r.status, r.consent_type, r.notice_version, bool(r.pre_ticked),
                bool(r.bundled), as_utc(r.given_at)) for k, r in in_force_from_log(store).items()}


def current(store: OperationalStore) -> dict[tuple[str, str, str], tuple[Any, ...]]:
    with store.read() as conn:
        rows = conn.execute(sa.select(t.consents_current)).all()
    return {(r.user_pid, r.purpose, r.recipient): (r.consent_id, r.status, r.consent_type,
                                                    r.notice_version, bool(r.pre_ticked),
                                                    bool(r.bundled), as_utc(r.given_at))
            for r in rows}


def random_history(book: ConsentBook, rng: random.Random, users: int = 25) -> None:
    """Records out of time order, equal timestamps, several recipients."""
    for _ in range(users * 6):
        book.record(
            f"p_u{rng.randrange(users):02d}", rng.choice(["personalization", "advertising"]),
            rng.choice(["granted", "withdrawn", "refused"]),
            consent_type=rng.choice(["general", "separate", "guardian"]),
            recipient=rng.choice([None, None, "adnet"]),
            notice_version=rng.choice(["v1", "v2", None]),
            pre_ticked=rng.random() < 0.2, bundled=rng.random() < 0.2,
            given_at=T0 + dt.timedelta(hours=rng.randrange(6)),  # many ties
        )


def consents_table(rng: random.Random, n: int, users: int = 25) -> pa.Table:
    return pa.table({
        "user_pid": [f"p_u{rng.randrange(users):02d}" for _ in range(n)],
        "purpose": [rng.choice(["personalization", "advertising"]) for _ in range(n)],
        "recipient": [rng.choice(["", "", "adnet"]) for _ in range(n)],
        "status": [rng.choice(["granted", "withdrawn"]) for _ in range(n)],
        "consent_type": [rng.choice(["general", "separate"]) for _ in range(n)],
        "notice_version": [rng.choice(["v1", "v2"]) for _ in range(n)],
        "ts": [(T0 + dt.timedelta(hours=rng.randrange(-3, 9))).isoformat() for _ in range(n)],
    })


def test_record_and_import_keep_the_current_table_equal_to_the_latest_in_the_log(
    state_url: str,
) -> None:
    rng = random.Random(3)
    store = OperationalStore(state_url, pseudonymize=KEY)
    book = ConsentBook(store, make_policy())
    random_history(book, rng)
    # batches of 7 repeat keys inside a batch, across batches and against single records
    book.import_arrow(consents_table(rng, 60), batch_size=7)
    random_history(book, rng)
    expected = from_log(store)
    assert len(expected) > 40
    assert current(store) == expected
    # and a single record that is older than the one in force does not replace it
    user, purpose, recipient = next(iter(expected))
    book.record(user, purpose, "withdrawn", recipient=recipient or None,
                given_at=T0 - dt.timedelta(days=30))
    assert current(store)[(user, purpose, recipient)] == expected[(user, purpose, recipient)]
    assert current(store) == from_log(store)
    store.close()


def test_migration_derives_the_table_from_an_existing_log_and_rebuild_repairs_it(
    state_url: str,
) -> None:
    rng = random.Random(5)
    store = OperationalStore(state_url, pseudonymize=KEY)
    random_history(ConsentBook(store, make_policy()), rng)
    with store.write() as conn:  # the store as it was before migration 4
        t.consents_current.drop(conn)
        conn.execute(sa.delete(t.schema_version).where(t.schema_version.c.version >= 4))
    store.close()
    store = OperationalStore(state_url, pseudonymize=KEY)
    assert store.schema_version() == MIGRATIONS[-1].version
    expected = from_log(store)
    assert expected and current(store) == expected
    with store.write() as conn:  # someone edits the derived table by hand
        conn.execute(sa.update(t.consents_current).values(status="granted"))
        conn.execute(sa.delete(t.consents_current).where(
            t.consents_current.c.purpose == "advertising"))
    assert current(store) != expected
    with store.write() as conn:
        assert consents_current.rebuild(conn) == len(expected)
    assert current(store) == expected
    store.close()


def test_concurrent_writers_of_one_key_leave_the_latest_record_in_force(
    state_url: str,
) -> None:
    store = OperationalStore(state_url, pseudonymize=KEY)
    book = ConsentBook(store, make_policy())

    def writer(seed: int) -> None:
        rng = random.Random(seed)
        for _ in range(15):
            book.record("p_shared", "personalization", rng.choice(["granted", "withdrawn"]),
                        given_at=T0 + dt.timedelta(minutes=rng.randrange(20)))

    threads = [threading.Thread(target=writer, args=(seed,)) for seed in range(4)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    expected = from_log(store)
    assert len(expected) == 1 and current(store) == expected
    store.close()


def test_a_write_that_fails_after_the_log_append_leaves_no_current_row_either(
    state_url: str, monkeypatch: pytest.MonkeyPatch,
) -> None:
    store = OperationalStore(state_url, pseudonymize=KEY)
    book = ConsentBook(store, make_policy())
    book.grant("p_kept", "personalization", given_at=T0)
    before = current(store)

    def broken(*args: Any, **kwargs: Any) -> None:
        raise RuntimeError("ledger unavailable")

    monkeypatch.setattr(book.ledger, "append", broken)
    monkeypatch.setattr(book.ledger, "append_many", broken)  # the importer's, once per import
    with pytest.raises(RuntimeError, match="ledger unavailable"):
        book.withdraw("p_kept", "personalization", given_at=T0 + dt.timedelta(hours=1))
    with pytest.raises(RuntimeError, match="ledger unavailable"):
        book.import_arrow(consents_table(random.Random(9), 4))
    with store.read() as conn:
        logged = conn.execute(sa.select(sa.func.count()).select_from(t.consents)).scalar()
    assert logged == 1 and current(store) == before == from_log(store)
    store.close()


def test_bulk_decisions_equal_single_checks_now_and_at_a_moment_inside_the_history(
    state_url: str,
) -> None:
    rng = random.Random(21)
    store = OperationalStore(state_url, pseudonymize=KEY)
    book = ConsentBook(store, make_policy())
    random_history(book, rng)
    # now: every record in force is older (read from consents_current); T0+2h: some are
    # later, so the record in force then is ranked from the log as of that moment
    for at in (T0 + dt.timedelta(days=1), T0 + dt.timedelta(hours=2)):
        for purpose, recipient in (("personalization", None), ("advertising", "adnet")):
            table = book.decisions(purpose, recipient=recipient, at=at)
            assert table.num_rows == 25
            for user, allowed, reason in zip(*(table.column(c).to_pylist() for c in
                                               ("user_pid", "allowed", "reason")), strict=True):
                single = book.allows(user, purpose, recipient=recipient, at=at)
                assert (allowed, reason) == (single.allowed, single.reason), (user, at)
    store.close()


def test_single_reads_through_the_current_table_answer_what_folding_the_log_answers(
    state_url: str,
) -> None:
    rng = random.Random(8)
    store = OperationalStore(state_url, pseudonymize=KEY)
    book = ConsentBook(store, make_policy())
    random_history(book, rng, users=12)
    # a record dated after now: now, the one before it is still in force
    book.grant("p_u03", "personalization", given_at=utcnow() + dt.timedelta(days=1))
    users = [f"p_u{i:02d}" for i in range(12)]
    keys = [(u, p, r) for u in users for p in ("personalization", "advertising")
            for r in ("", "adnet")]
    for at in (None, T0 + dt.timedelta(hours=2), utcnow()):
        expected = in_force_from_log(store, at)
        for user, purpose, recipient in keys:
            assert book.latest(user, purpose, recipient=recipient or None, at=at) == \
                expected.get((user, purpose, recipient)), (user, purpose, recipient, at)
    ever = in_force_from_log(store, None)
    assert ever[("p_u03", "personalization", "")].given_at > utcnow()
    for user in users:
        assert book.in_force(user) == sorted(
            (r for k, r in ever.items() if k[0] == user), key=lambda r: (r.purpose, r.recipient))
        standing, now = book.standing(user), in_force_from_log(store, utcnow())
        for _user, purpose, recipient in (k for k in keys if k[0] == user):
            assert standing.records.get((purpose, recipient)) == now.get((user, purpose,
                                                                          recipient))
            single = book.allows(user, purpose, recipient=recipient or None)
            mine = standing.allows(purpose, recipient=recipient or None)
            assert (mine.allowed, mine.reason, mine.record) == (single.allowed, single.reason,
                                                                single.record)
        one = book.standing(user, ("personalization",))
        assert one.records == {k: r for k, r in standing.records.items()
                               if k[0] == "personalization"}
        with pytest.raises(ProfileguardError, match="were not read"):
            one.allows("advertising")
    store.close()
