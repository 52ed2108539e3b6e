"""``profileguard dsr``: data-subject requests (access, export, correct, delete, object …)."""

from __future__ import annotations

import json
from typing import Annotated, Any

import typer
from rich.table import Table

from profileguard.cli._common import FormatOpt, ManifestOpt, StateUrlOpt, console, print_json
from profileguard.errors import ProfileguardError
from profileguard.pipeline.rights import handle, rights_desk
from profileguard.pipeline.services import open_services

dsr_app = typer.Typer(help="Data-subject requests: each is opened, verified, carried out and "
                           "chained in the ledger.", no_args_is_help=True)

UserArg = Annotated[str, typer.Argument(help="the person's own id (or pseudonymous id)")]
VerifiedOpt = Annotated[str, typer.Option("--verified-by",
                                          help="how the requester's identity was verified")]


def _run(manifest: Any, state_url: Any, user: str, kind: str, details: dict[str, Any],
         verified_by: str, fmt: str) -> None:
    with open_services(manifest, state_url=state_url) as svc:
        req = handle(svc, user, kind, details, verified_by=verified_by)
    out = {"request": req.id, "kind": req.kind, "state": req.state, "user": req.user_pid,
           "deadline": req.due.isoformat(), "result": req.result}
    if fmt == "json":
        print_json(out)
        return
    console.print(f"[green]✓[/] request {req.id} ({req.kind}) {req.state}; deadline "
                  f"{req.due.date().isoformat()}")
    console.print_json(json.dumps(req.result, ensure_ascii=False, default=str))


@dsr_app.command("access")
def access(user: UserArg, manifest: ManifestOpt = None, state_url: StateUrlOpt = None,
           lang: str = "zh", verified_by: VerifiedOpt = "operator attestation",
           fmt: FormatOpt = "table") -> None:  # type: ignore[assignment]
    """Everything held about a person: profile with explanations, consents, data, recipients."""
    _run(manifest, state_url, user, "access", {"lang": lang}, verified_by, fmt)


@dsr_app.command("export")
def export(user: UserArg, manifest: ManifestOpt = None, state_url: StateUrlOpt = None,
           verified_by: VerifiedOpt = "operator attestation",
           fmt: FormatOpt = "table") -> None:  # type: ignore[assignment]
    """A machine-readable copy: a JSON file and a zip of CSVs."""
    _run(manifest, state_url, user, "export", {}, verified_by, fmt)


@dsr_app.command("correct")
def correct(user: UserArg, value: Annotated[str, typer.Option("--value")],
            tag: Annotated[str | None, typer.Option("--tag")] = None,
            field: Annotated[str | None, typer.Option("--field", help="source.column")] = None,
            manifest: ManifestOpt = None, state_url: StateUrlOpt = None,
            verified_by: VerifiedOpt = "operator attestation",
            fmt: FormatOpt = "table") -> None:  # type: ignore[assignment]
    """Correct a tag value or a static attribute."""
    if bool(tag) == bool(field):
        raise ProfileguardError("name exactly one of --tag or --field")
    _run(manifest, state_url, user, "correct", {"tag": tag, "field": field, "value": value},
         verified_by, fmt)


@dsr_app.command("delete-tag")
def delete_tag(user: UserArg, tag: Annotated[str, typer.Argument()],
               manifest: ManifestOpt = None, state_url: StateUrlOpt = None,
               verified_by: VerifiedOpt = "operator attestation",
               fmt: FormatOpt = "table") -> None:  # type: ignore[assignment]
    """Delete one tag; it stays deleted in every later build."""
    _run(manifest, state_url, user, "delete_tag", {"tag": tag}, verified_by, fmt)


@dsr_app.command("delete")
def delete(user: UserArg, identifier: Annotated[list[str] | None, typer.Option(
               "--identifier", help="more identifiers to verify as gone (phone, e-mail …)")] = None,
           manifest: ManifestOpt = None, state_url: StateUrlOpt = None,
           verified_by: VerifiedOpt = "operator attestation",
           fmt: FormatOpt = "table") -> None:  # type: ignore[assignment]
    """Erase a person everywhere (legal holds restricted, not deleted) and verify it."""
    _run(manifest, state_url, user, "delete", {"identifiers": identifier or []}, verified_by, fmt)


@dsr_app.command("object")
def object_(user: UserArg, manifest: ManifestOpt = None, state_url: StateUrlOpt = None,
            verified_by: VerifiedOpt = "operator attestation",
            fmt: FormatOpt = "table") -> None:  # type: ignore[assignment]
    """Stop profiling and personalization at once."""
    _run(manifest, state_url, user, "object", {}, verified_by, fmt)


@dsr_app.command("withdraw")
def withdraw(user: UserArg, purpose: Annotated[str, typer.Option("--purpose")],
             recipient: Annotated[str | None, typer.Option("--recipient")] = None,
             manifest: ManifestOpt = None, state_url: StateUrlOpt = None,
             verified_by: VerifiedOpt = "operator attestation",
             fmt: FormatOpt = "table") -> None:  # type: ignore[assignment]
    """Withdraw a consent (its tags leave the current snapshot at once)."""
    _run(manifest, state_url, user, "withdraw", {"purpose": purpose, "recipient": recipient},
         verified_by, fmt)


@dsr_app.command("explain")
def explain(user: UserArg, tag: Annotated[str | None, typer.Option("--tag")] = None,
            lang: str = "zh", manifest: ManifestOpt = None, state_url: StateUrlOpt = None,
            verified_by: VerifiedOpt = "operator attestation",
            fmt: FormatOpt = "table") -> None:  # type: ignore[assignment]
    """Explain a tag (or every tag) of a person."""
    _run(manifest, state_url, user, "explain", {"tag": tag, "lang": lang}, verified_by, fmt)


@dsr_app.command("status")
def status(request_id: int, manifest: ManifestOpt = None, state_url: StateUrlOpt = None,
           fmt: FormatOpt = "table") -> None:  # type: ignore[assignment]
    """The state, deadline and result of one request."""
    with open_services(manifest, state_url=state_url) as svc:
        req = rights_desk(svc).get(request_id)
    data = {"request": req.id, "kind": req.kind, "state": req.state, "user": req.user_pid,
            "received_at": req.received_at.isoformat(), "deadline": req.due.isoformat(),
            "refusal_reason": req.refusal_reason, "result": req.result}
    if fmt == "json":
        print_json(data)
    else:
        console.print_json(json.dumps(data, ensure_ascii=False, default=str))


@dsr_app.command("list")
def list_(overdue: Annotated[bool, typer.Option("--overdue")] = False,
          manifest: ManifestOpt = None, state_url: StateUrlOpt = None,
          fmt: FormatOpt = "table") -> None:  # type: ignore[assignment]
    """The rights queue with deadlines."""
    with open_services(manifest, state_url=state_url) as svc:
        desk = rights_desk(svc)
        reqs = desk.overdue() if overdue else desk.list()
    rows = [{"request": r.id, "kind": r.kind, "state": r.state, "user": r.user_pid,
             "deadline": r.due.isoformat()} for r in reqs]
    if fmt == "json":
        print_json(rows)
        return
    table = Table(title="Rights requests")
    for col in ("request", "kind", "state", "user", "deadline"):
        table.add_column(col)
    for r in rows:
        table.add_row(*(str(r[c]) for c in ("request", "kind", "state", "user", "deadline")))
    console.print(table)


def register(app: typer.Typer) -> None:
    app.add_typer(dsr_app, name="dsr")
