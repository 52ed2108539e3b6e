"""``profileguard ledger verify|show``: prove the ledger was not altered, and read its tail.

``verify`` exits 0 when the chain is intact, 1 when it is broken (the first bad entry and
the kind of damage are reported), 2 on a usage error.
"""

from __future__ import annotations

import json
import os
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import sqlalchemy as sa
import typer
from rich.console import Console
from rich.table import Table

from profileguard.errors import ProfileguardError
from profileguard.store.ledger import Ledger
from profileguard.store.ledger_verify import verify
from profileguard.store.operational import OperationalStore

STATE_URL_ENV = "PROFILEGUARD_STATE_URL"


class Format(StrEnum):
    table = "table"
    json = "json"


StateUrl = Annotated[
    str | None,
    typer.Option("--state-url", help=f"SQLAlchemy URL of the operational store "
                 f"(default: ${STATE_URL_ENV})", show_default=False),
]
FormatOpt = Annotated[Format, typer.Option("--format", help="table (Rich) or json")]
ManifestOpt = Annotated[Path | None, typer.Option(
    "--manifest", "-m", help="profileguard.yaml (default: here or nearest parent)")]


def _open(state_url: str | None, manifest: Path | None = None) -> OperationalStore:
    url = state_url or os.environ.get(STATE_URL_ENV)
    if not url:
        from profileguard.manifest import find_manifest
        from profileguard.store.workspace import open_workspace

        found = manifest or find_manifest()
        if found is not None:
            url = open_workspace(found).state_url
    if not url:
        raise ProfileguardError(
            f"no operational store given: pass --manifest, --state-url URL or set {STATE_URL_ENV} "
            "(e.g. sqlite:///ws/.profileguard/state.db or postgresql+psycopg://host/db)"
        )
    if url.startswith("sqlite:///") and not Path(url.removeprefix("sqlite:///")).is_file():
        raise ProfileguardError(f"--state-url {url}: the SQLite file does not exist")
    store = OperationalStore(url, migrate=False)
    with store.read() as conn:
        if not sa.inspect(conn).has_table("ledger"):
            store.close()
            raise ProfileguardError(f"--state-url {url}: no ledger table (not a profileguard "
                                    "operational store, or never initialised)")
    return store


def _anchor(value: str | None) -> tuple[int, str] | None:
    if value is None:
        return None
    seq, _, digest = value.partition(":")
    if not seq.isdigit() or len(digest) != 64:
        raise ProfileguardError(f"--anchor {value!r}: expected SEQ:HASH, e.g. 4000:<64 hex "
                                "digits> as printed by `profileguard ledger show`")
    return int(seq), digest.lower()


def register(app: typer.Typer) -> None:
    ledger_app = typer.Typer(help="The tamper-evident ledger: verify the chain, show entries.",
                             no_args_is_help=True)

    @ledger_app.command("verify")
    def verify_cmd(
        state_url: StateUrl = None,
        manifest: ManifestOpt = None,
        fmt: FormatOpt = Format.table,
        anchor: Annotated[str | None, typer.Option(
            "--anchor", help="SEQ:HASH recorded earlier; detects a cut-back or rewritten "
            "chain")] = None,
    ) -> None:
        """Check every entry's hash and link; exit 1 at the first bad entry."""
        store = _open(state_url, manifest)
        try:
            report = verify(Ledger(store), _anchor(anchor))
        finally:
            store.close()
        if fmt is Format.json:
            typer.echo(json.dumps(report.as_dict(), ensure_ascii=False))
        else:
            console = Console()
            if report.ok:
                console.print(f"[bold green]OK[/] {report.entries} entries; head "
                              f"{report.head_seq} {report.head_hash or ''}")
            else:
                assert report.damage is not None
                console.print(f"[bold red]BROKEN[/] at entry {report.damage.seq}: "
                              f"{report.damage.kind} — {report.damage.detail} "
                              f"({report.entries} entries verified before it)")
        if not report.ok:
            raise typer.Exit(1)

    @ledger_app.command("show")
    def show_cmd(
        state_url: StateUrl = None,
        manifest: ManifestOpt = None,
        fmt: FormatOpt = Format.table,
        tail: Annotated[int, typer.Option("--tail", min=1, help="last N entries")] = 20,
    ) -> None:
        """The last N entries (pseudonymous ids only)."""
        store = _open(state_url, manifest)
        try:
            entries = Ledger(store).tail(tail)
        finally:
            store.close()
        if fmt is Format.json:
            typer.echo(json.dumps([e.as_dict() for e in entries], ensure_ascii=False))
            return
        table = Table(title=f"ledger: last {len(entries)} entries")
        for column in ("seq", "ts", "kind", "actor", "subject", "payload", "hash"):
            table.add_column(column, overflow="fold")
        for e in entries:
            table.add_row(str(e.seq), e.ts, e.kind, e.actor, e.subject or "",
                          json.dumps(e.payload, ensure_ascii=False), e.hash)
        Console().print(table)

    app.add_typer(ledger_app, name="ledger")
