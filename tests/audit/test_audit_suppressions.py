"""Suppressions: with a reason they move findings aside; without one, or expired, they don't."""

from __future__ import annotations

from audit_cases import world

from profileguard.audit.api import render
from profileguard.audit.engine import run_audit


def audited(ignore: list[dict[str, str]]):  # type: ignore[no-untyped-def]
    w = world()
    w.doc["governance"]["pia"] = []
    w.doc["audit"]["ignore"] = ignore
    return run_audit(w.context())


def test_suppression_with_reason_moves_findings_to_suppressed_with_the_reason() -> None:
    result = audited([{"rule": "PIPL-55-pia", "reason": "PIA in progress, due Q1",
                       "until": "2027-03-31"}])
    assert not [f for f in result.findings if f.rule == "PIPL-55-pia"]
    assert {f.suppression_reason for f in result.suppressed} == {"PIA in progress, due Q1"}
    assert "PIA in progress, due Q1" in render(result, "md")
    assert '"suppressed": true' in render(result, "json")


def test_suppression_without_reason_does_not_suppress_and_is_a_finding() -> None:
    result = audited([{"rule": "PIPL-55-pia"}])
    assert [f for f in result.findings if f.rule == "PIPL-55-pia"]
    assert [f for f in result.findings if f.rule == "PG-ignore-without-reason"]
    assert result.suppressed == []


def test_expired_suppression_no_longer_suppresses() -> None:
    result = audited([{"rule": "PIPL-55-pia", "reason": "was in progress",
                       "until": "2026-01-31"}])
    assert [f for f in result.findings if f.rule == "PIPL-55-pia"]
    expired = [f for f in result.findings if f.rule == "PG-ignore-without-reason"]
    assert [f.severity for f in expired] == ["low"]


def test_suppressed_findings_do_not_count_for_fail_on() -> None:
    w = world()
    w.doc["applications"]["search"]["non_personalized_option"] = False
    assert run_audit(w.context()).fails("high")
    w.doc["audit"]["ignore"] = [{"rule": "ECL-18-personalized-search",
                                 "reason": "search is off in production"}]
    assert not run_audit(w.context()).fails("high")
