"""Appending a group of ledger entries in one transaction (the server's group commit):
one chain, in order, exactly as single appends would make it; a refused entry is left out
without breaking the others' links."""

from __future__ import annotations

from typing import Any

from profileguard.errors import ProfileguardError
from profileguard.store.ledger import Ledger, LedgerEntry, entry_hash
from profileguard.store.ledger_verify import verify

PID = "p" * 64


def test_a_group_extends_the_chain_in_order_and_skips_a_refused_entry(ledger: Ledger) -> None:
    first = ledger.append("consent.grant", "subject", PID, {"purpose": "analytics"})
    items: list[tuple[str, str, str | None, dict[str, Any]]] = [("profile.read", "apikey:1:dpo", PID, {"n": 1}),
             ("profile.read", "apikey:1:dpo", PID, {"phone": "13812345678"}),  # raw: refused
             ("profile.read", "apikey:1:dpo", PID, {"n": 3})]
    with ledger.store.write() as conn:
        answers = ledger.append_many(conn, items)
    assert isinstance(answers[1], ProfileguardError) and "a mobile number" in str(answers[1])
    a, c = answers[0], answers[2]
    assert isinstance(a, LedgerEntry) and isinstance(c, LedgerEntry)
    assert (a.seq, c.seq) == (first.seq + 1, first.seq + 2)
    assert a.prev_hash == first.hash and c.prev_hash == a.hash
    assert a.hash == entry_hash(first.hash, a.body()) and a.payload == {"n": 1}
    report = verify(ledger)
    assert report.ok and report.entries == 3
    assert [e.seq for e in ledger.tail(5)] == [first.seq, a.seq, c.seq]


def test_a_group_of_only_refused_entries_writes_nothing(ledger: Ledger) -> None:
    with ledger.store.write() as conn:
        answers = ledger.append_many(conn, [("x", "a", PID, {"mail": "a@b.cn"})])
    assert isinstance(answers[0], ProfileguardError)
    assert ledger.head() is None
