"""The hot read path: ledger entries committed in groups (never before the answer, never
forking the chain), the per-worker cache of a person's snapshot tags (which never hides a
decision), JSON answers, and the server settings behind them."""

from __future__ import annotations

import json
import math
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import anyio.to_thread
import pytest
from server_harness import Served

from profileguard.errors import ProfileguardError
from profileguard.model.explain import ExplainedTag
from profileguard.server.answers import json_answer, json_text
from profileguard.server.explained import ExplainedProfiles, SnapshotTag
from profileguard.server.ledger_writer import LedgerWriter
from profileguard.server.people import visible_profile
from profileguard.store.ledger import Ledger
from profileguard.store.ledger_verify import verify
from profileguard.store.operational import OperationalStore

ADULT = "U0000004"  # has personalization consent and tags in the 300-user demo
PID = "p" * 64


def _wait_for(condition: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + 30
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.01)


def _appenders(writer: LedgerWriter, payloads: list[dict[str, Any]]
               ) -> tuple[list[threading.Thread], dict[int, Any]]:
    results: dict[int, Any] = {}

    def one(i: int, payload: dict[str, Any]) -> None:
        try:
            results[i] = writer.append("profile.read", "apikey:1:dpo", PID, payload)
        except Exception as exc:  # the test looks at what each thread got
            results[i] = exc

    threads = [threading.Thread(target=one, args=(i, p)) for i, p in enumerate(payloads)]
    return threads, results


def _queued_behind_a_held_lock(ledger: Ledger, writer: LedgerWriter,
                               payloads: list[dict[str, Any]]) -> dict[int, Any]:
    """Append ``payloads`` from threads while this thread holds the write lock: the writer
    takes the first one and waits for the lock; the others queue up and make the next
    group."""
    store = writer.ledger.store
    write, entering = store.write, threading.Event()

    def signalling_write(*args: Any, **kwargs: Any) -> Any:
        entering.set()  # the writer has formed its group and now waits for the lock
        return write(*args, **kwargs)

    threads, results = _appenders(writer, payloads[:1])
    more, more_results = _appenders(writer, payloads[1:])
    with write():
        store.write = signalling_write  # type: ignore[method-assign]
        try:
            threads[0].start()
            assert entering.wait(30), "the writer never took the first entry"
            for t in more:
                t.start()
            _wait_for(lambda: writer._queue.qsize() == len(more), "the other entries to queue")
        finally:
            del store.write
    for t in threads + more:
        t.join(30)
    results.update({i + 1: r for i, r in more_results.items()})
    return results


def test_reads_waiting_at_the_same_time_share_one_commit_and_the_chain_verifies(
        ledger: Ledger) -> None:
    writer = LedgerWriter(ledger)
    results = _queued_behind_a_held_lock(ledger, writer, [{"n": i} for i in range(6)])
    writer.close()
    assert writer.stats() == {"entries": 6, "groups": 2}  # 1 alone, then 5 together
    assert sorted(e.payload["n"] for e in results.values()) == list(range(6))
    report = verify(ledger)
    assert report.ok and report.entries == 6


def test_an_append_returns_only_once_its_entry_is_committed(ledger: Ledger) -> None:
    writer = LedgerWriter(ledger)
    entry = writer.append("profile.read", "apikey:1:dpo", PID, {"purpose": "personalization"})
    other = Ledger(OperationalStore(ledger.store.url))  # another connection sees it at once
    head = other.head()
    assert head is not None and head.seq == entry.seq and head.hash == entry.hash
    writer.close()


def test_an_entry_the_ledger_refuses_fails_alone_and_the_rest_of_its_group_commits(
        ledger: Ledger) -> None:
    writer = LedgerWriter(ledger)
    results = _queued_behind_a_held_lock(
        ledger, writer, [{"n": 0}, {"n": 1}, {"phone": "13812345678"}, {"n": 3}])
    writer.close()
    assert isinstance(results[2], ProfileguardError) and "mobile number" in str(results[2])
    assert [results[i].payload["n"] for i in (0, 1, 3)] == [0, 1, 3]
    assert verify(ledger).entries == 3


def test_a_failed_commit_fails_every_read_of_the_group_and_writes_none_of_it(
        ledger: Ledger) -> None:
    class Failing(Ledger):  # the group's insert fails (e.g. the disk is full)
        def append_many(self, conn: Any, items: Any) -> Any:
            if any(payload.get("boom") for *_, payload in items):
                raise RuntimeError("disk full")
            return super().append_many(conn, items)

    failing = Failing(ledger.store)
    writer = LedgerWriter(failing)
    results = _queued_behind_a_held_lock(ledger, writer,
                                         [{"n": 0}, {"n": 1}, {"boom": True}, {"n": 3}])
    writer.close()
    assert not isinstance(results[0], Exception)  # the first group committed alone
    assert all(isinstance(results[i], RuntimeError) for i in (1, 2, 3))
    report = verify(ledger)
    assert report.ok and report.entries == 1


def test_a_closed_writer_commits_what_waits_and_refuses_more(ledger: Ledger) -> None:
    writer = LedgerWriter(ledger)
    writer.append("profile.read", "apikey:1:dpo", PID, {})
    writer.close()
    with pytest.raises(ProfileguardError, match="closed"):
        writer.append("profile.read", "apikey:1:dpo", PID, {})
    assert verify(ledger).entries == 1


def _render(calls: list[str], name: str) -> Callable[[], list[ExplainedTag]]:
    def render() -> list[ExplainedTag]:
        calls.append(name)
        return []
    return render


def test_the_profile_cache_keeps_the_most_recently_used_persons() -> None:
    cache, calls = ExplainedProfiles(capacity=2), []
    for pid in ("a", "b", "a", "c", "a", "b"):
        cache.get(pid, "en", _render(calls, pid))
    assert calls == ["a", "b", "c", "b"]  # b was the least recently used when c came
    assert cache.stats() == {"persons": 2, "capacity": 2, "hits": 2, "misses": 4}
    assert cache.kept("a", "zh") is None  # each language is its own entry


def test_a_profile_cache_of_zero_keeps_nothing() -> None:
    cache, calls = ExplainedProfiles(capacity=0), []
    cache.get("a", "en", _render(calls, "a"))
    cache.get("a", "en", _render(calls, "a"))
    assert calls == ["a", "a"] and len(cache) == 0
    with pytest.raises(ValueError, match="0 or more"):
        ExplainedProfiles(capacity=-1)


def test_a_kept_profile_still_shows_every_decision_made_after_it_was_kept(
        served: Served) -> None:
    def read() -> dict[str, Any]:
        r = served.client.get(f"/api/users/{ADULT}/profile",
                              params={"purpose": "personalization", "lang": "en"},
                              headers=served.as_staff("dpo"))
        assert r.status_code == 200, r.text
        return {x["tag"]: x for x in r.json()["tags"]}

    cache = served.svc.engine.profiles
    first = read()
    hits = cache.hits
    assert read() == first and cache.hits == hits + 1  # the second read was a cache hit
    deleted, corrected = sorted(first)[:2]
    subject = served.as_subject(ADULT)
    assert served.client.post(f"/api/me/tags/{deleted}/delete", json={},
                              headers=subject).status_code == 200
    assert served.client.post(f"/api/me/tags/{corrected}/correct", json={"value": "mine"},
                              headers=subject).status_code == 200
    after = read()
    assert deleted not in after
    assert after[corrected]["value"] == "mine" and after[corrected]["kind"] == "corrected"
    assert first[corrected]["kind"] != "corrected"  # the kept copy was not changed
    assert served.client.put("/api/me/switches", json={"stop_profiling": True},
                              headers=subject).status_code == 200
    assert read() == {}


def test_the_worker_runs_blocking_endpoints_on_the_configured_threads(served: Served) -> None:
    portal = served.client.portal
    assert portal is not None
    tokens = portal.call(lambda: anyio.to_thread.current_default_thread_limiter().total_tokens)
    assert tokens == served.app.state.pg.settings.threads == 4


def test_json_answers_keep_text_as_is_and_turn_missing_numbers_into_null() -> None:
    r = json_answer({"tag": "城市", "confidence": float("nan"), "items": [float("inf"), 1.5]})
    assert r.media_type == "application/json"
    assert r.body.decode() == '{"tag":"城市","confidence":null,"items":[null,1.5]}'


def test_a_bad_profile_cache_setting_names_the_variable(monkeypatch: pytest.MonkeyPatch,
                                                        built_ws: Path) -> None:
    from profileguard.server.app import MANIFEST_ENV, PROFILE_CACHE_ENV, app_from_env

    monkeypatch.setenv(MANIFEST_ENV, str(built_ws))
    monkeypatch.setenv(PROFILE_CACHE_ENV, "lots")
    with pytest.raises(ProfileguardError, match=f"{PROFILE_CACHE_ENV}='lots'"):
        app_from_env()
    monkeypatch.setenv(PROFILE_CACHE_ENV, "7")
    app = app_from_env()
    try:
        assert app.state.pg.svc.engine.profiles.capacity == 7
    finally:
        app.state.pg.close()


def test_a_worker_freezes_what_start_up_loaded_out_of_the_collectors_way(
        monkeypatch: pytest.MonkeyPatch, built_ws: Path) -> None:
    import gc

    from profileguard.server.app import MANIFEST_ENV, app_from_env

    monkeypatch.setenv(MANIFEST_ENV, str(built_ws))
    gc.unfreeze()
    app = app_from_env()
    try:
        assert gc.get_freeze_count() > 10_000  # modules, manifest, catalogs
    finally:
        gc.unfreeze()  # the test process goes on: let the collector see it again
        app.state.pg.close()


def test_kept_tags_hold_dates_and_decimals_in_their_json_form_also_inside_lists() -> None:
    import datetime as dt
    from decimal import Decimal

    body = {"inputs": {"days": [dt.date(2026, 10, 1), dt.datetime(2026, 10, 2, 8, 30)],
                       "total": Decimal("12.50"), "count": Decimal("3"), "kinds": {"a"}}}
    kept = SnapshotTag.of_body("t", "p", (), body)
    assert kept.body() == {"inputs": {"days": ["2026-10-01", "2026-10-02T08:30:00"],
                                      "total": 12.5, "count": 3, "kinds": ["a"]}}
    assert kept.nonfinite is None and json.loads(kept.wire) == kept.body()


def test_a_kept_tag_without_a_number_is_null_on_the_wire_and_nan_on_the_pages() -> None:
    kept = SnapshotTag.of_body("t", "p", (), {"tag": "城市", "confidence": float("nan")})
    assert kept.wire == '{"tag":"城市","confidence":null}'
    assert math.isnan(kept.body()["confidence"])


def test_a_staff_read_answers_exactly_the_json_of_the_visible_profile(served: Served) -> None:
    pid = served.svc.store.resolve(ADULT)
    tag = visible_profile(served.svc, pid, "en", purpose="personalization")[0]["tag"]
    served.svc.book.correct_tag(pid, tag, "mine")
    r = served.client.get(f"/api/users/{ADULT}/profile",
                          params={"purpose": "personalization", "lang": "en"},
                          headers=served.as_staff("dpo"))
    assert r.status_code == 200 and r.headers["content-type"] == "application/json"
    tags = visible_profile(served.svc, pid, "en", purpose="personalization")
    assert any(t["tag"] == tag and t["value"] == "mine" for t in tags)
    assert r.content == json_text({"user": pid, "purpose": "personalization",
                                   "tags": tags}).encode()


def test_a_withdrawal_made_through_another_worker_hides_the_tags_at_the_next_read(
        served: Served) -> None:
    from profileguard.consent import ConsentBook

    def tags() -> list[str]:
        r = served.client.get(f"/api/users/{ADULT}/profile",
                              params={"purpose": "personalization"},
                              headers=served.as_staff("dpo"))
        assert r.status_code == 200, r.text
        return [t["tag"] for t in r.json()["tags"]]

    assert tags()  # read once: the person's tags are kept by this worker now
    other = OperationalStore(served.svc.store.url)  # another worker's own connections
    try:
        ConsentBook(other).withdraw(served.svc.store.resolve(ADULT), "personalization")
    finally:
        other.close()
    assert tags() == []


def test_serve_gives_workers_a_minute_to_start_on_a_busy_machine(
        built_ws: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import uvicorn
    from typer.testing import CliRunner

    from profileguard.cli import app as cli_app
    from profileguard.cli.serve import WORKER_START_S
    from profileguard.server.app import MANIFEST_ENV

    seen: dict[str, Any] = {}

    def run(app: str, *, factory: bool = False, host: str = "", port: int = 0,
            workers: int = 1, log_level: str = "", timeout_worker_healthcheck: int = 5
            ) -> None:  # uvicorn.run's parameters that serve passes
        seen.update(workers=workers, timeout_worker_healthcheck=timeout_worker_healthcheck)

    monkeypatch.setenv(MANIFEST_ENV, "")  # serve sets it; restored after the test
    monkeypatch.setattr(uvicorn, "run", run)
    out = CliRunner().invoke(cli_app, ["serve", "--manifest", str(built_ws), "--workers", "2",
                                       "--no-pending"])
    assert out.exit_code == 0, out.output
    assert seen["workers"] == 2 and seen["timeout_worker_healthcheck"] == WORKER_START_S == 60


def test_each_tag_is_shown_under_the_consent_its_own_categories_need(served: Served) -> None:
    """Two tags of one purpose: a general consent covers the one over purchase history, not
    the one that infers health (sensitive PI, PIPL 29: separate consent) — whichever comes
    first, the decision is made for each tag's categories, not once per purpose."""
    from profileguard.server.people import visible_tags

    pid = served.svc.store.resolve(ADULT)
    plain = SnapshotTag.of_body("spend_band", "personalization",
                                ("user.behavior.purchase_history",), {"tag": "spend_band"})
    health = SnapshotTag.of_body("pregnancy_likely", "personalization",
                                 ("user.health_and_medical",), {"tag": "pregnancy_likely"})
    book = served.svc.book
    assert book.allows(pid, "personalization", categories=plain.categories).allowed
    assert not book.allows(pid, "personalization", categories=health.categories).allowed
    for order in ((plain, health), (health, plain)):
        shown = [t.tag for t in visible_tags(served.svc, pid, "en", snapshot=order)]
        assert shown == ["spend_band"]
