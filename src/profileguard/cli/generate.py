"""``profileguard generate``: write the deterministic demo shop (users, orders, events …)."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Annotated

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from profileguard.cli._common import FormatOpt, console, err_console, print_json
from profileguard.demo.generate import FORMATS, GenerateSummary, generate
from profileguard.errors import ProfileguardError


def _as_of(text: str) -> datetime:
    for pattern in ("%Y-%m-%d", "%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M:%S"):
        try:
            return datetime.strptime(text, pattern)
        except ValueError:
            continue
    raise ProfileguardError(
        f"--as-of {text!r} is not a date; use YYYY-MM-DD or 'YYYY-MM-DD HH:MM:SS' (local time)"
    )


def _formats(values: list[str]) -> tuple[str, ...]:
    return tuple(part.strip() for value in values for part in value.split(",") if part.strip())


def _print_table(summary: GenerateSummary) -> None:
    files = Table(title=f"demo data in {summary.out_dir}", title_justify="left")
    files.add_column("file")
    files.add_column("rows", justify="right")
    for name, rows in summary.files.items():
        files.add_row(name, f"{rows:,}")
    console.print(files)
    for name, kinds in summary.dirt.items():
        planted = ", ".join(f"{kind} {count}" for kind, count in kinds.items())
        console.print(f"planted dirt in {name}: {planted}", highlight=False)
    console.print(
        f"{summary.users:,} users, seed {summary.seed}, as of {summary.as_of:%Y-%m-%d %H:%M:%S}, "
        f"{summary.seconds:.1f} s",
        highlight=False,
    )


def generate_command(
    out: Annotated[Path, typer.Option("--out", "-o", help="folder to write into")] = Path(
        "demo-data"
    ),
    users: Annotated[int, typer.Option("--users", "-n", help="number of people")] = 20_000,
    seed: Annotated[int, typer.Option("--seed", help="random seed (same seed, same bytes)")] = 7,
    data_format: Annotated[
        list[str],
        typer.Option(
            "--data-format",
            "-d",
            help=f"data files to write: {', '.join(FORMATS)} (repeat or comma-separate)",
        ),
    ] = ["csv"],  # noqa: B006 - typer needs a list default
    as_of: Annotated[
        str, typer.Option("--as-of", help="the demo's now (local time)")
    ] = "2026-11-01",
    dirty_rows: Annotated[
        bool, typer.Option("--dirty-rows", help="with --format json: list every dirty row number")
    ] = False,
    fmt: FormatOpt = "table",  # type: ignore[assignment]
) -> None:
    """Generate the demo shop: users, items, orders, events, consents, permissions, quotes."""
    when = _as_of(as_of)
    if err_console.is_terminal:
        with Progress(
            TextColumn("generating"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=err_console,
            transient=True,
        ) as bar:
            task = bar.add_task("users", total=users)
            summary = generate(
                out,
                users=users,
                seed=seed,
                formats=_formats(data_format),
                as_of=when,
                progress=lambda done, _total: bar.update(task, completed=done),
            )
    else:
        summary = generate(out, users=users, seed=seed, formats=_formats(data_format), as_of=when)
    if fmt == "json":
        print_json(summary.to_dict(rows=dirty_rows))
        return
    _print_table(summary)


def register(app: typer.Typer) -> None:
    app.command("generate")(generate_command)
