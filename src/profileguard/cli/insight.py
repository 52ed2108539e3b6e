"""``profileguard insight``: segment × category reports released with differential privacy."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from profileguard.apply.insight import insight_report
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


def insight_cmd(segment: Annotated[str, typer.Option("--segment", help="segment tag")]
                = "rfm_segment",
                measure: Annotated[str, typer.Option("--measure", help="count | sum")]
                = "count",
                epsilon: Annotated[float, typer.Option("--epsilon", min=0.0001)] = 0.5,
                manifest: ManifestOpt = None, state_url: StateUrlOpt = None,
                fmt: FormatOpt = Format.table) -> None:
    """Orders by segment × category, with DP noise; spends the workspace's epsilon budget."""
    if measure not in ("count", "sum"):
        raise ProfileguardError(f"--measure {measure!r}; allowed: count, sum")
    with open_services(manifest, state_url=state_url) as svc:
        rep = insight_report(svc, segment=segment,
                             measure="sum" if measure == "sum" else "count", epsilon=epsilon)
    if fmt == Format.json:
        print_json(rep.as_dict())
        return
    d = rep.as_dict()
    table = Table("segment", "category", measure, "noise scale")
    for row in d["rows"]:
        table.add_row(row["segment"], row["category"], f"{row['value']:,.0f}",
                      f"{row['noise_scale']:.2f}")
    console.print(table)
    b = d["budget"]
    console.print(f"ε={rep.release.epsilon:g} spent on {rep.dataset}: {b['spent']:g} of "
                  f"{b['total']:g} (remaining {b['remaining']:g})")


def register(app: typer.Typer) -> None:
    app.command("insight")(insight_cmd)
