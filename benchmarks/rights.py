"""Consent checks per second (single and bulk) and ledger appends per second.

Builds an operational store with ``--users`` users (one personalization consent each,
every fifth withdrawn, every tenth also granting advertising to an independent
controller), imported through :meth:`ConsentBook.import_arrow` (identity map included),
then measures:

* import: consent rows per second (batched inserts, one ledger entry per batch);
* single: ``ConsentBook.allows`` for random users, one query each;
* bulk: ``ConsentBook.decisions`` for every user (one window-function query + the same
  ``decide`` per row), and ``export_to_engine`` into DuckDB;
* ledger: appends per second from one process (each its own transaction).

SQLite by default; ``--pg-url`` runs the same on a PostgreSQL database (which it empties).
Erasure time per user is added with the erasure work.

    python benchmarks/rights.py --users 1000000
"""

from __future__ import annotations

import argparse
import datetime as dt
import random
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pyarrow as pa

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import RESULTS, ResultTable
from profileguard.consent import ConsentBook, ConsentPolicy, NoticeVersion, Recipient
from profileguard.store import tables as t
from profileguard.store.engine import DuckDBEngine
from profileguard.store.ledger import Ledger
from profileguard.store.operational import OperationalStore

KEY = b"benchmark-only-pseudonym-key-000"
AT = dt.datetime(2026, 6, 1, tzinfo=dt.UTC)


def policy() -> ConsentPolicy:
    return ConsentPolicy(
        notice_versions=(NoticeVersion("v1", adds_purposes=frozenset({"personalization"})),
                         NoticeVersion("v2", adds_purposes=frozenset({"advertising"}))),
        recipients={"adnet": Recipient("adnet", role="controller")},
    )


def consents(users: int) -> pa.Table:
    ids = np.arange(users)
    extra = ids[ids % 10 == 0]
    all_ids = np.concatenate([ids, extra])
    n = len(all_ids)
    is_ad = np.zeros(n, dtype=bool)
    is_ad[users:] = True
    days = (all_ids % 28) + 1
    return pa.table({
        "user_id": pa.array([f"user-{i:07d}" for i in all_ids]),
        "purpose": pa.array(np.where(is_ad, "advertising", "personalization")),
        "recipient": pa.array(np.where(is_ad, "adnet", "")),
        "status": pa.array(np.where((all_ids % 5 == 0) & ~is_ad, "withdrawn", "granted")),
        "consent_type": pa.array(np.where(is_ad, "separate", "general")),
        "notice_version": pa.array(np.where(all_ids % 7 == 0, "v1", "v2")),
        "surface": pa.array(["app_signup"] * n),
        "pre_ticked": pa.array(np.zeros(n, dtype=bool)),
        "bundled": pa.array(np.zeros(n, dtype=bool)),
        "clicks_to_give": pa.array(np.ones(n, dtype=np.int64)),
        "clicks_to_withdraw": pa.array(np.ones(n, dtype=np.int64)),
        "ts": pa.array([f"2026-05-{d:02d}T08:00:00+00:00" for d in days]),
    })


def clear(store: OperationalStore) -> None:
    with store.write() as conn:
        for table in reversed(t.metadata.sorted_tables):
            if table.name != "schema_version":
                conn.execute(table.delete())


def run(url: str, users: int, singles: int, appends: int, label: str,
        table: ResultTable) -> None:
    store = OperationalStore(url, pseudonymize=KEY)
    clear(store)
    book = ConsentBook(store, policy())
    data = consents(users)

    start = time.perf_counter()
    rows = book.import_arrow(data, batch_size=50_000)
    took = time.perf_counter() - start
    table.add(label, "import consent history", rows, took, rows / took)

    pids = [store.pid_of(f"user-{i:07d}") for i in random.Random(1).sample(range(users),
                                                                            min(singles, users))]
    start = time.perf_counter()
    allowed = sum(book.allows(pid, "personalization", at=AT).allowed for pid in pids)
    took = time.perf_counter() - start
    table.add(label, "single allows() check", len(pids), took, len(pids) / took)

    start = time.perf_counter()
    decisions = book.decisions("personalization", at=AT)
    took = time.perf_counter() - start
    bulk_allowed = sum(decisions.column("allowed").to_pylist())
    table.add(label, "bulk decisions, 1 purpose", decisions.num_rows, took,
              decisions.num_rows / took)

    engine = DuckDBEngine()
    start = time.perf_counter()
    exported = book.export_to_engine(engine, "consent_decisions",
                                     ["personalization", "advertising"],
                                     recipients={"advertising": ["adnet"]}, at=AT)
    took = time.perf_counter() - start
    engine.close()
    table.add(label, "export_to_engine (3 uses) → DuckDB", exported, took, exported / took)

    ledger = Ledger(store)
    start = time.perf_counter()
    for i in range(appends):
        ledger.append("bench.append", "benchmark", f"p_bench{i % 100}", {"i": i})
    took = time.perf_counter() - start
    table.add(label, "ledger append (1 process)", appends, took, appends / took)
    table.notes.append(f"{label}: {allowed:,} of {len(pids):,} sampled users allowed; "
                       f"{bulk_allowed:,} of {decisions.num_rows:,} in bulk")
    store.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=1_000_000)
    parser.add_argument("--singles", type=int, default=5_000)
    parser.add_argument("--appends", type=int, default=2_000)
    parser.add_argument("--pg-url", default=None,
                        help="also run on this PostgreSQL database (its tables are emptied)")
    parser.add_argument("--pg-users", type=int, default=None,
                        help="users for the PostgreSQL run (default: --users)")
    parser.add_argument("--no-results", action="store_true", help="do not append RESULTS.md")
    args = parser.parse_args()

    command = "python benchmarks/rights.py " + " ".join(sys.argv[1:])
    table = ResultTable(f"rights — consent checks and ledger, {args.users:,} users",
                        command.strip(), ["backend", "operation", "items", "seconds",
                                          "per second"])
    with tempfile.TemporaryDirectory() as tmp:
        run(f"sqlite:///{Path(tmp) / 'state.db'}", args.users, args.singles, args.appends,
            "SQLite (WAL, synchronous=NORMAL)", table)
    if args.pg_url:
        run(args.pg_url, args.pg_users or args.users, args.singles, args.appends,
            "PostgreSQL", table)
    table.notes.append("single = one indexed query per check; bulk = one window-function "
                       "query + the same decide() per user; export includes Arrow → DuckDB")
    table.emit(None if args.no_results else RESULTS)


if __name__ == "__main__":
    main()
