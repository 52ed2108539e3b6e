"""``profileguard init DIR``: a commented starter manifest and a small sample that ingests."""

from __future__ import annotations

import datetime as dt
from importlib import resources
from pathlib import Path
from typing import Annotated

import typer

from profileguard.cli._common import console
from profileguard.errors import ProfileguardError


def init_cmd(
    directory: Annotated[Path, typer.Argument(help="folder to create the workspace in")],
    users: Annotated[int, typer.Option("--users", min=1, help="sample users")] = 200,
    force: Annotated[bool, typer.Option("--force", help="overwrite an existing manifest")] = False,
) -> None:
    """Write a commented profileguard.yaml and sample data that validates and ingests."""
    from profileguard.demo.generate import generate

    directory.mkdir(parents=True, exist_ok=True)
    target = directory / "profileguard.yaml"
    if target.exists() and not force:
        raise ProfileguardError(f"{target} exists; pass --force to overwrite it")
    text = resources.files("profileguard.demo").joinpath("manifests", "starter.yaml").read_text(
        "utf-8")
    target.write_text(text, encoding="utf-8")
    summary = generate(directory / "data", users=users, seed=1, as_of=dt.datetime.now().replace(
        microsecond=0, second=0, minute=0))
    console.print(f"[green]✓[/] wrote {target} and sample data in {directory / 'data'} "
                  f"({summary.files.get('users.csv', 0)} users)")
    console.print(f"next: cd {directory} && profileguard validate && profileguard ingest && "
                  "profileguard build")


def register(app: typer.Typer) -> None:
    app.command("init")(init_cmd)
