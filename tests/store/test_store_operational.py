"""The operational store: migrations, SQLite settings, identity map (SQLite and PostgreSQL)."""

from __future__ import annotations

import multiprocessing as mp

import pytest
import sqlalchemy as sa
from store_workers import open_and_migrate

from profileguard.errors import ProfileguardError
from profileguard.process.pseudonym import pseudonym
from profileguard.store import tables as t
from profileguard.store.operational import MIGRATIONS, OperationalStore, default_url

KEY = b"operational-test-key-0123456789"


def test_fresh_store_applies_every_migration_once_and_reopen_applies_none(state_url: str) -> None:
    store = OperationalStore(state_url, migrate=False)
    assert store.schema_version() == 0
    assert store.migrate() == [m.version for m in MIGRATIONS]
    assert store.migrate() == []
    store.close()
    again = OperationalStore(state_url)
    assert again.schema_version() == MIGRATIONS[-1].version
    with again.read() as conn:
        versions = conn.execute(sa.select(t.schema_version.c.version)).scalars().all()
        tables = set(sa.inspect(conn).get_table_names())
        ledger_indexes = {i["name"] for i in sa.inspect(conn).get_indexes("ledger")}
    assert sorted(versions) == [m.version for m in MIGRATIONS]
    assert set(t.metadata.tables) <= tables
    assert {"ix_ledger_hash", "ix_ledger_prev_hash"} <= ledger_indexes
    again.close()


def test_a_store_made_before_migration_5_loses_the_redundant_consent_index(
        state_url: str) -> None:
    """Stores created by migrations 1–4 have an index on consents.user_pid alone; migration
    5 drops it (ix_consents_lookup begins with user_pid), and the lookup index stays."""
    store = OperationalStore(state_url, migrate=False)
    with store.write() as conn:
        t.schema_version.create(conn, checkfirst=True)
        for m in MIGRATIONS[:4]:
            m.apply(conn)
            conn.execute(t.schema_version.insert().values(
                version=m.version, description=m.description, applied_at=sa.func.now()))
        conn.exec_driver_sql("CREATE INDEX ix_consents_user_pid ON consents (user_pid)")

    def indexes() -> set[str]:
        with store.read() as conn:
            return {str(i["name"]) for i in sa.inspect(conn).get_indexes("consents")}

    assert {"ix_consents_user_pid", "ix_consents_lookup"} <= indexes()
    assert store.migrate() == [5]
    assert "ix_consents_user_pid" not in indexes() and "ix_consents_lookup" in indexes()
    store.close()


@pytest.mark.slow
def test_two_processes_migrating_a_fresh_database_apply_each_migration_once(
    state_url: str,
) -> None:
    ctx = mp.get_context("spawn")
    barrier = ctx.Barrier(2)
    out = ctx.Queue()
    procs = [ctx.Process(target=open_and_migrate, args=(state_url, barrier, out))
             for _ in range(2)]
    for p in procs:
        p.start()
    results = [out.get(timeout=60) for _ in procs]
    for p in procs:
        p.join(60)
        assert p.exitcode == 0
    applied = sorted(v for r in results for v in r)
    assert applied == [m.version for m in MIGRATIONS]
    store = OperationalStore(state_url, migrate=False)
    with store.read() as conn:
        rows = conn.execute(sa.select(sa.func.count()).select_from(t.schema_version)).scalar()
    assert rows == len(MIGRATIONS)
    store.close()


def test_sqlite_store_runs_in_wal_mode_with_foreign_keys_and_busy_timeout(tmp_path) -> None:  # type: ignore[no-untyped-def]
    store = OperationalStore(default_url(tmp_path / "ws"))
    assert (tmp_path / "ws" / ".profileguard" / "state.db").is_file()
    with store.read() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() >= 1000
    with pytest.raises(sa.exc.IntegrityError), store.write() as conn:
        conn.execute(t.export_members.insert().values(export_id=999, user_pid="p_x"))
    store.close()


def test_pid_matches_the_pseudonymizer_and_identity_map_resolves_both_ways(state_url: str) -> None:
    store = OperationalStore(state_url, pseudonymize=KEY)
    pid = store.pid_for("user-0042")
    assert pid == pseudonym("user-0042", KEY)
    assert store.pid_for("user-0042") == pid  # idempotent, no duplicate row
    assert store.user_id_for(pid) == "user-0042"
    assert store.resolve("user-0042") == pid
    assert store.resolve(pid) == pid
    assert store.resolve("never-seen") == pseudonym("never-seen", KEY)
    assert store.forget_identity(pid) == 1
    assert store.user_id_for(pid) is None
    with store.read() as conn:
        raw = conn.execute(sa.select(sa.func.count()).select_from(t.identity_map)).scalar()
    assert raw == 0
    store.close()


def test_raw_id_without_a_key_is_an_error_and_the_key_is_not_stored(state_url: str) -> None:
    keyed = OperationalStore(state_url, pseudonymize=KEY)
    keyed.register_identities([f"u{i}" for i in range(50)])
    with keyed.read() as conn:
        dump = " ".join(str(v) for table in t.metadata.sorted_tables
                        for row in conn.execute(sa.select(table)) for v in row)
    assert KEY.decode() not in dump
    keyed.close()
    keyless = OperationalStore(state_url)
    assert keyless.resolve("u7") == pseudonym("u7", KEY)  # known in the identity map
    with pytest.raises(ProfileguardError, match="pseudonymization key"):
        keyless.resolve("not-registered")
    keyless.close()
