"""The server's operational store checkpoints its WAL from a thread, never inside a commit."""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path

from profileguard.store.ledger import Ledger
from profileguard.store.ledger_verify import verify
from profileguard.store.operational import OperationalStore


def _autocheckpoint(store: OperationalStore) -> int:
    with store.read() as conn:
        return int(conn.exec_driver_sql("PRAGMA wal_autocheckpoint").scalar_one())


def _wal_frames(path: Path) -> int:
    """Frames in the WAL now (SQLite's own count, from a checkpoint that copies nothing
    a reader or writer would wait for). While the store's own thread is checkpointing, a
    second checkpoint cannot run and SQLite answers -1: asked again until it can."""
    deadline = time.monotonic() + 10
    while True:
        con = sqlite3.connect(path, isolation_level=None)
        try:
            _busy, frames, _copied = con.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
        finally:
            con.close()
        if frames >= 0 or time.monotonic() > deadline:
            return int(frames)
        time.sleep(0.01)


def test_commits_leave_the_checkpoint_to_the_thread(tmp_path: Path) -> None:
    db = tmp_path / "state.db"
    store = OperationalStore(f"sqlite:///{db}")
    try:
        assert _autocheckpoint(store) == 1000  # SQLite's default: a commit checkpoints
        assert store.checkpoint_in_background(interval_s=0.05)
        assert store.checkpoint_in_background(interval_s=0.05)  # once is enough
        assert _autocheckpoint(store) == 0  # every connection from now on
        ledger = Ledger(store)
        checkpointer = store._checkpointer
        assert checkpointer is not None
        for i in range(300):  # well past 1,000 WAL pages in all
            with store.write() as conn:
                ledger.append_many(conn, [("test.entry", "tester", None,
                                           {"i": i, "pad": "x" * 3000})])
        before = checkpointer.checkpoints  # two rounds after the last commit copy it all
        deadline = time.monotonic() + 30
        while checkpointer.checkpoints < before + 2 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert checkpointer.checkpoints >= before + 2 and checkpointer.failures == 0
        report = verify(ledger)
        assert report.ok and report.entries == 300
        # the thread copied the WAL back, so the next commit starts it from the beginning:
        # it holds that commit's frames, not the 300 before
        with store.write() as conn:
            ledger.append_many(conn, [("test.entry", "tester", None, {"i": -1})])
        assert 0 < _wal_frames(db) < 50
    finally:
        store.close()
    assert checkpointer is not None and not checkpointer._thread.is_alive()


def test_only_sqlite_files_have_a_checkpoint_thread(tmp_path: Path) -> None:
    memory = OperationalStore("sqlite:///:memory:")
    try:
        assert not memory.checkpoint_in_background()
    finally:
        memory.close()
