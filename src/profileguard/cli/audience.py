"""``profileguard audience preview|export``: guarded audience selection (人群圈选)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from profileguard.apply.audience import GUARDS, AudienceResult, AudienceSpec, select_audience
from profileguard.apply.export import export_audience
from profileguard.cli._common import (
    Format,
    FormatOpt,
    ManifestOpt,
    StateUrlOpt,
    console,
    print_json,
)
from profileguard.pipeline.services import open_services

audience_app = typer.Typer(help="Audiences over profile tags, with consent, objection, minor "
                                "and minimum-size guards.", no_args_is_help=True)
ExprArg = Annotated[str, typer.Argument(help="selection over tags, e.g. "
                                             "\"preferred_category = 'beauty'\"")]
PurposeOpt = Annotated[str, typer.Option("--purpose", "-p", help="declared purpose")]
MinOpt = Annotated[int | None, typer.Option("--min-size", help="minimum audience size "
                                            "(default: advertising.min_audience or 50)")]


def print_audience(res: AudienceResult) -> None:
    table = Table("step", "law", "users")
    table.add_row("matched the expression", "", f"{res.matched:,}")
    for guard, law, art, why in GUARDS:
        table.add_row(f"− {guard}: {why}", f"{law} {art}", f"{res.removed[guard]:,}")
    table.add_row("[bold]audience[/]", "", f"[bold]{res.size:,}[/]")
    console.print(table)
    if res.refusal is not None:
        r = res.refusal
        console.print(f"[red]✗ refused[/] [{r.law} {r.article}] {r.reason}", highlight=False)


@audience_app.command("preview")
def preview(expression: ExprArg, purpose: PurposeOpt,
            recipient: Annotated[str | None, typer.Option("--recipient", "-r")] = None,
            min_size: MinOpt = None, manifest: ManifestOpt = None,
            state_url: StateUrlOpt = None, fmt: FormatOpt = Format.table) -> None:
    """Size of an audience and how many each guard removed; nothing leaves."""
    with open_services(manifest, state_url=state_url) as svc:
        res = select_audience(svc, AudienceSpec(expression, purpose, recipient, min_size))
    if fmt == Format.json:
        print_json(res.as_dict())
    else:
        print_audience(res)


@audience_app.command("export")
def export(expression: ExprArg, purpose: PurposeOpt,
           recipient: Annotated[str, typer.Option("--recipient", "-r")],
           out: Annotated[Path | None, typer.Option("--out", "-o", help="CSV to write")] = None,
           min_size: MinOpt = None, manifest: ManifestOpt = None,
           state_url: StateUrlOpt = None, fmt: FormatOpt = Format.table) -> None:
    """Write the audience for one recipient, pseudonymized with that recipient's key."""
    with open_services(manifest, state_url=state_url) as svc:
        exp = export_audience(svc, AudienceSpec(expression, purpose, recipient, min_size),
                              out=out, actor="cli")
    if fmt == Format.json:
        print_json(exp.as_dict())
        return
    print_audience(exp.result)
    console.print(f"[green]✓[/] export {exp.export_id}: {exp.rows:,} pseudonyms for "
                  f"{recipient} → {exp.path} (logged in the ledger; listed for erasure "
                  "follow-up)")


def register(app: typer.Typer) -> None:
    app.add_typer(audience_app, name="audience")
