"""``profileguard campaign plan|send``: guarded campaigns (coupon, message, push)."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

import typer
from rich.table import Table

from profileguard.apply.audience import AudienceSpec
from profileguard.apply.campaign import Campaign, CampaignPlan, plan_campaign, send_campaign
from profileguard.cli._common import (
    Format,
    FormatOpt,
    ManifestOpt,
    StateUrlOpt,
    console,
    print_json,
)
from profileguard.errors import ProfileguardError
from profileguard.pipeline.services import open_services

campaign_app = typer.Typer(help="Campaigns with guardrails: consent, quiet hours, frequency "
                                "caps, minors, elderly care, sender identity, unsubscribe.",
                           no_args_is_help=True)

NameOpt = Annotated[str, typer.Option("--name", help="campaign name")]
KindOpt = Annotated[str, typer.Option("--kind", help="coupon | message | push")]
ChannelOpt = Annotated[str, typer.Option("--channel", help="sms | push | email | in_app")]
TextOpt = Annotated[str, typer.Option("--text", help="message text (sender and unsubscribe "
                                                     "are added)")]
AtOpt = Annotated[str, typer.Option("--at", help="local send time, e.g. 2026-11-02T10:00")]
AudienceOpt = Annotated[str | None, typer.Option("--audience", help="selection over tags")]
PurposeOpt = Annotated[str, typer.Option("--purpose", help="audience purpose")]
UsersOpt = Annotated[list[str] | None, typer.Option("--user", help="named users instead")]


def _campaign(name: str, kind: str, channel: str, text: str, at: str, audience: str | None,
              purpose: str, users: list[str] | None) -> Campaign:
    if bool(audience) == bool(users):
        raise ProfileguardError("give exactly one of --audience EXPR or --user (repeatable)")
    if kind not in ("coupon", "message", "push"):
        raise ProfileguardError(f"--kind {kind!r}; allowed: coupon, message, push")
    try:
        when = dt.datetime.fromisoformat(at)
    except ValueError as exc:
        raise ProfileguardError(f"--at {at!r} is not an ISO time (e.g. 2026-11-02T10:00)") \
            from exc
    spec = AudienceSpec(audience, purpose) if audience else None
    return Campaign(name, kind, channel, text, when, spec, tuple(users or ()))  # type: ignore[arg-type]


def print_plan(plan: CampaignPlan, *, sent: bool = False) -> None:
    c = plan.campaign
    console.print(f"campaign [bold]{c.name}[/] — {c.kind} on {c.channel} at "
                  f"{plan.local_send_at:%Y-%m-%d %H:%M %Z}", highlight=False)
    if plan.audience is not None and plan.audience.refusal is not None:
        r = plan.audience.refusal
        console.print(f"[red]✗ audience refused[/] [{r.law} {r.article}] {r.reason}")
        return
    table = Table("outcome", "rule", "messages")
    table.add_row("[green]sent[/]" if sent else "[green]would send[/]", "", str(len(plan.to_send)))
    for rule, n in sorted(plan.blocked_by().items()):
        table.add_row("[red]blocked[/]", rule, str(n))
    console.print(table)
    example = next((m for m in plan.messages if m.blocked is None), None)
    if example is not None:
        console.print(f"message: {example.text}", highlight=False)


@campaign_app.command("plan")
def plan_cmd(name: NameOpt, kind: KindOpt, channel: ChannelOpt, text: TextOpt, at: AtOpt,
             audience: AudienceOpt = None, purpose: PurposeOpt = "tiered_operations",
             user: UsersOpt = None, manifest: ManifestOpt = None,
             state_url: StateUrlOpt = None, fmt: FormatOpt = Format.table) -> None:
    """Dry run: who would get what, and which rule blocks the rest. Nothing is sent."""
    with open_services(manifest, state_url=state_url) as svc:
        plan = plan_campaign(svc, _campaign(name, kind, channel, text, at, audience, purpose,
                                            user))
    if fmt == Format.json:
        print_json(plan.as_dict())
    else:
        print_plan(plan)


@campaign_app.command("send")
def send_cmd(name: NameOpt, kind: KindOpt, channel: ChannelOpt, text: TextOpt, at: AtOpt,
             audience: AudienceOpt = None, purpose: PurposeOpt = "tiered_operations",
             user: UsersOpt = None, manifest: ManifestOpt = None,
             state_url: StateUrlOpt = None, fmt: FormatOpt = Format.table) -> None:
    """Send through the default sink (the workspace outbox) what passes every guard."""
    with open_services(manifest, state_url=state_url) as svc:
        plan = send_campaign(svc, _campaign(name, kind, channel, text, at, audience, purpose,
                                            user), actor="cli")
    if fmt == Format.json:
        print_json(plan.as_dict(messages=False))
    else:
        print_plan(plan, sent=True)


def register(app: typer.Typer) -> None:
    app.add_typer(campaign_app, name="campaign")
