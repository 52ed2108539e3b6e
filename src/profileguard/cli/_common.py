"""Options and output helpers shared by the command modules."""

from __future__ import annotations

import json
import sys
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console

console = Console()
err_console = Console(stderr=True)


class Format(StrEnum):
    table = "table"
    json = "json"


ManifestOpt = Annotated[
    Path | None,
    typer.Option("--manifest", "-m", help="profileguard.yaml (default: here or nearest parent)"),
]
StateUrlOpt = Annotated[
    str | None,
    typer.Option("--state-url", envvar="PROFILEGUARD_STATE_URL",
                 help="operational database URL (default: SQLite in the workspace)"),
]
FormatOpt = Annotated[Format, typer.Option("--format", "-f", help="output format")]


def print_json(data: Any) -> None:
    sys.stdout.write(json.dumps(data, ensure_ascii=False, indent=2, default=str) + "\n")
