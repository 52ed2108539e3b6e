"""``profileguard consent``: record and show what a person decided."""

from __future__ import annotations

import dataclasses
import json
from typing import Annotated

import typer
from rich.table import Table

from profileguard.cli._common import FormatOpt, ManifestOpt, StateUrlOpt, console, print_json
from profileguard.errors import ProfileguardError
from profileguard.pipeline.services import open_services

consent_app = typer.Typer(help="Consents per purpose (and per recipient).", no_args_is_help=True)
UserArg = Annotated[str, typer.Argument(help="the person's own id (or pseudonymous id)")]
PurposeArg = Annotated[str, typer.Argument(help="a declared purpose")]


@consent_app.command("grant")
def grant(user: UserArg, purpose: PurposeArg,
          recipient: Annotated[str | None, typer.Option("--recipient")] = None,
          consent_type: Annotated[str, typer.Option("--type",
                                                    help="general|separate|explicit|guardian")] = "general",
          surface: Annotated[str, typer.Option("--surface")] = "cli",
          manifest: ManifestOpt = None, state_url: StateUrlOpt = None) -> None:
    """Record a consent given by the person, to the notice version in force."""
    with open_services(manifest, state_url=state_url) as svc:
        if purpose not in svc.manifest.purposes:
            raise ProfileguardError(f"unknown purpose {purpose!r}; declared: "
                                    f"{', '.join(sorted(svc.manifest.purposes))}")
        notice = svc.manifest.notice.version if svc.manifest.notice else None
        svc.store.register_identities([user]) if not user.startswith("p_") else None
        rec = svc.book.grant(svc.pid(user), purpose, recipient=recipient,
                             consent_type=consent_type, notice_version=notice, surface=surface,
                             clicks_to_give=1)
    console.print(f"[green]✓[/] {rec.status} {rec.purpose} ({rec.consent_type}) for {rec.user_pid}")


@consent_app.command("withdraw")
def withdraw(user: UserArg, purpose: PurposeArg,
             recipient: Annotated[str | None, typer.Option("--recipient")] = None,
             manifest: ManifestOpt = None, state_url: StateUrlOpt = None) -> None:
    """Record a withdrawal (as easy as giving: one command)."""
    with open_services(manifest, state_url=state_url) as svc:
        rec = svc.book.withdraw(svc.pid(user), purpose, recipient=recipient, surface="cli",
                                clicks_to_withdraw=1)
    console.print(f"[green]✓[/] {rec.status} {rec.purpose} for {rec.user_pid}")


@consent_app.command("show")
def show(user: UserArg, manifest: ManifestOpt = None, state_url: StateUrlOpt = None,
         fmt: FormatOpt = "table") -> None:  # type: ignore[assignment]
    """The consents in force and whether each purpose is allowed now, with the reason."""
    with open_services(manifest, state_url=state_url) as svc:
        pid = svc.pid(user)
        records = svc.book.in_force(pid)
        decisions = {p: svc.book.allows(pid, p) for p in svc.manifest.purposes}
        pref = svc.book.preference(pid)
    data = {
        "user": pid,
        "records": [json.loads(json.dumps(dataclasses.asdict(r), default=str)) for r in records],
        "allowed": {p: {"allowed": d.allowed, "reason": d.reason} for p, d in decisions.items()},
        "preferences": json.loads(json.dumps(dataclasses.asdict(pref), default=str)),
    }
    if fmt == "json":
        print_json(data)
        return
    table = Table(title=f"Consents of {pid}")
    for col in ("purpose", "allowed", "reason"):
        table.add_column(col)
    for p, d in decisions.items():
        table.add_row(p, "[green]yes[/]" if d.allowed else "[red]no[/]", d.reason)
    console.print(table)


def register(app: typer.Typer) -> None:
    app.add_typer(consent_app, name="consent")
