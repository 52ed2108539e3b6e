"""``profileguard build``, ``profileguard tags`` and ``profileguard profile``."""

from __future__ import annotations

import datetime as dt
from enum import StrEnum
from typing import Annotated

import typer
from rich.table import Table

from profileguard.cli._common import FormatOpt, ManifestOpt, StateUrlOpt, console, print_json
from profileguard.errors import ProfileguardError
from profileguard.model.build import plan_steps
from profileguard.model.explain import profile_of
from profileguard.model.plan import explain
from profileguard.pipeline.profiles import build_profiles
from profileguard.pipeline.services import open_services


class CatalogFormat(StrEnum):
    table = "table"
    json = "json"
    md = "md"


def parse_as_of(value: str | None) -> dt.datetime:
    if not value:
        return dt.datetime.now().replace(microsecond=0)
    try:
        return dt.datetime.fromisoformat(value)
    except ValueError:
        raise ProfileguardError(f"--as-of {value!r}: use YYYY-MM-DD or YYYY-MM-DDTHH:MM:SS") from None


AsOfOpt = Annotated[str | None, typer.Option("--as-of", help="build time (default: now)")]


class EngineName(StrEnum):
    duckdb = "duckdb"
    spark = "spark"


EngineOpt = Annotated[EngineName, typer.Option(
    "--engine", envvar="PROFILEGUARD_ENGINE",
    help="where the build runs: duckdb (the workspace warehouse) or spark "
         "(.profileguard/spark-warehouse/, sources exported from DuckDB as Parquet)")]
SparkMasterOpt = Annotated[str | None, typer.Option(
    "--spark-master", envvar="PROFILEGUARD_SPARK_MASTER",
    help="Spark master URL with --engine spark (default: local[*])")]


def build_cmd(
    manifest: ManifestOpt = None, state_url: StateUrlOpt = None, as_of: AsOfOpt = None,
    explain_only: Annotated[bool, typer.Option("--explain", help="print the SQL per step")] = False,
    engine: EngineOpt = EngineName.duckdb, spark_master: SparkMasterOpt = None,
    fmt: FormatOpt = "table",  # type: ignore[assignment]
) -> None:
    """Build profiles: fused tag plans, consent and corrections applied, a new snapshot."""
    when = parse_as_of(as_of)
    if explain_only:
        with open_services(manifest, state_url=state_url) as svc:
            steps = plan_steps(svc.manifest, svc.catalog, when)
        if engine == EngineName.spark:  # what Spark runs: the plans after transpilation
            from profileguard.store.spark_sql import to_spark

            sqls = [to_spark(s.query) for s in steps]
            if fmt == "json":
                print_json([{"name": s.name, "tags": list(s.tags), "sql": sql}
                            for s, sql in zip(steps, sqls, strict=True)])
            else:
                for s, sql in zip(steps, sqls, strict=True):
                    console.print(f"-- {s.name}; tags: {', '.join(s.tags)}\n{sql};\n",
                                  highlight=False)
            return
        if fmt == "json":
            print_json([{"name": s.name, "tags": list(s.tags), "sql": s.pretty()} for s in steps])
        else:
            console.print(explain(steps), highlight=False)
        return
    with open_services(manifest, state_url=state_url, engine=engine.value,
                       spark_master=spark_master) as svc:
        report = build_profiles(svc, when)
    if fmt == "json":
        print_json(report.as_dict())
        return
    print_build(report)


def print_build(report: object) -> None:
    from profileguard.model.build import BuildReport

    assert isinstance(report, BuildReport)
    snap = report.snapshot
    table = Table(title=f"Tag coverage — snapshot {snap.id if snap else '-'} "
                        f"({report.users:,} users)")
    table.add_column("tag")
    table.add_column("users", justify="right")
    table.add_column("coverage", justify="right")
    for tag, n in report.coverage.items():
        share = n / report.users if report.users else 0.0
        table.add_row(tag, f"{n:,}", f"{share:.0%}")
    console.print(table)
    for r in report.refusals:
        console.print(f"[red]refused[/] [{r.law} {r.article}] {r.message}", highlight=False)


def tags_cmd(manifest: ManifestOpt = None,
             fmt: Annotated[CatalogFormat, typer.Option("--format", "-f")] = CatalogFormat.table,
             ) -> None:
    """The tag catalog with lineage: fields, categories, sensitivity, purpose, refusals."""
    from profileguard.manifest import find_manifest, load_manifest
    from profileguard.model.catalog import build_catalog

    path = manifest or find_manifest()
    if path is None:
        raise ProfileguardError("no profileguard.yaml here or in a parent; pass --manifest PATH")
    catalog = build_catalog(load_manifest(path).manifest)
    if fmt == "json":
        print_json([t.as_dict() for t in catalog.tags])
        return
    if fmt == "md":
        typer.echo(catalog_markdown(catalog))
        return
    table = Table(title="Tag catalog")
    for col in ("tag", "kind", "purpose", "fields", "categories", "status"):
        table.add_column(col)
    for t in catalog.tags:
        status = "[red]refused[/]" if t.refused else "[green]ok[/]"
        table.add_row(t.name, t.tag.kind, t.tag.purpose, "\n".join(t.fields),
                      "\n".join(t.categories), status)
    console.print(table)
    for r in catalog.refusals:
        console.print(f"[red]refused[/] [{r.law} {r.article}] {r.message}", highlight=False)


def catalog_markdown(catalog: object) -> str:
    from profileguard.model.catalog import Catalog

    assert isinstance(catalog, Catalog)
    lines = ["# Tag catalog", "", "Generated by `profileguard tags --format md`; do not edit.", "",
             "| tag | title | kind | purpose | window | fields | categories | sensitive | status |",
             "|---|---|---|---|---|---|---|---|---|"]
    for t in catalog.tags:
        status = "refused: " + "; ".join(r.message for r in t.refusals) if t.refused else "ok"
        lines.append(
            f"| `{t.name}` | {t.tag.title.zh} / {t.tag.title.en} | {t.tag.kind} | {t.tag.purpose} "
            f"| {t.tag.window.text} | {', '.join(t.fields)} | {', '.join(t.categories)} "
            f"| {', '.join(t.sensitive_categories) or '—'} | {status.replace('|', '/')} |")
    return "\n".join(lines) + "\n"


def profile_cmd(
    user: Annotated[str, typer.Argument(help="the user's own id (or pseudonymous id)")],
    manifest: ManifestOpt = None, state_url: StateUrlOpt = None,
    lang: Annotated[str, typer.Option("--lang", help="zh or en")] = "zh",
    fmt: FormatOpt = "table",  # type: ignore[assignment]
) -> None:
    """One person's profile: every tag with its explanation, kind, confidence and lineage."""
    if lang not in {"zh", "en"}:
        raise ProfileguardError(f"--lang {lang!r}: use zh or en")
    with open_services(manifest, state_url=state_url) as svc:
        pid = svc.pid(user)
        tags = profile_of(svc.engine, svc.manifest, svc.catalog, pid, lang)
        svc.ledger.append("profile.read", "cli", pid, {"purpose": "cli profile view",
                                                       "tags": len(tags)})
    if fmt == "json":
        print_json({"user": pid, "tags": [t.as_dict() for t in tags]})
        return
    table = Table(title=f"Profile of {pid}")
    for col in ("tag", "value", "kind", "confidence", "explanation", "purpose", "valid until"):
        table.add_column(col)
    for t in tags:
        table.add_row(t.title, t.value, t.kind_label, f"{t.confidence:.2f}", t.explanation,
                      t.purpose, t.valid_until.date().isoformat())
    console.print(table)
    if not tags:
        console.print("no tags for this person in the current snapshot (no consent, objected, "
                      "or not built yet)")


def register(app: typer.Typer) -> None:
    app.command("build")(build_cmd)
    app.command("tags")(tags_cmd)
    app.command("profile")(profile_cmd)
