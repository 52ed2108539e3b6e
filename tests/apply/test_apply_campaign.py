"""Campaign guardrails: each blocked message names the rule that blocked it."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json

import pytest

from profileguard.apply.audience import AudienceSpec
from profileguard.apply.campaign import Campaign, plan_campaign, send_campaign
from profileguard.apply.campaign_rules import CampaignRules, in_quiet_hours
from profileguard.pipeline.services import Services

MORNING = dt.datetime(2026, 11, 2, 10, 0)
ADULT = dt.date(1990, 5, 1)


def _marketable(svc: Services, n: int = 2) -> list[str]:
    table = svc.book.decisions("marketing_communications")
    users = [u for u, ok in zip(table.column("user_pid").to_pylist(),
                                table.column("allowed").to_pylist(), strict=True) if ok]
    assert len(users) >= n
    return users[:n]


def _campaign(users: list[str], text: str = "满100减20", at: dt.datetime = MORNING,
              channel: str = "sms") -> Campaign:
    return Campaign("autumn", "coupon", channel, text, at, users=tuple(users))


@pytest.fixture
def adults(svc: Services, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    monkeypatch.setattr(svc, "birth_date_of", lambda pid: ADULT)
    return _marketable(svc)


def _rules(plan_messages: list[object]) -> list[str | None]:
    return [m.blocked.rule if m.blocked else None for m in plan_messages]  # type: ignore[attr-defined]


def test_messages_in_quiet_hours_are_blocked_by_the_quiet_hours_rule(
        svc: Services, adults: list[str]) -> None:
    late = plan_campaign(svc, _campaign(adults, at=dt.datetime(2026, 11, 2, 23, 30)))
    early = plan_campaign(svc, _campaign(adults, at=dt.datetime(2026, 11, 2, 7, 59)))
    ok = plan_campaign(svc, _campaign(adults, at=dt.datetime(2026, 11, 2, 8, 0)))
    assert _rules(late.messages) == ["quiet_hours"] * 2
    assert _rules(early.messages) == ["quiet_hours"] * 2
    assert _rules(ok.messages) == [None, None]
    assert in_quiet_hours(dt.time(1, 0), dt.time(22, 0), dt.time(8, 0))
    assert not in_quiet_hours(dt.time(12, 0), dt.time(22, 0), dt.time(8, 0))


def test_frequency_cap_blocks_a_second_message_on_the_same_channel_and_day(
        svc: Services, adults: list[str]) -> None:
    sent = send_campaign(svc, _campaign(adults))
    assert len(sent.to_send) == 2
    again = plan_campaign(svc, _campaign(adults, at=MORNING.replace(hour=15)))
    assert _rules(again.messages) == ["frequency_cap"] * 2
    other_channel = plan_campaign(svc, _campaign(adults, channel="push"))
    assert _rules(other_channel.messages) == [None, None]
    next_day = plan_campaign(svc, _campaign(adults, at=MORNING + dt.timedelta(days=1)))
    assert _rules(next_day.messages) == [None, None]
    twice = plan_campaign(svc, _campaign([adults[0], adults[0]], channel="push"))
    assert _rules(twice.messages) == [None, "frequency_cap"]


def test_minors_get_no_marketing(svc: Services, monkeypatch: pytest.MonkeyPatch) -> None:
    users = _marketable(svc)
    monkeypatch.setattr(svc, "birth_date_of",
                        lambda pid: dt.date(2010, 3, 1) if pid == users[0] else ADULT)
    plan = plan_campaign(svc, _campaign(users))
    assert _rules(plan.messages) == ["minor", None]
    assert plan.messages[0].blocked is not None
    assert plan.messages[0].blocked.law == "MINOR" and plan.messages[0].blocked.article == "24"


def test_elderly_users_get_no_urgency_or_scarcity_wording(
        svc: Services, monkeypatch: pytest.MonkeyPatch) -> None:
    users = _marketable(svc)
    monkeypatch.setattr(svc, "birth_date_of",
                        lambda pid: dt.date(1950, 1, 1) if pid == users[0] else ADULT)
    urgent = plan_campaign(svc, _campaign(users, text="限时秒杀，仅剩3件"))
    assert _rules(urgent.messages) == ["elderly_care", None]
    calm = plan_campaign(svc, _campaign(users, text="秋季新品上架"))
    assert _rules(calm.messages) == [None, None]
    custom = CampaignRules.from_manifest(svc.manifest.applications.campaigns,
                                         sender_identity="小满优选", elderly_words=("新品",))
    assert _rules(plan_campaign(svc, _campaign(users, text="秋季新品上架"), custom).messages
                  ) == ["elderly_care", None]


def test_users_without_marketing_consent_are_blocked_by_the_consent_rule(
        svc: Services) -> None:
    table = svc.book.decisions("marketing_communications")
    refused = [u for u, ok in zip(table.column("user_pid").to_pylist(),
                                  table.column("allowed").to_pylist(), strict=True) if not ok]
    plan = plan_campaign(svc, _campaign(refused[:3]))
    assert _rules(plan.messages) == ["consent"] * 3


def test_no_message_goes_without_sender_identity_and_unsubscribe(
        svc: Services, adults: list[str]) -> None:
    rules = CampaignRules.from_manifest(svc.manifest.applications.campaigns)
    plan = send_campaign(svc, _campaign(adults), rules=rules)
    outbox = svc.ws.state_dir / "outbox" / "autumn.jsonl"
    lines = [json.loads(x) for x in outbox.read_text(encoding="utf-8").splitlines()]
    assert len(lines) == len(plan.to_send) == 2
    assert all(m["text"].startswith("【小满优选】") and "退订" in m["text"] for m in lines)
    anonymous = dataclasses.replace(rules, sender_identity=None)
    assert _rules(plan_campaign(svc, _campaign(adults, channel="push"), anonymous).messages
                  ) == ["sender_identity"] * 2
    no_exit = dataclasses.replace(rules, unsubscribe=False)
    assert _rules(plan_campaign(svc, _campaign(adults, channel="push"), no_exit).messages
                  ) == ["unsubscribe"] * 2
    assert "campaign.send" in [e.kind for e in svc.ledger.tail(5)]


def test_audience_campaign_dry_run_reports_guards_and_sends_nothing(svc: Services) -> None:
    spec = AudienceSpec("rfm_segment IS NOT NULL", "tiered_operations", min_size=1)
    plan = plan_campaign(svc, Campaign("tiered", "message", "sms", "会员日", MORNING, spec))
    assert plan.audience is not None and plan.audience.removed["minor"] >= 0
    assert len(plan.messages) == plan.audience.size
    assert not (svc.ws.state_dir / "outbox").exists()
