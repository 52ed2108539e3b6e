"""``profileguard release``: differentially private aggregates under an epsilon budget."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from profileguard.errors import ProfileguardError
from profileguard.process.budget import DEFAULT_BUDGET_FILE, DEFAULT_TOTAL_EPSILON, BudgetStore
from profileguard.process.datafile import read_table
from profileguard.process.dp import QUERIES, release


def _bounds(text: str | None) -> tuple[float, float] | None:
    if text is None:
        return None
    parts = text.split(",")
    try:
        lo, hi = (float(p) for p in parts)
    except ValueError as exc:
        raise ProfileguardError(f"--bounds must be lo,hi (two numbers), got {text!r}") from exc
    return lo, hi


def release_command(
    path: Annotated[Path, typer.Argument(help="CSV, Parquet or JSON lines file")],
    query: Annotated[str, typer.Option("--query", help="|".join(QUERIES))],
    by: Annotated[str, typer.Option("--by", help="group column")],
    epsilon: Annotated[float, typer.Option("--epsilon", help="privacy loss of this query")],
    dataset: Annotated[str, typer.Option("--dataset", help="budget account name")],
    value: Annotated[str | None, typer.Option("--value", help="value column")] = None,
    bounds: Annotated[str | None, typer.Option("--bounds", help="clamping bounds lo,hi")] = None,
    bins: Annotated[int, typer.Option("--bins", help="histogram bins (numeric)")] = 10,
    user: Annotated[str | None, typer.Option("--user", help="user id column")] = None,
    max_rows: Annotated[int, typer.Option("--max-rows-per-user", help="contribution bound")] = 1,
    keys: Annotated[str | None, typer.Option("--keys", help="public group keys a,b,c")] = None,
    budget_file: Annotated[Path, typer.Option("--budget-file")] = DEFAULT_BUDGET_FILE,
    total: Annotated[
        float | None, typer.Option("--total-epsilon", help="declare the dataset's total budget")
    ] = None,
    fmt: Annotated[str, typer.Option("--format", help="table or json")] = "table",
) -> None:
    """Counts, sums, means or histograms by group with OpenDP, each with its noise scale."""
    if fmt not in ("table", "json"):
        raise ProfileguardError(f"--format must be table or json, got {fmt!r}")
    store = BudgetStore(budget_file)
    if total is not None:
        store.set_total(dataset, total)
    elif store.status(dataset) is None:
        store.set_total(dataset, DEFAULT_TOTAL_EPSILON)
    table = read_table(path)
    key_list = [k.strip() for k in keys.split(",")] if keys else None
    result = release(
        table,
        query,
        by,
        epsilon,
        value=value,
        bounds=_bounds(bounds),
        user=user,
        max_rows_per_user=max_rows,
        keys=key_list,
        bins=bins,
        budget=store,
        dataset=dataset,
    )
    if fmt == "json":
        typer.echo(json.dumps(result.to_dict(), ensure_ascii=False))
        return
    grid = Table(title=f"DP {result.query} by {result.by} (ε={result.epsilon:g})")
    for name in ("group", "bin", "value", "noise scale", "mechanism"):
        grid.add_column(name)
    for v in result.values:
        grid.add_row(v.group, v.bin or "", f"{v.value:.4g}", f"{v.noise_scale:.4g}", v.mechanism)
    console = Console()
    console.print(grid)
    if result.budget is not None:
        console.print(
            f"budget {result.budget.dataset}: spent {result.budget.spent:g} of "
            f"{result.budget.total:g}"
        )
    if result.keys_from_data:
        console.print("[yellow]group keys came from the data; pass --keys for public keys[/]")


def register(app: typer.Typer) -> None:
    app.command("release")(release_command)
