"""Ledger appends of the read path, committed in groups.

Every staff read of a person is written to the hash-chained ledger before the answer
leaves. One write transaction per read makes every read pay for taking the write lock
(an OS lock and SQLite's ``BEGIN IMMEDIATE``, shared with the other workers) and for a
commit. :class:`LedgerWriter` keeps one writer thread per worker: a request hands its
entry over and waits; the thread takes every entry waiting at that moment, appends them
in order through :meth:`Ledger.append_many <profileguard.store.ledger.Ledger.append_many>`
(one head read, one multi-row insert) inside one write transaction, commits, and only then releases the waiting requests. Under load
many reads share one lock and one commit; alone, a read waits for its own commit, as
before (no timer holds entries back).

What holds, exactly:

* the chain is the same chain: each entry is linked to the head under the write lock, so
  entries of several workers and of other writers interleave but never fork it;
* a read returns only after the transaction holding its entry committed; if the commit
  fails, every read of that group fails (500) and none of their entries is in the chain;
* an entry the ledger refuses (a raw identifier in it) fails only its own read, before
  anything is written, and the rest of the group commits;
* "committed" is the operational store's durability: on SQLite in WAL mode with the
  default ``synchronous = NORMAL``, a committed entry survives a crash of the process but
  the last commits before a power cut may be lost (``FULL`` fsyncs every commit, which
  grouping makes cheaper per read); on PostgreSQL, its commit.
"""

from __future__ import annotations

import asyncio
import queue
import threading
from collections.abc import Mapping
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Any

from profileguard.errors import ProfileguardError
from profileguard.store.ledger import Ledger, LedgerEntry

#: at most this many entries share one transaction (bounds the time the lock is held)
MAX_GROUP = 256


@dataclass
class _Pending:
    kind: str
    actor: str
    subject: str | None
    payload: dict[str, Any]
    done: Future[LedgerEntry] = field(default_factory=Future)


class LedgerWriter:
    """Appends entries to ``ledger`` from one thread, many per transaction."""

    def __init__(self, ledger: Ledger, *, max_group: int = MAX_GROUP) -> None:
        self.ledger = ledger
        self.max_group = max_group
        self.groups = 0
        self.entries = 0
        self._queue: queue.SimpleQueue[_Pending | None] = queue.SimpleQueue()
        self._closed = False
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None

    def append(self, kind: str, actor: str, subject_pid: str | None,
               payload: Mapping[str, Any] | None = None) -> LedgerEntry:
        """Append one entry and return it once it is committed (raises if it was not)."""
        return self._submit(kind, actor, subject_pid, payload).result()

    async def append_async(self, kind: str, actor: str, subject_pid: str | None,
                           payload: Mapping[str, Any] | None = None) -> LedgerEntry:
        """:meth:`append` for the event loop: other requests run while this one waits."""
        return await asyncio.wrap_future(self._submit(kind, actor, subject_pid, payload))

    def _submit(self, kind: str, actor: str, subject_pid: str | None,
                payload: Mapping[str, Any] | None) -> Future[LedgerEntry]:
        item = _Pending(kind, actor, subject_pid, dict(payload or {}))
        with self._lock:
            if self._closed:
                raise ProfileguardError("the ledger writer is closed; the server is stopping")
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="ledger-writer",
                                                daemon=True)
                self._thread.start()
            self._queue.put(item)
        return item.done

    def close(self) -> None:
        """Commit what is waiting, then stop the thread."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            thread = self._thread
            self._queue.put(None)
        if thread is not None:
            thread.join()

    def stats(self) -> dict[str, int]:
        return {"entries": self.entries, "groups": self.groups}

    def _run(self) -> None:
        stopping = False
        while not stopping:
            first = self._queue.get()
            group: list[_Pending] = []
            if first is None:
                stopping = True
            else:
                group.append(first)
            while len(group) < self.max_group:  # everything that waits right now
                try:
                    item = self._queue.get_nowait()
                except queue.Empty:
                    break
                if item is None:
                    stopping = True
                    break
                group.append(item)
            if group:
                self._commit(group)

    def _commit(self, group: list[_Pending]) -> None:
        written: list[tuple[_Pending, LedgerEntry]] = []
        try:
            with self.ledger.store.write() as conn:
                answers = self.ledger.append_many(
                    conn, [(i.kind, i.actor, i.subject, i.payload) for i in group])
        except Exception as exc:  # the group's transaction rolled back: none of it is written
            for item in group:
                item.done.set_exception(exc)
            return
        for item, answer in zip(group, answers, strict=True):
            if isinstance(answer, LedgerEntry):
                written.append((item, answer))
            else:  # refused before anything was written; the rest committed
                item.done.set_exception(answer)
        self.groups += 1
        self.entries += len(written)
        for item, entry in written:
            item.done.set_result(entry)
