"""Concurrent appends from many processes stay one valid chain (SQLite and PostgreSQL)."""

from __future__ import annotations

import multiprocessing as mp
from collections import defaultdict

import pytest
import sqlalchemy as sa
from store_workers import append_many

from profileguard.store.ledger import Ledger
from profileguard.store.ledger_verify import verify
from profileguard.store.operational import OperationalStore

WORKERS, EACH = 8, 500


def _fast_commits_for_this_test(url: str) -> None:
    """PostgreSQL: skip the per-commit fsync wait in this throwaway database.

    A durability knob only; locking and visibility — what this test is about — are unchanged.
    """
    if url.startswith("postgresql"):
        store = OperationalStore(url, migrate=False)
        name = sa.engine.make_url(url).database
        with store.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.exec_driver_sql(f'ALTER DATABASE "{name}" SET synchronous_commit = off')
        store.close()


@pytest.mark.slow
def test_eight_processes_appending_500_entries_each_make_one_valid_chain(state_url: str) -> None:
    OperationalStore(state_url).close()  # migrated before the race starts
    _fast_commits_for_this_test(state_url)
    ctx = mp.get_context("spawn")
    barrier = ctx.Barrier(WORKERS)
    procs = [ctx.Process(target=append_many, args=(state_url, w, EACH, barrier))
             for w in range(WORKERS)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(240)
        assert p.exitcode == 0
    store = OperationalStore(state_url)
    ledger = Ledger(store)
    report = verify(ledger)
    assert report.ok, report.damage
    assert report.entries == WORKERS * EACH and report.head_seq == WORKERS * EACH
    per_worker: dict[str, list[int]] = defaultdict(list)
    for entry in ledger.entries():
        per_worker[entry.actor].append(int(entry.payload["i"]))
    assert len(per_worker) == WORKERS
    # each worker's appends are all there, in the order it made them
    assert all(seen == list(range(EACH)) for seen in per_worker.values())
    store.close()
