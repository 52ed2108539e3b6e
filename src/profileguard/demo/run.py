"""``profileguard demo``: a whole shop, from generated data to built profiles.

The demo is a list of steps over one :class:`DemoContext`; later capabilities add a step
(``register_step``) rather than editing the others. Each step prints what it did.
"""

from __future__ import annotations

import datetime as dt
import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from rich.console import Console

from profileguard.demo.generate import GenerateSummary, generate

DEMO_AS_OF = dt.datetime(2026, 11, 1)
MANIFESTS = ("profileguard.yaml", "naive.yaml")


@dataclass
class DemoContext:
    dir: Path
    users: int
    seed: int
    console: Console
    as_of: dt.datetime = DEMO_AS_OF
    serve: bool = False
    state: dict[str, Any] = field(default_factory=dict)

    @property
    def manifest(self) -> Path:
        return self.dir / "profileguard.yaml"

    @property
    def naive(self) -> Path:
        return self.dir / "naive.yaml"


Step = Callable[[DemoContext], None]
STEPS: list[tuple[str, Step]] = []


def register_step(name: str) -> Callable[[Step], Step]:
    def add(fn: Step) -> Step:
        STEPS.append((name, fn))
        return fn

    return add


def write_manifests(target: Path) -> None:
    for name in MANIFESTS:
        text = resources.files("profileguard.demo").joinpath("manifests", name).read_text("utf-8")
        (target / name).write_text(text, encoding="utf-8")


@register_step("generate")
def step_generate(ctx: DemoContext) -> None:
    ctx.console.rule("[bold]1. Generate a shop (Faker zh_CN, deterministic)")
    for sub in (".profileguard", ".profileguard-secrets"):
        shutil.rmtree(ctx.dir / sub, ignore_errors=True)
    summary: GenerateSummary = generate(
        ctx.dir / "data", users=ctx.users, seed=ctx.seed, as_of=ctx.as_of
    )
    ctx.state["generated"] = summary
    write_manifests(ctx.dir)
    for name, rows in summary.files.items():
        ctx.console.print(f"  {name:<22} {rows:>10,} rows")


@register_step("validate")
def step_validate(ctx: DemoContext) -> None:
    from profileguard.manifest import ManifestError, load_manifest

    ctx.console.rule("[bold]2. Validate both manifests")
    for path in (ctx.manifest, ctx.naive):
        try:
            loaded = load_manifest(path)
            m = loaded.manifest
            ctx.console.print(
                f"  [green]✓[/] {path.name}: {len(m.sources)} sources, "
                f"{sum(len(f) for f in m.fields.values())} fields, "
                f"{len(m.tags)} tags"
            )
        except ManifestError as exc:
            ctx.console.print(f"  [red]✗[/] {path.name}\n{exc}")
            raise


@register_step("ingest")
def step_ingest(ctx: DemoContext) -> None:
    import pyarrow.csv as pcsv

    from profileguard.cli.ingest import print_report
    from profileguard.pipeline.ingest import ingest_workspace
    from profileguard.pipeline.services import open_services

    ctx.console.rule("[bold]3. Ingest with the compliant manifest (the collection gate)")
    svc = open_services(ctx.manifest)
    ctx.state["services"] = svc
    consents = pcsv.read_csv(ctx.dir / "data" / "consents.csv",
                             convert_options=pcsv.ConvertOptions(strings_can_be_null=True))
    n = svc.book.import_arrow(consents, source="demo consents.csv")
    ctx.console.print(f"  consent log: {n:,} records imported into the ConsentBook "
                      "(each batch hash-chained in the ledger)")
    report = ingest_workspace(svc, now=ctx.as_of)
    ctx.state["ingest"] = report
    print_report(report)


@register_step("build")
def step_build(ctx: DemoContext) -> None:
    from profileguard.cli.build import print_build
    from profileguard.manifest import load_manifest
    from profileguard.model.catalog import build_catalog
    from profileguard.pipeline.profiles import build_profiles
    from profileguard.pipeline.services import Services

    ctx.console.rule("[bold]4. Build profiles (consent applied, explanations stored)")
    svc: Services = ctx.state["services"]
    report = build_profiles(svc, ctx.as_of)
    ctx.state["build"] = report
    print_build(report)
    naive = build_catalog(load_manifest(ctx.naive).manifest)
    ctx.console.print("  naive.yaml — tags the build would refuse:")
    for r in naive.refusals:
        ctx.console.print(f"   [red]✗[/] [{r.law} {r.article}] {r.message}", highlight=False)


def run_demo(
    directory: Path, *, users: int, seed: int, serve: bool, console: Console
) -> DemoContext:
    _load_steps()
    directory.mkdir(parents=True, exist_ok=True)
    ctx = DemoContext(directory.resolve(), users, seed, console, serve=serve)
    try:
        for _name, step in STEPS:
            step(ctx)
    finally:
        svc = ctx.state.get("services")
        if svc is not None:
            svc.close()
    console.rule("[bold green]demo complete")
    console.print(f"workspace: {ctx.dir}  (try: cd {ctx.dir} && profileguard profile <user id>)")
    return ctx


def _load_steps() -> None:
    """Steps that live in their own modules register themselves on import."""
    import importlib

    for module in ("apply_step", "pricing_step", "audit_step", "serve_step"):
        importlib.import_module(f"profileguard.demo.{module}")
