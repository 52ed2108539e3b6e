"""The ledger's hash chain: every kind of tampering is caught at the first bad entry."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from typing import Any

import pytest
import sqlalchemy as sa
import typer
from typer.testing import CliRunner

from profileguard.cli.ledger import register
from profileguard.errors import ProfileguardError
from profileguard.store import tables as t
from profileguard.store.ledger import GENESIS, Ledger, canonical_json, entry_hash
from profileguard.store.ledger_verify import verify
from profileguard.store.operational import OperationalStore

N = 10


@pytest.fixture
def chain(state_url: str) -> Iterator[Ledger]:
    store = OperationalStore(state_url)
    ledger = Ledger(store)
    for i in range(1, N + 1):
        ledger.append(f"test.kind{i % 3}", f"staff-{i % 2}", f"p_subject{i}",
                      {"i": i, "note": "改正 ✓", "nested": {"a": [i, None, True]}})
    yield ledger
    store.close()


def _row(ledger: Ledger, seq: int) -> dict[str, Any]:
    with ledger.store.read() as conn:
        return dict(conn.execute(sa.select(t.ledger).where(t.ledger.c.seq == seq)).one()._mapping)


def _set(ledger: Ledger, seq: int, **values: Any) -> None:
    with ledger.store.write() as conn:
        conn.execute(t.ledger.update().where(t.ledger.c.seq == seq).values(**values))


def _renumber(ledger: Ledger, moves: dict[int, int]) -> None:
    """Move entries to new seqs in two steps so the primary key never collides."""
    with ledger.store.write() as conn:
        for old in moves:
            conn.execute(t.ledger.update().where(t.ledger.c.seq == old).values(seq=-old))
        for old, new in moves.items():
            conn.execute(t.ledger.update().where(t.ledger.c.seq == -old).values(seq=new))


def _snapshot(ledger: Ledger) -> list[dict[str, Any]]:
    with ledger.store.read() as conn:
        return [dict(r._mapping) for r in conn.execute(sa.select(t.ledger).order_by(t.ledger.c.seq))]


def _restore(ledger: Ledger, rows: list[dict[str, Any]]) -> None:
    with ledger.store.write() as conn:
        conn.execute(t.ledger.delete())
        conn.execute(t.ledger.insert(), rows)
    assert verify(ledger).ok


def _damage(ledger: Ledger) -> tuple[int, str]:
    report = verify(ledger)
    assert not report.ok
    assert report.damage is not None
    return report.damage.seq, report.damage.kind


def test_untouched_chain_verifies_hashes_canonical_json_and_refuses_raw_identifiers(
    chain: Ledger,
) -> None:
    report = verify(chain)
    assert report.ok and report.entries == N and report.head_seq == N
    first = _row(chain, 1)
    body = {"seq": 1, "ts": first["ts"], "kind": first["kind"], "actor": first["actor"],
            "subject": first["subject"], "payload": json.loads(first["payload"])}
    text = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    assert first["prev_hash"] == GENESIS
    assert first["hash"] == entry_hash(GENESIS, body)
    assert first["hash"] == hashlib.sha256((GENESIS + text).encode("utf-8")).hexdigest()
    assert "改正" in first["payload"]  # ensure_ascii=False
    # entries hold pseudonymous ids only
    with pytest.raises(ProfileguardError, match="mobile number"):
        chain.append("consent.granted", "api", "13812345678", {})
    with pytest.raises(ProfileguardError, match=r"payload\.contact: an e-mail address"):
        chain.append("consent.granted", "api", "p_ok", {"contact": "li.lei@example.com"})
    with pytest.raises(ProfileguardError, match="resident ID number"):
        chain.append("rights.received", "api", "p_ok", {"ids": ["11010519491231002X"]})
    assert chain.count() == N
    assert verify(chain).ok


def test_editing_any_field_of_any_entry_is_reported_as_altered_at_that_entry(
    chain: Ledger,
) -> None:
    pristine = _snapshot(chain)
    for seq in (1, 5, N):
        original = _row(chain, seq)
        edits: dict[str, Any] = {
            "ts": "2020-01-01T00:00:00.000000Z",
            "kind": "test.forged",
            "actor": "someone-else",
            "subject": "p_other",
            "payload": canonical_json({"i": 999}),
            "prev_hash": "f" * 64,
            "hash": "0" * 63 + "1",
        }
        for field, value in edits.items():
            _set(chain, seq, **{field: value})
            assert _damage(chain) == (seq, "altered"), (seq, field)
            _restore(chain, pristine)
        # same JSON, different text (whitespace): the stored entry was altered too
        _set(chain, seq, payload=json.dumps(json.loads(original["payload"]), indent=1))
        assert _damage(chain) == (seq, "altered"), (seq, "payload text")
        _restore(chain, pristine)
        # the seq field edited: the entry moved into a gap
        _renumber(chain, {seq: 1000})
        assert _damage(chain) == (seq, "altered"), (seq, "seq")
        _restore(chain, pristine)


def test_deleted_entries_are_reported_as_deleted_at_their_position(chain: Ledger) -> None:
    pristine = _snapshot(chain)
    for seq in (1, 4, N - 1):
        with chain.store.write() as conn:
            conn.execute(t.ledger.delete().where(t.ledger.c.seq == seq))
        assert _damage(chain) == (seq, "deleted"), seq
        _restore(chain, pristine)
    # deleted, and the later entries renumbered to close the gap
    with chain.store.write() as conn:
        conn.execute(t.ledger.delete().where(t.ledger.c.seq == 3))
    _renumber(chain, {s: s - 1 for s in range(4, N + 1)})
    assert _damage(chain) == (3, "deleted")
    _restore(chain, pristine)
    # a clean cut at the end is invisible to the chain alone, caught with an anchor
    head = chain.head()
    assert head is not None
    with chain.store.write() as conn:
        conn.execute(t.ledger.delete().where(t.ledger.c.seq >= N - 1))
    assert verify(chain).ok  # a hash chain alone cannot see a clean cut at its end
    report = verify(chain, anchor=(head.seq, head.hash))
    assert report.damage is not None
    assert (report.damage.seq, report.damage.kind) == (N - 1, "deleted")


def _forge(ledger: Ledger, seq: int, *, valid: bool) -> None:
    prev = _row(ledger, seq - 1)["hash"] if seq > 1 else GENESIS
    body = {"seq": seq, "ts": "2026-01-01T00:00:00.000000Z", "kind": "consent.granted",
            "actor": "attacker", "subject": "p_victim", "payload": {"purpose": "advertising"}}
    digest = entry_hash(prev, body) if valid else "ab" * 32
    with ledger.store.write() as conn:
        conn.execute(t.ledger.insert().values(
            seq=seq, ts=body["ts"], kind=body["kind"], actor=body["actor"],
            subject=body["subject"], payload=canonical_json(body["payload"]),
            prev_hash=prev, hash=digest))


def test_inserted_and_swapped_entries_are_reported_at_the_first_bad_position(chain: Ledger) -> None:
    pristine = _snapshot(chain)
    for seq in (1, 6):
        for valid in (True, False):  # an attacker who recomputes the hash, and one who cannot
            _renumber(chain, {s: s + 1 for s in range(seq, N + 1)})
            _forge(chain, seq, valid=valid)
            assert _damage(chain) == (seq, "inserted"), (seq, valid)
            _restore(chain, pristine)
    # two entries swapped
    for a, b in ((4, 5), (2, 9), (1, N)):
        _renumber(chain, {a: b, b: a})
        assert _damage(chain) == (a, "reordered"), (a, b)
        _restore(chain, pristine)


def test_cli_ledger_verify_exits_zero_when_intact_and_one_with_first_bad_entry(
    chain: Ledger,
) -> None:
    app = typer.Typer()
    register(app)  # the ledger commands alone, without importing every other command
    runner = CliRunner()
    ok = runner.invoke(app, ["ledger", "verify", "--state-url", chain.store.url,
                             "--format", "json"])
    assert ok.exit_code == 0, ok.output
    assert json.loads(ok.stdout)["ok"] is True
    _set(chain, 7, actor="someone-else")
    broken = runner.invoke(app, ["ledger", "verify", "--format", "json"],
                           env={"PROFILEGUARD_STATE_URL": chain.store.url})
    assert broken.exit_code == 1
    report = json.loads(broken.stdout)
    assert report["ok"] is False
    assert report["damage"]["seq"] == 7 and report["damage"]["kind"] == "altered"
    table = runner.invoke(app, ["ledger", "verify", "--state-url", chain.store.url])
    assert table.exit_code == 1 and "BROKEN at entry 7" in table.stdout
    shown = runner.invoke(app, ["ledger", "show", "--state-url", chain.store.url,
                                "--tail", "3", "--format", "json"])
    assert shown.exit_code == 0
    assert [e["seq"] for e in json.loads(shown.stdout)] == [N - 2, N - 1, N]
