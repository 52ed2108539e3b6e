"""``profileguard risk``: re-identification risk of a file, and Mondrian to reach k."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from profileguard.errors import ProfileguardError
from profileguard.process.datafile import read_table, write_table
from profileguard.process.mondrian import mondrian
from profileguard.process.risk import MIN_CLASS, THRESHOLDS, risk_report


def _names(text: str | None) -> list[str]:
    return [c.strip() for c in text.split(",") if c.strip()] if text else []


def risk(
    path: Annotated[Path, typer.Argument(help="CSV, Parquet or JSON lines file")],
    quasi: Annotated[str, typer.Option("--quasi", help="quasi-identifier columns, a,b,c")],
    sensitive: Annotated[str | None, typer.Option("--sensitive", help="sensitive column")] = None,
    release: Annotated[str, typer.Option("--release", help="public|controlled|enclave")] = "public",
    direct: Annotated[
        str | None, typer.Option("--direct-identifiers", help="direct identifier columns")
    ] = None,
    fmt: Annotated[str, typer.Option("--format", help="table or json")] = "table",
    target_k: Annotated[
        int | None, typer.Option("--target-k", help="generalize until k ≥ K (needs --out)")
    ] = None,
    out: Annotated[Path | None, typer.Option("--out", help="write the k-anonymous file")] = None,
) -> None:
    """k, distinct/entropy l, t-closeness, record risk and the GB/T 42460 level."""
    if fmt not in ("table", "json"):
        raise ProfileguardError(f"--format must be table or json, got {fmt!r}")
    if release not in THRESHOLDS:
        raise ProfileguardError(f"--release must be one of {', '.join(THRESHOLDS)}")
    quasi_cols = _names(quasi)
    table = read_table(path)
    report = risk_report(table, quasi_cols, sensitive, release, _names(direct))
    payload: dict[str, Any] = report.to_dict()
    if out is not None or target_k is not None:
        if out is None:
            raise ProfileguardError("--target-k writes a generalized file: give --out FILE")
        k = target_k if target_k is not None else MIN_CLASS[release]
        anonymized, loss = mondrian(table, quasi_cols, k)
        write_table(anonymized, out)
        after = risk_report(anonymized, quasi_cols, sensitive, release, _names(direct))
        payload["anonymized"] = {
            "out": str(out),
            **after.to_dict(),
            "information_loss": loss.__dict__,
        }
    if fmt == "json":
        typer.echo(json.dumps(payload, ensure_ascii=False))
        return
    _print(payload)


def _print(payload: dict[str, Any]) -> None:
    console = Console()
    grid = Table(title="re-identification risk", show_header=True)
    grid.add_column("measure")
    grid.add_column("before")
    after = payload.get("anonymized")
    if after:
        grid.add_column("after --target-k")
    for key in (
        "rows",
        "classes",
        "k",
        "l_distinct",
        "l_entropy",
        "t_closeness",
        "max_risk",
        "avg_risk",
        "threshold",
        "level",
        "passes",
    ):
        row = [key, _show(payload[key])]
        if after:
            row.append(_show(after[key]))
        grid.add_row(*row)
    console.print(grid)
    if after:
        loss = after["information_loss"]
        console.print(
            f"wrote {after['out']}: suppressed {loss['suppressed_rows']} rows, discernibility "
            f"{loss['discernibility']}, average class size {loss['avg_class_size']:.2f}"
        )


def _show(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    return "—" if value is None else str(value)


def register(app: typer.Typer) -> None:
    app.command("risk")(risk)
