"""``profileguard evaluate recommend``: offline precision/recall/coverage on a time split."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from profileguard.apply.evaluate import Evaluation, evaluate_recommendations
from profileguard.cli._common import (
    Format,
    FormatOpt,
    ManifestOpt,
    StateUrlOpt,
    console,
    print_json,
)
from profileguard.pipeline.services import open_services

evaluate_app = typer.Typer(help="Offline evaluation of applications.", no_args_is_help=True)


def print_evaluation(ev: Evaluation) -> None:
    console.print(f"train < {ev.split:%Y-%m-%d}, test {ev.split:%Y-%m-%d} → {ev.as_of:%Y-%m-%d}; "
                  f"{ev.catalogue} items in the catalogue")
    k = ev.results[0].k if ev.results else 10
    table = Table("ranking", "users", f"precision@{k}", f"recall@{k}", "hit rate", "coverage")
    for r in ev.results:
        table.add_row(r.ranking, str(r.users), f"{r.precision:.4f}", f"{r.recall:.4f}",
                      f"{r.hit_rate:.3f}", f"{r.coverage:.3f}")
    console.print(table)


@evaluate_app.command("recommend")
def recommend_eval(k: Annotated[int, typer.Option("-k", min=1, help="list length")] = 10,
                   test_days: Annotated[int, typer.Option("--test-days", min=1)] = 30,
                   manifest: ManifestOpt = None, state_url: StateUrlOpt = None,
                   fmt: FormatOpt = Format.table) -> None:
    """Personalized vs popularity: precision@k, recall@k, coverage on a time split."""
    with open_services(manifest, state_url=state_url) as svc:
        ev = evaluate_recommendations(svc, k=k, test_days=test_days)
    if fmt == Format.json:
        print_json(ev.as_dict())
    else:
        print_evaluation(ev)


def register(app: typer.Typer) -> None:
    app.add_typer(evaluate_app, name="evaluate")
