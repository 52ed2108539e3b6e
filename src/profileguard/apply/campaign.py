"""Campaigns and tiered operations: actions per segment, planned, guarded, then sent.

A :class:`Campaign` is one action (coupon, message or push on a channel) for an audience
(a guarded selection, :mod:`profileguard.apply.audience`) or for named users, at a local
send time. :func:`plan_campaign` decides every message with
:func:`~profileguard.apply.campaign_rules.first_block` and shows the plan — who gets what,
who is blocked and by which rule — without sending anything (the dry run).
:func:`send_campaign` plans again against the stores as they are now, hands the allowed
messages to a sink, records each send for frequency caps, and appends one ledger entry.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal
from zoneinfo import ZoneInfo

import sqlalchemy as sa

from profileguard.apply import records
from profileguard.apply.audience import AudienceResult, AudienceSpec, select_audience
from profileguard.apply.campaign_rules import CampaignRules, first_block
from profileguard.apply.guards import Rule
from profileguard.apply.sinks import OutboxSink, Outgoing, Sink
from profileguard.consent.decisions import Decision
from profileguard.errors import ProfileguardError
from profileguard.store.operational import utcnow

if TYPE_CHECKING:
    from profileguard.pipeline.services import Services

ActionKind = Literal["coupon", "message", "push"]
ACTION_KINDS = ("coupon", "message", "push")


@dataclass(frozen=True)
class Campaign:
    name: str
    kind: ActionKind
    channel: str
    text: str
    send_at: dt.datetime  # naive = local time in the rules' zone
    audience: AudienceSpec | None = None
    users: Sequence[str] = ()


@dataclass(frozen=True)
class PlannedMessage:
    user_pid: str
    text: str
    blocked: Rule | None = None


@dataclass
class CampaignPlan:
    campaign: Campaign
    local_send_at: dt.datetime
    messages: list[PlannedMessage] = field(default_factory=list)
    audience: AudienceResult | None = None

    @property
    def to_send(self) -> list[PlannedMessage]:
        return [m for m in self.messages if m.blocked is None]

    def blocked_by(self) -> dict[str, int]:
        return dict(Counter(m.blocked.rule for m in self.messages if m.blocked))

    def as_dict(self, *, messages: bool = True) -> dict[str, Any]:
        c = self.campaign
        out: dict[str, Any] = {
            "campaign": c.name, "kind": c.kind, "channel": c.channel,
            "send_at_local": self.local_send_at.isoformat(), "recipients": len(self.messages),
            "to_send": len(self.to_send), "blocked_by": self.blocked_by(),
            "audience": self.audience.as_dict() if self.audience else None,
        }
        if messages:
            out["messages"] = [{"user": m.user_pid, "text": m.text,
                                "blocked": m.blocked.as_dict() if m.blocked else None}
                               for m in self.messages]
        return out


def _local(send_at: dt.datetime, zone: str) -> dt.datetime:
    tz = ZoneInfo(zone)
    return send_at.replace(tzinfo=tz) if send_at.tzinfo is None else send_at.astimezone(tz)


def sent_today(svc: Services, users: Sequence[str], channel: str, day: dt.date
               ) -> Counter[str]:
    records.ensure_tables(svc.store)
    c = records.campaign_sends.c
    stmt = (sa.select(c.user_pid, sa.func.count()).where(
        c.channel == channel, c.local_day == day.isoformat()).group_by(c.user_pid))
    wanted = set(users)
    with svc.store.read() as conn:
        return Counter({str(u): int(n) for u, n in conn.execute(stmt) if u in wanted})


def plan_campaign(svc: Services, campaign: Campaign, rules: CampaignRules | None = None
                  ) -> CampaignPlan:
    """The dry run: every message with the rule that blocks it, nothing sent."""
    rules = rules or CampaignRules.from_manifest(svc.manifest.applications.campaigns)
    if campaign.kind not in ACTION_KINDS:
        raise ProfileguardError(f"campaign action {campaign.kind!r}; allowed: "
                                f"{', '.join(ACTION_KINDS)}")
    if rules.channels and campaign.channel not in rules.channels:
        raise ProfileguardError(f"channel {campaign.channel!r} is not declared in "
                                "applications.campaigns.channels; declared: "
                                f"{', '.join(rules.channels)}")
    local = _local(campaign.send_at, rules.timezone)
    plan = CampaignPlan(campaign, local)
    if campaign.audience is not None:
        plan.audience = select_audience(svc, campaign.audience, members=True)
        if plan.audience.refusal is not None:
            return plan
        users = plan.audience.members
    else:
        users = [svc.pid(u) for u in campaign.users]
    decisions = svc.book.decisions(rules.purpose, users=users)
    verdict = {u: Decision(bool(a), str(r)) for u, a, r in zip(
        decisions.column("user_pid").to_pylist(), decisions.column("allowed").to_pylist(),
        decisions.column("reason").to_pylist(), strict=True)}
    counts = sent_today(svc, users, campaign.channel, local.date())
    text = rules.render(campaign.text)
    for user in users:
        block = first_block(decision=verdict[user], birth=svc.birth_date_of(user),
                            local=local, text=campaign.text, sent_today=counts[user],
                            channel=campaign.channel, rules=rules)
        if block is None:
            counts[user] += 1  # a second message to the same user in one plan counts too
        plan.messages.append(PlannedMessage(user, text, block))
    return plan


def send_campaign(svc: Services, campaign: Campaign, *, sink: Sink | None = None,
                  rules: CampaignRules | None = None, actor: str = "system") -> CampaignPlan:
    """Plan against the current stores, deliver what passed, record it; returns the plan."""
    plan = plan_campaign(svc, campaign, rules)
    if plan.audience is not None and plan.audience.refusal is not None:
        r = plan.audience.refusal
        raise ProfileguardError(f"campaign {campaign.name!r} refused [{r.law} {r.article}, "
                                f"{r.rule}]: {r.reason}")
    sink = sink or OutboxSink(svc.ws.state_dir / "outbox")
    stamp = plan.local_send_at.isoformat()
    out = [Outgoing(campaign.name, m.user_pid, campaign.channel, campaign.kind, m.text, stamp)
           for m in plan.to_send]
    sink.deliver(campaign.name, out)
    now = utcnow()
    day = plan.local_send_at.date().isoformat()
    with svc.store.write() as conn:
        if out:
            conn.execute(records.campaign_sends.insert(), [
                {"campaign": campaign.name, "user_pid": o.to, "channel": o.channel,
                 "local_day": day, "sent_at": now} for o in out])
        svc.ledger.append("campaign.send", actor, None, {
            "campaign": campaign.name, "kind": campaign.kind, "channel": campaign.channel,
            "send_at": stamp, "sent": len(out), "blocked_by": plan.blocked_by(),
        }, conn=conn)
    return plan
