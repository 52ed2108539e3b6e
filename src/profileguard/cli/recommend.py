"""``profileguard recommend`` and ``profileguard search``: guarded results for one user."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from profileguard.apply.guards import Mode
from profileguard.apply.recommend import Context, RecommendationResult, Recommender
from profileguard.apply.search import Searcher, SearchResult
from profileguard.cli._common import (
    Format,
    FormatOpt,
    ManifestOpt,
    StateUrlOpt,
    console,
    print_json,
)
from profileguard.pipeline.services import open_services

UserArg = Annotated[str, typer.Argument(help="the person's own id (or pseudonymous id)")]
ModeOpt = Annotated[str, typer.Option("--mode", help="personalized | non_personalized")]
CountOpt = Annotated[int, typer.Option("-n", "--count", min=1, max=200, help="how many")]


def _mode(text: str) -> Mode:
    if text not in ("personalized", "non_personalized"):
        raise typer.BadParameter("use personalized or non_personalized", param_hint="--mode")
    return "personalized" if text == "personalized" else "non_personalized"


def _header(mode: str, requested: str, rule: object) -> str:
    forced = ""
    if rule is not None and mode != requested:
        forced = f"  [yellow](asked {requested}; {getattr(rule, 'reason', '')})[/]"
    return f"mode: [bold]{mode}[/]{forced}"


def print_recommendations(res: RecommendationResult) -> None:
    console.print(_header(res.mode, res.requested, res.rule), highlight=False)
    table = Table("#", "item", "category", "why")
    for i, item in enumerate(res.items, 1):
        table.add_row(str(i), item.title, item.category, item.explanation)
    console.print(table)


def print_search(res: SearchResult) -> None:
    console.print(_header(res.mode, res.requested, res.rule), highlight=False)
    table = Table("#", "item", "category", "score", "why")
    for i, hit in enumerate(res.hits, 1):
        table.add_row(str(i), hit.title, hit.category, f"{hit.score:.3f}", hit.explanation)
    console.print(table)


def recommend_cmd(user: UserArg, mode: ModeOpt = "personalized", n: CountOpt = 10,
                  context: Annotated[str, typer.Option(
                      "--context", help="feed | marketing (minors get non-personalized "
                      "results in marketing)")] = "feed",
                  category: Annotated[str | None, typer.Option(
                      "--category", help="non-personalized: popular in this category")] = None,
                  manifest: ManifestOpt = None, state_url: StateUrlOpt = None,
                  fmt: FormatOpt = Format.table) -> None:
    """Recommendations ("猜你喜欢"); the guard decides the mode before the profile is read."""
    if context not in ("feed", "marketing"):
        raise typer.BadParameter("use feed or marketing", param_hint="--context")
    ctx: Context = "marketing" if context == "marketing" else "feed"
    with open_services(manifest, state_url=state_url) as svc:
        res = Recommender(svc).recommend(user, n, _mode(mode), context=ctx, category=category)
    if fmt == Format.json:
        print_json(res.as_dict())
    else:
        print_recommendations(res)


def search_cmd(user: UserArg, query: Annotated[str, typer.Argument(help="search words")],
               mode: ModeOpt = "personalized", n: CountOpt = 10,
               manifest: ManifestOpt = None, state_url: StateUrlOpt = None,
               fmt: FormatOpt = Format.table) -> None:
    """Search items; personalized ranking only when allowed, non-personalized always (ECL 18)."""
    with open_services(manifest, state_url=state_url) as svc:
        res = Searcher(Recommender(svc)).search(user, query, n, _mode(mode))
    if fmt == Format.json:
        print_json(res.as_dict())
    else:
        print_search(res)


def register(app: typer.Typer) -> None:
    app.command("recommend")(recommend_cmd)
    app.command("search")(search_cmd)
