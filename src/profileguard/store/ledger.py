"""The tamper-evident ledger: a hash chain of everything people decided and asked for.

Each entry is ``(seq, ts, kind, actor, subject, payload)`` and
``hash = sha256(prev_hash + canonical JSON of the entry)`` with canonical JSON = sorted
keys, no whitespace, ``ensure_ascii=False``, UTF-8. The first entry's ``prev_hash`` is 64
zeros. ``seq`` is the primary key and each append takes the chain lock before reading the
head (PostgreSQL: a transaction-level advisory lock; SQLite: ``BEGIN IMMEDIATE``), so
concurrent processes extend one chain and a race can never fork it.

Entries hold pseudonymous ids only: ``subject`` is a pid and payload values that look
like raw identifiers (mobile numbers, e-mail addresses, resident ID numbers) are refused,
so erasing a person deletes their identity-map row and leaves the chain intact.

Why hand-written: a hash chain is a dozen lines over ``hashlib``; the value is in the
transaction discipline and in the diagnosis of damage (:mod:`.ledger_verify`).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from profileguard.errors import ProfileguardError
from profileguard.store import tables as t
from profileguard.store.operational import OperationalStore

GENESIS = "0" * 64
#: advisory-lock key of the chain head ("pgledger" as an int)
LEDGER_LOCK_KEY = 0x70676C6564676572

#: digit runs inside hexadecimal text (digests, hashes) are not identifiers, hence the
#: hex-digit look-arounds
_RAW_IDENTIFIERS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("a mobile number", re.compile(r"(?<![0-9A-Fa-f])(?:\+?86[- ]?)?1[3-9]\d{9}(?![0-9A-Fa-f])")),
    ("an e-mail address", re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}")),
    ("a resident ID number", re.compile(r"(?<![0-9A-Fa-f])\d{17}[\dXx](?![0-9A-Fa-f])")),
)


def canonical_json(value: Any) -> str:
    """Sorted keys, no whitespace, non-ASCII kept as is."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


@dataclass(frozen=True)
class LedgerEntry:
    seq: int
    ts: str
    kind: str
    actor: str
    subject: str | None
    payload: dict[str, Any]
    prev_hash: str
    hash: str

    def body(self, seq: int | None = None) -> dict[str, Any]:
        """The hashed part of the entry (optionally as if it were at position ``seq``)."""
        return {
            "seq": self.seq if seq is None else seq,
            "ts": self.ts,
            "kind": self.kind,
            "actor": self.actor,
            "subject": self.subject,
            "payload": self.payload,
        }

    def as_dict(self) -> dict[str, Any]:
        return {**self.body(), "prev_hash": self.prev_hash, "hash": self.hash}


def entry_hash(prev_hash: str, body: Mapping[str, Any]) -> str:
    return hashlib.sha256((prev_hash + canonical_json(dict(body))).encode("utf-8")).hexdigest()


def find_raw_identifier(value: Any, path: str = "payload") -> str | None:
    """Where in ``value`` a raw identifier appears (``payload.x[2]: a mobile number``)."""
    if isinstance(value, str):
        for label, pattern in _RAW_IDENTIFIERS:
            if pattern.search(value):
                return f"{path}: {label}"
        return None
    if isinstance(value, Mapping):
        for key, item in value.items():
            found = find_raw_identifier(str(key), f"{path} key") or find_raw_identifier(
                item, f"{path}.{key}"
            )
            if found:
                return found
        return None
    if isinstance(value, list | tuple):
        for i, item in enumerate(value):
            found = find_raw_identifier(item, f"{path}[{i}]")
            if found:
                return found
    return None


#: the head of the chain (built once: the read path asks for it on every group commit)
_HEAD = sa.select(t.ledger.c.seq, t.ledger.c.hash).order_by(t.ledger.c.seq.desc()).limit(1)


def _refusal(kind: str, actor: str, subject: str | None,
             payload: Mapping[str, Any]) -> ProfileguardError | None:
    """Why the ledger refuses this entry (a raw identifier in it), or None."""
    for label, value in (("subject", subject), ("actor", actor), ("kind", kind)):
        found = find_raw_identifier(value, label) if value is not None else None
        if found:
            return ProfileguardError(
                f"ledger entry {kind!r} refused: {found}; the ledger holds pseudonymous "
                "ids only (pass the user's pid, e.g. from OperationalStore.resolve)"
            )
    found = find_raw_identifier(payload)
    if found:
        return ProfileguardError(
            f"ledger entry {kind!r} refused: {found}; the ledger holds pseudonymous ids "
            "only, put raw values in the operational tables and reference them by id"
        )
    return None


class Ledger:
    """Append-only hash chain in the operational store's ``ledger`` table."""

    def __init__(self, store: OperationalStore) -> None:
        self.store = store

    def append(
        self,
        kind: str,
        actor: str,
        subject_pid: str | None,
        payload: Mapping[str, Any] | None = None,
        *,
        conn: sa.Connection | None = None,
        ts: dt.datetime | None = None,
    ) -> LedgerEntry:
        """Append one entry; inside ``conn``'s transaction when given (it must be a write).

        Pass ``conn`` to commit the entry together with the change it records.
        """
        body_payload = dict(payload or {})
        refused = _refusal(kind, actor, subject_pid, body_payload)
        if refused is not None:
            raise refused
        item = (kind, actor, subject_pid, body_payload)
        if conn is not None:
            return self._chain(conn, [item], ts)[0]
        with self.store.write() as own:
            return self._chain(own, [item], ts)[0]

    def append_many(
        self, conn: sa.Connection, items: Sequence[tuple[str, str, str | None, Mapping[str, Any]]]
    ) -> list[LedgerEntry | ProfileguardError]:
        """Append ``(kind, actor, subject_pid, payload)`` entries in order inside ``conn``'s
        write transaction, with one read of the head and one multi-row insert — the
        server's group commit, where a per-entry round trip would be most of the cost.

        An entry refused for a raw identifier is not written; its error takes its place
        in the answer and the others are chained as if it had never been asked for.
        """
        bodies = [(kind, actor, subject, dict(payload)) for kind, actor, subject, payload in items]
        refusals = [_refusal(*body) for body in bodies]
        accepted = [body for body, refused in zip(bodies, refusals, strict=True) if refused is None]
        chained = iter(self._chain(conn, accepted, None) if accepted else [])
        return [refused if refused is not None else next(chained) for refused in refusals]

    def _chain(
        self,
        conn: sa.Connection,
        items: Sequence[tuple[str, str, str | None, dict[str, Any]]],
        ts: dt.datetime | None,
    ) -> list[LedgerEntry]:
        """Link ``items`` to the head, in order, and insert them (the caller holds the
        write transaction; the chain lock is taken here before the head is read)."""
        self.store.lock(conn, LEDGER_LOCK_KEY)
        head = conn.execute(_HEAD).first()
        seq, prev = (0, GENESIS) if head is None else (int(head[0]), str(head[1]))
        entries: list[LedgerEntry] = []
        rows: list[dict[str, Any]] = []
        for kind, actor, subject, payload in items:
            seq += 1
            when = (ts or dt.datetime.now(dt.UTC)).astimezone(dt.UTC)
            stamp = when.isoformat(timespec="microseconds").replace("+00:00", "Z")
            text = canonical_json(payload)
            entry = LedgerEntry(seq=seq, ts=stamp, kind=kind, actor=actor, subject=subject,
                                payload=json.loads(text), prev_hash=prev, hash="")
            digest = entry_hash(prev, entry.body())
            entries.append(LedgerEntry(**{**entry.__dict__, "hash": digest}))
            rows.append({"seq": seq, "ts": stamp, "kind": kind, "actor": actor,
                         "subject": subject, "payload": canonical_json(entry.payload),
                         "prev_hash": prev, "hash": digest})
            prev = digest
        conn.execute(t.ledger.insert(), rows)
        return entries

    def head(self) -> LedgerEntry | None:
        entries = self.tail(1)
        return entries[0] if entries else None

    def tail(self, n: int = 20) -> list[LedgerEntry]:
        with self.store.read() as conn:
            rows = conn.execute(
                sa.select(t.ledger).order_by(t.ledger.c.seq.desc()).limit(max(n, 0))
            ).all()
        return [row_to_entry(r._mapping) for r in reversed(rows)]

    def entries(self, *, subject_pid: str | None = None) -> list[LedgerEntry]:
        stmt = sa.select(t.ledger).order_by(t.ledger.c.seq)
        if subject_pid is not None:
            stmt = stmt.where(t.ledger.c.subject == subject_pid)
        with self.store.read() as conn:
            return [row_to_entry(r._mapping) for r in conn.execute(stmt)]

    def count(self) -> int:
        with self.store.read() as conn:
            return int(conn.execute(sa.select(sa.func.count()).select_from(t.ledger)).scalar() or 0)

    def iter_raw(self, batch: int = 10_000) -> Iterator[dict[str, Any]]:
        """Every stored row in seq order, as stored (payload text unparsed), in batches."""
        last: int | None = None
        while True:
            stmt = sa.select(t.ledger).order_by(t.ledger.c.seq).limit(batch)
            if last is not None:
                stmt = stmt.where(t.ledger.c.seq > last)
            with self.store.read() as conn:
                rows = [dict(r._mapping) for r in conn.execute(stmt)]
            if not rows:
                return
            yield from rows
            last = int(rows[-1]["seq"])


def row_to_entry(row: Mapping[Any, Any]) -> LedgerEntry:
    """A stored row as an entry (a payload that is not JSON is kept as ``{"__raw__": text}``)."""
    try:
        payload = json.loads(row["payload"])
        if not isinstance(payload, dict):
            payload = {"__raw__": row["payload"]}
    except (TypeError, ValueError):
        payload = {"__raw__": row["payload"]}
    return LedgerEntry(
        seq=int(row["seq"]),
        ts=str(row["ts"]),
        kind=str(row["kind"]),
        actor=str(row["actor"]),
        subject=None if row["subject"] is None else str(row["subject"]),
        payload=payload,
        prev_hash=str(row["prev_hash"]),
        hash=str(row["hash"]),
    )
