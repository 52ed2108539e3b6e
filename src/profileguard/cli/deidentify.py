"""``profileguard deidentify``: apply a YAML de-identification recipe to a file."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from profileguard.errors import ProfileguardError
from profileguard.process.datafile import read_table, write_table
from profileguard.process.pseudonym import KEY_ENV, load_key
from profileguard.process.recipe import apply_recipe, load_recipe


def deidentify(
    path: Annotated[Path, typer.Argument(help="input CSV, Parquet or JSON lines file")],
    recipe: Annotated[Path, typer.Option("--recipe", help="YAML recipe: column → transform")],
    out: Annotated[Path, typer.Option("--out", help="output file (format from extension)")],
    key_file: Annotated[
        Path | None, typer.Option("--key-file", help=f"pseudonymization key (else ${KEY_ENV})")
    ] = None,
    fmt: Annotated[str, typer.Option("--format", help="table or json")] = "table",
) -> None:
    """Pseudonymize, mask, truncate, generalize, suppress or drop columns per a recipe."""
    if fmt not in ("table", "json"):
        raise ProfileguardError(f"--format must be table or json, got {fmt!r}")
    plan = load_recipe(recipe)
    if out.resolve() == path.resolve():
        raise ProfileguardError(f"--out {out} is the input file; write to a new file")
    key = load_key(key_file) if plan.needs_key else None
    table = read_table(path)
    result = apply_recipe(table, plan, key)
    write_table(result, out)
    summary = {
        "input": str(path),
        "output": str(out),
        "rows": result.num_rows,
        "columns": result.column_names,
        "transforms": {s.column: s.transform for s in plan.steps},
    }
    if fmt == "json":
        typer.echo(json.dumps(summary, ensure_ascii=False))
        return
    console = Console()
    console.print(f"[bold]{summary['rows']}[/] rows → {out}")
    for step in plan.steps:
        console.print(f"  {step.column}: {step.transform}")


def register(app: typer.Typer) -> None:
    app.command("deidentify")(deidentify)
