"""Rights requests: allowed transitions, identity hook, deadlines and extension, refusals."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Mapping
from typing import Any

import pytest

from profileguard.errors import ProfileguardError
from profileguard.rights.deadlines import DeadlineRules, add_months
from profileguard.rights.requests import RightsDesk, RightsRequest, Verification
from profileguard.store.ledger import Ledger
from profileguard.store.ledger_verify import verify
from profileguard.store.operational import OperationalStore, utcnow


def check_code(request: RightsRequest, evidence: Mapping[str, Any]) -> Verification:
    return Verification(evidence.get("sms_code") == "123456", "sms_code")


@pytest.fixture
def store(state_url: str) -> Iterator[OperationalStore]:
    s = OperationalStore(state_url)
    yield s
    s.close()


def test_request_moves_only_along_allowed_transitions_after_identity_check(
    store: OperationalStore,
) -> None:
    desk = RightsDesk(store, handlers={"access": lambda r: {"tags": 3, "user": r.user_pid}})
    req = desk.open("p_alice", "access", jurisdiction="GDPR", details={"channel": "app"})
    assert (req.state, req.jurisdiction) == ("received", "EU")
    with pytest.raises(ProfileguardError, match="cannot go from received to done"):
        desk.complete(req.id, {})
    with pytest.raises(ProfileguardError, match="only in_progress requests"):
        desk.run(req.id)
    with pytest.raises(ProfileguardError, match="no identity-verification hook"):
        desk.verify(req.id)
    desk.verifier = check_code
    assert desk.verify(req.id, {"sms_code": "000000"}).state == "verifying"
    assert desk.verify(req.id, {"sms_code": "123456"}).state == "in_progress"
    done = desk.run(req.id, actor="dpo")
    assert done.state == "done" and done.result == {"tags": 3, "user": "p_alice"}
    assert done.completed_at is not None
    with pytest.raises(ProfileguardError, match="allowed from done: none"):
        desk.refuse(req.id, "too late")
    kinds = [e.kind for e in Ledger(store).entries(subject_pid="p_alice")]
    assert kinds == ["rights.received", "rights.verifying", "rights.verification_failed",
                     "rights.in_progress", "rights.done"]
    assert verify(Ledger(store)).ok
    with pytest.raises(ProfileguardError, match="kind 'forget_me' is not known"):
        desk.open("p_alice", "forget_me")


def test_refusal_needs_a_reason_and_handler_failures_leave_the_request_open(
    store: OperationalStore,
) -> None:
    def broken(request: RightsRequest) -> Mapping[str, Any]:
        raise RuntimeError("warehouse unavailable")

    desk = RightsDesk(store, verifier=check_code, handlers={"delete": broken})
    req = desk.open("p_bob", "delete")
    for reason in ("", "   "):
        with pytest.raises(ProfileguardError, match="needs a reason"):
            desk.refuse(req.id, reason)
    assert desk.get(req.id).state == "received"
    desk.verify(req.id, {"sms_code": "123456"})
    with pytest.raises(RuntimeError):
        desk.run(req.id)
    assert desk.get(req.id).state == "in_progress"
    with pytest.raises(ProfileguardError, match="no handler is registered for 'export'"):
        desk.run(desk.verify(desk.open("p_bob", "export").id, {"sms_code": "123456"}).id)
    refused = desk.refuse(req.id, "legal hold on transaction records (ECL 31)")
    assert refused.state == "refused"
    assert refused.refusal_reason == "legal hold on transaction records (ECL 31)"
    kinds = [e.kind for e in Ledger(store).entries(subject_pid="p_bob")]
    assert "rights.handler_failed" in kinds and kinds[-1] == "rights.refused"
    assert [r.id for r in desk.list(state="refused")] == [req.id]
    assert [r.kind for r in desk.list(user_pid="p_bob", kind="export")] == ["export"]


def test_deadlines_by_jurisdiction_gdpr_extension_once_with_notice_and_overdue_queue(
    store: OperationalStore,
) -> None:
    desk = RightsDesk(store)
    now = utcnow()
    cn = desk.open("p_carol", "export", jurisdiction="CN", received_at=now)
    assert cn.deadline == now + dt.timedelta(days=15)
    with pytest.raises(ProfileguardError, match="not extendable"):
        desk.extend(cn.id, "busy")
    eu = desk.open("p_carol", "access", jurisdiction="EU", received_at=now)
    assert eu.deadline == add_months(now, 1)
    with pytest.raises(ProfileguardError, match="needs the notice"):
        desk.extend(eu.id, " ")
    with pytest.raises(ProfileguardError, match="no later than"):
        desk.extend(eu.id, "complex request", until=add_months(now, 4))
    extended = desk.extend(eu.id, "complex request: many sources")
    assert extended.extended_until == add_months(now, 3) == extended.due
    assert extended.extension_notice == "complex request: many sources"
    with pytest.raises(ProfileguardError, match="extended only once"):
        desk.extend(eu.id, "again")
    late_cn = desk.open("p_dave", "delete", jurisdiction="CN",
                        received_at=now - dt.timedelta(days=20))
    late_eu = desk.open("p_erin", "access", jurisdiction="EU",
                        received_at=now - dt.timedelta(days=40))
    with pytest.raises(ProfileguardError, match="passed its deadline"):
        desk.extend(late_eu.id, "too late to extend")
    closed = desk.open("p_frank", "access", received_at=now - dt.timedelta(days=30))
    desk.refuse(closed.id, "identity could not be verified")
    assert [r.id for r in desk.overdue(now)] == [late_eu.id, late_cn.id]
    assert late_cn.is_overdue(now) and not cn.is_overdue(now)
    assert [r.id for r in desk.overdue(now + dt.timedelta(days=16))] == [
        late_eu.id, late_cn.id, cn.id]
    custom = RightsDesk(store, rules=DeadlineRules(cn_days=10, cn_extension_days=5))
    short = custom.open("p_gina", "explain", received_at=now)
    assert short.deadline == now + dt.timedelta(days=10)
    assert custom.extend(short.id, "waiting for the model owner").due == (
        now + dt.timedelta(days=15))


def test_gdpr_month_is_a_calendar_month_clamped_to_month_end() -> None:
    jan31 = dt.datetime(2027, 1, 31, 12, tzinfo=dt.UTC)
    assert add_months(jan31, 1) == dt.datetime(2027, 2, 28, 12, tzinfo=dt.UTC)
    assert add_months(jan31, 3) == dt.datetime(2027, 4, 30, 12, tzinfo=dt.UTC)
    assert add_months(dt.datetime(2027, 11, 15, tzinfo=dt.UTC), 3) == dt.datetime(
        2028, 2, 15, tzinfo=dt.UTC)
    rules = DeadlineRules()
    assert rules.initial("EU", jan31) == dt.datetime(2027, 2, 28, 12, tzinfo=dt.UTC)
    with pytest.raises(ProfileguardError, match="jurisdiction 'US'"):
        rules.initial("US", jan31)
