"""``profileguard ingest``: load the declared sources through the collection gate."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import typer
from rich.progress import BarColumn, Progress, TaskID, TextColumn, TimeElapsedColumn
from rich.table import Table

from profileguard.cli._common import (
    FormatOpt,
    ManifestOpt,
    StateUrlOpt,
    console,
    print_json,
)
from profileguard.cli.build import EngineName, SparkMasterOpt
from profileguard.collect.ingest import IngestReport
from profileguard.pipeline.ingest import ingest_workspace
from profileguard.pipeline.services import Services, open_services


def run_ingest(svc: Services, sources: list[str] | None, now: datetime | None,
               show_progress: bool, force: bool = False) -> IngestReport:
    if not show_progress:
        return ingest_workspace(svc, sources=sources, now=now, force=force)
    with Progress(TextColumn("[bold]{task.description}"), BarColumn(), TextColumn("{task.completed:,} rows"),
                  TimeElapsedColumn(), console=console, transient=True) as bar:
        tasks: dict[str, TaskID] = {}

        def tick(label: str, n: int) -> None:
            if label not in tasks:
                tasks[label] = bar.add_task(f"ingest {label}", total=None)
            bar.advance(tasks[label], n)

        return ingest_workspace(svc, sources=sources, now=now, progress=tick, force=force)


def print_report(report: IngestReport) -> None:
    table = Table(title="Ingestion", show_lines=False)
    for col in ("source", "file", "rows in", "loaded", "quarantined", "note"):
        table.add_column(col, justify="right" if col in {"rows in", "loaded", "quarantined"} else "left")
    for f in report.files:
        note = "already ingested" if f.skipped_already_ingested else ", ".join(
            [f"{r} {n}" for r, n in sorted(f.quarantined.items())]
            + ([f"held (no consent) {f.held}"] if f.held else []))
        table.add_row(f.source, f.file.rsplit("/", 1)[-1], f"{f.rows_in:,}", f"{f.loaded:,}",
                      f"{f.quarantined_total:,}", note)
    console.print(table)
    for src, cols in report.refused_columns.items():
        console.print(f"[yellow]refused[/] {src}: undeclared column(s) {', '.join(cols)} — not "
                      "loaded (declare them under `fields:` with a category and purposes)")
    for finding in report.findings:
        console.print(f"[yellow]finding[/] {finding.get('message')}")
    for src, n in report.released.items():
        console.print(f"[green]released[/] {src}: {n:,} held row(s) of people who consented since")
    q = sum(report.quarantined.values())
    mark = "[green]✓[/]" if report.reconciles else "[red]✗[/]"
    again = f" + {report.already_loaded:,} already loaded" if report.already_loaded else ""
    again += f" + {report.held:,} held (no consent yet)" if report.held else ""
    console.print(f"{mark} reconciliation: {report.rows_in:,} rows in = {report.loaded:,} loaded "
                  f"+ {q:,} quarantined{again}")


def ingest_cmd(
    manifest: ManifestOpt = None,
    state_url: StateUrlOpt = None,
    source: Annotated[list[str] | None, typer.Option("--source", "-s", help="only these sources")] = None,
    force: Annotated[bool, typer.Option(
        "--force", help="re-read files already ingested (rows already loaded are counted, "
                        "not loaded again; erased people's rows are quarantined)")] = False,
    engine: Annotated[EngineName, typer.Option(
        "--engine",
        help="where the gate runs: duckdb (the workspace warehouse) or spark (Parquet sources "
             "only; tables in .profileguard/spark-warehouse/). A source keeps the engine of "
             "its first ingest")] = EngineName.duckdb,
    spark_master: SparkMasterOpt = None,
    fmt: FormatOpt = "table",  # type: ignore[assignment]
) -> None:
    """Ingest the manifest's sources: refuse undeclared columns, quarantine bad rows."""
    with open_services(manifest, state_url=state_url, engine=engine.value,
                       spark_master=spark_master) as svc:
        report = run_ingest(svc, source, None, show_progress=fmt != "json", force=force)
    if fmt == "json":
        print_json(report.as_dict())
    else:
        print_report(report)
    if not report.reconciles:
        raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    app.command("ingest")(ingest_cmd)
