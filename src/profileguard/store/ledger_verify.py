"""Verify the ledger's hash chain and say what happened where it breaks.

The scan streams the chain in ``seq`` order and stops at the first entry that does not
verify: its hash does not match its content, its ``seq`` is not the next one, or its
``prev_hash`` is not the previous entry's hash. It then diagnoses the damage with what the
chain itself proves (every hash commits to the entry's own ``seq`` and its predecessor):

* **altered** — an entry's content (any field, incl. ``hash`` and ``prev_hash``) no longer
  matches its hash, or an entry was renumbered into a gap;
* **deleted** — entries are missing (a gap in ``seq``, or later entries renumbered down);
* **inserted** — an entry that the next intact entry skips over, or intact entries that
  were renumbered up to make room;
* **reordered** — two intact entries swapped positions.

A chain cut back at its end, or rewritten wholesale with recomputed hashes, cannot be
detected from the chain alone; pass an *anchor* (a ``seq`` and ``hash`` recorded elsewhere,
e.g. printed by ``profileguard ledger show``) to detect that too.

Why hand-written: no library verifies a SQL-stored hash chain with this diagnosis.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any

import sqlalchemy as sa

from profileguard.store import tables as t
from profileguard.store.ledger import (
    GENESIS,
    Ledger,
    LedgerEntry,
    canonical_json,
    entry_hash,
    row_to_entry,
)

#: how far from its stored position an entry's original position is searched
SEARCH_WINDOW = 64


@dataclass(frozen=True)
class Damage:
    """The first bad entry: its position (``seq``), the kind of damage and what was seen."""

    seq: int
    kind: str  # altered | deleted | inserted | reordered
    detail: str


@dataclass(frozen=True)
class VerifyReport:
    ok: bool
    entries: int
    head_seq: int | None
    head_hash: str | None
    damage: Damage | None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _intact(row: Mapping[Any, Any], entry: LedgerEntry, seq: int) -> bool:
    """Whether the stored row's hash proves its content, as if it sat at ``seq``."""
    if row["payload"] != canonical_json(entry.payload):
        return False
    return entry_hash(entry.prev_hash, entry.body(seq)) == entry.hash


class _Diagnosis:
    def __init__(self, ledger: Ledger) -> None:
        self.store = ledger.store

    def _one(self, stmt: sa.Select[Any]) -> dict[str, Any] | None:
        with self.store.read() as conn:
            row = conn.execute(stmt.limit(1)).first()
        return None if row is None else dict(row._mapping)

    def row_at(self, seq: int) -> dict[str, Any] | None:
        return self._one(sa.select(t.ledger).where(t.ledger.c.seq == seq))

    def row_after(self, seq: int) -> dict[str, Any] | None:
        return self._one(
            sa.select(t.ledger).where(t.ledger.c.seq > seq).order_by(t.ledger.c.seq)
        )

    def row_with_hash(self, digest: str) -> dict[str, Any] | None:
        return self._one(sa.select(t.ledger).where(t.ledger.c.hash == digest))

    def row_with_prev(self, digest: str, not_seq: int) -> dict[str, Any] | None:
        return self._one(
            sa.select(t.ledger).where(t.ledger.c.prev_hash == digest, t.ledger.c.seq != not_seq)
        )

    def original_seq(self, row: Mapping[Any, Any]) -> int | None:
        """The position at which this row's hash verifies, if any (it may have been moved)."""
        entry = row_to_entry(row)
        candidates = [entry.seq]
        if entry.prev_hash == GENESIS:
            candidates.append(1)
        pred = self.row_with_hash(entry.prev_hash)
        if pred is not None:
            candidates += [int(pred["seq"]) + 1, int(pred["seq"]), int(pred["seq"]) + 2]
        for step in range(1, SEARCH_WINDOW + 1):
            candidates += [entry.seq - step, entry.seq + step]
        for seq in candidates:
            if seq >= 1 and _intact(row, entry, seq):
                return seq
        return None

    def diagnose(
        self, row: Mapping[Any, Any], last_good: LedgerEntry | None
    ) -> Damage:
        entry = row_to_entry(row)
        expected = last_good.seq + 1 if last_good else 1
        expected_prev = last_good.hash if last_good else GENESIS
        here = entry.seq
        origin = self.original_seq(row)

        if origin is not None and origin != here:
            other = self.row_at(origin)
            if other is not None and self.original_seq(other) == here:
                return Damage(here, "reordered",
                              f"entries {here} and {origin} swapped places")
            if origin > here:
                return Damage(expected, "deleted",
                              f"entries {expected}..{origin - 1} were deleted and later entries "
                              f"renumbered (entry {origin} now sits at {here})")
            if other is None:
                return Damage(origin, "altered", f"entry {origin} was renumbered to {here}")
            return Damage(origin, "inserted",
                          f"entries were inserted at {origin}..{here - 1}; entry {origin} was "
                          f"renumbered to {here}")

        if origin is None:
            following = self.row_after(here)
            if following is not None and str(following["prev_hash"]) == expected_prev:
                return Damage(here, "inserted",
                              f"entry {here} is not part of the chain: entry "
                              f"{following['seq']} follows entry {expected - 1} directly")
            if row["payload"] != canonical_json(entry.payload):
                return Damage(here, "altered", f"entry {here}: the payload text was changed")
            return Damage(here, "altered",
                          f"entry {here}: its content does not match its hash (a field, the "
                          "hash or prev_hash was edited)")

        # the entry itself is intact at its position: something before it is missing/wrong
        if here > expected:
            moved = self.row_with_prev(expected_prev, not_seq=here)
            if moved is not None:
                return Damage(expected, "altered",
                              f"entry {expected} was renumbered to {moved['seq']}")
            return Damage(expected, "deleted",
                          f"entries {expected}..{here - 1} are missing (entry {here} follows "
                          f"entry {expected - 1})")
        culprit = last_good.seq if last_good else here
        return Damage(culprit, "altered",
                      f"entry {here} is not chained to entry {culprit}: entry {culprit} was "
                      "replaced")


def verify(ledger: Ledger, anchor: tuple[int, str] | None = None) -> VerifyReport:
    """Walk the whole chain; OK, or the first bad entry and what kind of damage it is."""
    last_good: LedgerEntry | None = None
    count = 0
    for row in ledger.iter_raw():
        entry = row_to_entry(row)
        expected = last_good.seq + 1 if last_good else 1
        expected_prev = last_good.hash if last_good else GENESIS
        if entry.seq == expected and entry.prev_hash == expected_prev and _intact(
            row, entry, entry.seq
        ):
            last_good = entry
            count += 1
            continue
        damage = _Diagnosis(ledger).diagnose(row, last_good)
        return _report(count, last_good, damage)
    if anchor is not None:
        seq, digest = anchor
        if last_good is None or last_good.seq < seq:
            end = last_good.seq if last_good else 0
            return _report(count, last_good, Damage(
                end + 1, "deleted",
                f"the chain ends at entry {end} but the anchor records entry {seq}: entries "
                f"{end + 1}..{seq} were cut off"))
        anchored = _Diagnosis(ledger).row_at(seq)
        if anchored is None or str(anchored["hash"]) != digest:
            return _report(count, last_good, Damage(
                seq, "altered",
                f"entry {seq} does not have the anchored hash {digest[:12]}…: the chain up to "
                "it was rewritten"))
    return _report(count, last_good, None)


def _report(count: int, head: LedgerEntry | None, damage: Damage | None) -> VerifyReport:
    return VerifyReport(
        ok=damage is None,
        entries=count,
        head_seq=head.seq if head else None,
        head_hash=head.hash if head else None,
        damage=damage,
    )
