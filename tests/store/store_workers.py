"""Process entry points for the multi-process store tests (kept light: spawn imports this)."""

from __future__ import annotations

from multiprocessing.queues import Queue
from multiprocessing.synchronize import Barrier
from typing import Any

from profileguard.store.ledger import Ledger
from profileguard.store.operational import OperationalStore


def open_and_migrate(url: str, barrier: Barrier, out: Queue[Any]) -> None:
    barrier.wait()
    store = OperationalStore(url, migrate=False)
    out.put(store.migrate())
    store.close()


def append_many(url: str, worker: int, count: int, barrier: Barrier) -> None:
    store = OperationalStore(url, migrate=False)
    ledger = Ledger(store)
    barrier.wait()
    for i in range(count):
        ledger.append("test.concurrent", f"worker-{worker}", f"p_w{worker}", {"i": i})
    store.close()
