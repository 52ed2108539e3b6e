"""``profileguard incident open|update|notify|close|list``: breach records (PIPL 57, GDPR 33)."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

import typer
from rich.table import Table

from profileguard.cli._common import Format as OutFormat
from profileguard.cli._common import FormatOpt, ManifestOpt, StateUrlOpt, console, print_json
from profileguard.errors import ProfileguardError

incident_app = typer.Typer(help="Breach records: affected people, PIPL 57 notices, 72-hour clock.",
                           no_args_is_help=True, add_completion=False)


def _when(value: str | None, option: str) -> dt.datetime | None:
    if value is None:
        return None
    try:
        moment = dt.datetime.fromisoformat(value)
    except ValueError:
        raise ProfileguardError(f"{option} {value!r} is not a date-time; use YYYY-MM-DD or "
                                "YYYY-MM-DDTHH:MM") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)


def _show(data: dict[str, Any], fmt: OutFormat) -> None:
    if fmt is OutFormat.json:
        print_json(data)
        return
    table = Table("field", "value", title=f"incident {data['id']} — {data['state']}")
    for key in ("title", "detected_at", "categories", "affected", "cause", "harm", "remedies",
                "contact", "notify_by", "notified_regulator_at"):
        if data.get(key) is not None:
            table.add_row(key, str(data[key]))
    console.print(table)
    for who, text in (data.get("notification") or {}).get("drafts", {}).items():
        console.rule(f"draft for {who}")
        console.print(text, highlight=False)


@incident_app.command("open")
def open_cmd(
    title: Annotated[str, typer.Option("--title", help="what happened")],
    category: Annotated[list[str], typer.Option("--category", help="breached PI category (repeat)")],
    detected_at: Annotated[str | None, typer.Option("--detected-at", help="default: now")] = None,
    since: Annotated[str | None, typer.Option("--from", help="start of the exposed window")] = None,
    until: Annotated[str | None, typer.Option("--to", help="end of the exposed window")] = None,
    cause: Annotated[str, typer.Option("--cause")] = "",
    manifest: ManifestOpt = None, state_url: StateUrlOpt = None,
    output_format: FormatOpt = OutFormat.table,
) -> None:
    """Open a breach record; people affected are counted from the warehouse."""
    from profileguard.audit import incidents
    from profileguard.pipeline.services import open_services
    from profileguard.taxonomy import CATEGORIES

    bad = [c for c in category if c not in CATEGORIES]
    if bad:
        raise ProfileguardError(f"unknown category {', '.join(bad)}; see the taxonomy "
                                "(e.g. user.contact.phone_number)")
    start, end = _when(since, "--from"), _when(until, "--to")
    with open_services(manifest, state_url=state_url) as svc:
        naive = [x.replace(tzinfo=None) if x else None for x in (start, end)]
        affected = incidents.affected_users(svc.engine, svc.manifest, category, *naive)
        data = incidents.open_incident(
            svc.store, svc.ledger, svc.manifest, affected, title=title,
            detected_at=_when(detected_at, "--detected-at") or dt.datetime.now(dt.UTC),
            categories=category, window=(start, end), cause=cause)
    _show(data, output_format)


@incident_app.command("update")
def update_cmd(
    incident_id: Annotated[int, typer.Argument()],
    cause: Annotated[str | None, typer.Option("--cause")] = None,
    harm: Annotated[str | None, typer.Option("--harm", help="possible harm")] = None,
    remedies: Annotated[str | None, typer.Option("--remedies", help="measures taken")] = None,
    advice: Annotated[str | None, typer.Option("--advice", help="what people can do")] = None,
    contact: Annotated[str | None, typer.Option("--contact")] = None,
    delay_reason: Annotated[str | None, typer.Option("--delay-reason")] = None,
    manifest: ManifestOpt = None, state_url: StateUrlOpt = None,
    output_format: FormatOpt = OutFormat.table,
) -> None:
    """Fill in cause, harm, remedies, advice, contact or the reason for a late notice."""
    from profileguard.audit import incidents
    from profileguard.pipeline.services import open_services

    changes = {k: v for k, v in (("cause", cause), ("harm", harm), ("remedies", remedies),
                                 ("advice", advice), ("contact", contact),
                                 ("delay_reason", delay_reason)) if v is not None}
    with open_services(manifest, state_url=state_url) as svc:
        data = incidents.update_incident(svc.store, svc.ledger, incident_id, changes)
    _show(data, output_format)


@incident_app.command("notify")
def notify_cmd(
    incident_id: Annotated[int, typer.Argument()],
    at: Annotated[str | None, typer.Option("--at", help="when notified (default: now)")] = None,
    manifest: ManifestOpt = None, state_url: StateUrlOpt = None,
    output_format: FormatOpt = OutFormat.table,
) -> None:
    """Record the notification and print the drafts for the regulator and individuals."""
    from profileguard.audit import incidents
    from profileguard.pipeline.services import open_services

    with open_services(manifest, state_url=state_url) as svc:
        data = incidents.notify(svc.store, svc.ledger, incident_id,
                                svc.manifest.organization.name, at=_when(at, "--at"))
    _show(data, output_format)


@incident_app.command("close")
def close_cmd(
    incident_id: Annotated[int, typer.Argument()],
    summary: Annotated[str, typer.Option("--summary", help="what was done and learned")],
    manifest: ManifestOpt = None, state_url: StateUrlOpt = None,
    output_format: FormatOpt = OutFormat.table,
) -> None:
    """Close a notified incident with a summary."""
    from profileguard.audit import incidents
    from profileguard.pipeline.services import open_services

    with open_services(manifest, state_url=state_url) as svc:
        data = incidents.close(svc.store, svc.ledger, incident_id, summary)
    _show(data, output_format)


@incident_app.command("list")
def list_cmd(manifest: ManifestOpt = None, state_url: StateUrlOpt = None,
             output_format: FormatOpt = OutFormat.table) -> None:
    """Every incident with its state."""
    from profileguard.audit import incidents
    from profileguard.pipeline.services import open_services

    with open_services(manifest, state_url=state_url) as svc:
        rows = incidents.list_all(svc.store)
    if output_format is OutFormat.json:
        print_json(rows)
        return
    table = Table("id", "state", "detected", "title", "affected")
    for r in rows:
        table.add_row(str(r["id"]), r["state"], r["detected_at"], r["title"],
                      str(r["affected"]["total"]))
    console.print(table)


def register(app: typer.Typer) -> None:
    app.add_typer(incident_app, name="incident")
