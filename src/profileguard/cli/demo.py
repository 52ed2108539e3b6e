"""``profileguard demo``: generate a shop and run the whole pipeline on it."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from profileguard.cli._common import console


def demo_cmd(
    directory: Annotated[Path, typer.Option("--dir", help="workspace to create")] = Path(
        "demo-workspace"),
    users: Annotated[int, typer.Option("--users", min=1, help="generated users")] = 20_000,
    seed: Annotated[int, typer.Option("--seed")] = 7,
    serve: Annotated[bool, typer.Option("--serve/--no-serve",
                                        help="serve the web pages at the end")] = True,
) -> None:
    """Generate a demo shop, validate both manifests, ingest and build profiles."""
    from profileguard.demo.run import run_demo

    run_demo(directory, users=users, seed=seed, serve=serve, console=console)


def register(app: typer.Typer) -> None:
    app.command("demo")(demo_cmd)
