"""``profileguard audit``: the auditor's command group.

``audit pricing`` runs the price-discrimination audit (大数据杀熟) on a quotes file and
``audit targeting`` the selection-disparity audit on an audience or coupon selection.
The group callback runs the manifest audit (``profileguard audit`` with no subcommand;
its body lives in ``_audit_report``).
"""

from __future__ import annotations

import json
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import pandas as pd
import typer
from rich.console import Console
from rich.table import Table

from profileguard.audit.fairness.html import to_html
from profileguard.audit.fairness.pricing import PricingConfig, PricingResult, audit_pricing
from profileguard.audit.fairness.quotes import QuoteData, load_quote_data, read_table
from profileguard.audit.fairness.report import HEADERS, summary_line, test_row, to_json, to_markdown
from profileguard.audit.fairness.targeting import TargetingResult, audit_targeting
from profileguard.errors import ProfileguardError

audit_app = typer.Typer(
    help="Audit profiles and their uses against PIPL, ALG, GDPR and the other rule packs.",
    no_args_is_help=False,
    add_completion=False,
)


class PriceFormat(StrEnum):
    table = "table"
    json = "json"
    md = "md"
    html = "html"


class TimeBucketOption(StrEnum):
    hour = "hour"
    day = "day"


class TableOrJson(StrEnum):
    table = "table"
    json = "json"


@audit_app.callback(invoke_without_command=True)
def audit_main(
    ctx: typer.Context,
    manifest: Annotated[Path | None, typer.Option("--manifest", "-m", help="profileguard.yaml (default: here or nearest parent).")] = None,
    output_format: Annotated[str, typer.Option("--format", "-f", help="table, json, md, html or sarif.")] = "table",
    out: Annotated[Path | None, typer.Option("--out", help="Write the report to this file.")] = None,
    fail_on: Annotated[str | None, typer.Option("--fail-on", help="Exit 1 when a high, medium or low finding (or worse) remains.")] = None,
    as_of: Annotated[str | None, typer.Option("--as-of", help="Audit date YYYY-MM-DD (default: today).")] = None,
    state_url: Annotated[str | None, typer.Option("--state-url", envvar="PROFILEGUARD_STATE_URL", help="Operational database URL.")] = None,
    pricing: Annotated[bool, typer.Option("--pricing", help="Also run the pricing audit on the workspace's quotes (PIPL 24, ALG 21 review findings).")] = False,
) -> None:
    """Audit the manifest and its workspace against the rule packs of its jurisdictions."""
    if ctx.invoked_subcommand is not None:
        return
    from profileguard.cli._audit_report import run_audit_command

    code = run_audit_command(manifest, output_format, out, fail_on, as_of, state_url, pricing)
    if code:
        raise typer.Exit(code)


def _names(option: str | None) -> tuple[str, ...] | None:
    if option is None:
        return None
    names = tuple(n.strip() for n in option.split(",") if n.strip())
    return names or None


def _emit(text: str, out: Path | None) -> None:
    if out is None:
        typer.echo(text)
        return
    out.write_text(text, encoding="utf-8")
    Console(stderr=True).print(f"wrote {out}")


def _price_table(result: PricingResult, console: Console) -> None:
    console.print(summary_line(result), highlight=False)
    console.print("[bold]controlled for:[/] " + "; ".join(result.controlled_for), highlight=False)
    console.print("[bold]not controlled for:[/] " + "; ".join(result.not_controlled_for), highlight=False)
    table = Table(*[h or "flag" for h in HEADERS], title="price gaps (same item, same time bucket)")
    for t in sorted(result.tests, key=lambda t: (not t.flagged, t.attribute, t.category or "")):
        table.add_row(*test_row(t), style="bold red" if t.flagged else None)
    console.print(table)
    for p in result.pairs:
        console.print(
            f"pair: {p['attribute']}={p['group']} {p['user_id']} paid {p['price']} vs "
            f"{p['reference']} {p['reference_user_id']} {p['reference_price']} for {p['item_id']} "
            f"at {p['time_bucket']} ({p['diff_pct']:+.2f}%)",
            highlight=False,
        )


def _workspace_quotes(manifest: Path | None, quotes: Path | None, as_of: str | None) -> QuoteData:
    import datetime as dt

    from profileguard.audit.fairness.quotes import Source, assemble
    from profileguard.manifest import find_manifest
    from profileguard.pipeline.pricing import workspace_quote_data
    from profileguard.pipeline.services import open_services

    if manifest is None and find_manifest() is None:
        raise ProfileguardError("no workspace users table: no profileguard.yaml here or in a "
                                "parent; pass --users USERS.csv (with QUOTES) or --manifest PATH")
    when = dt.datetime.fromisoformat(as_of) if as_of else dt.datetime.now()
    with open_services(manifest) as svc:
        data = workspace_quote_data(svc, when)
    if quotes is None:
        return data
    frame, source = read_table(quotes, "quotes")
    users = data.frame[["user_id", *data.user_attributes]].drop_duplicates("user_id")
    items = data.frame[["item_id", "category"]].drop_duplicates("item_id")
    return assemble(frame, users, items, quotes_source=source,
                    users_source=Source("workspace users (derived attributes)"),
                    items_source=Source("workspace items"))


@audit_app.command("pricing")
def pricing_command(
    quotes: Annotated[Path | None, typer.Argument(help="Quotes: CSV or Parquet with user_id, item_id, ts, price (default: the workspace's quotes).")] = None,
    users: Annotated[Path | None, typer.Option("--users", help="User attributes (CSV/Parquet) keyed by user_id.")] = None,
    items: Annotated[Path | None, typer.Option("--items", help="Item attributes with item_id, category.")] = None,
    attributes: Annotated[str | None, typer.Option("--attributes", help="Attributes to audit, comma-separated (default: all user columns).")] = None,
    controls: Annotated[str | None, typer.Option("--controls", help="Extra legitimate factors, comma-separated.")] = None,
    time_bucket: Annotated[TimeBucketOption, typer.Option("--time-bucket", help="Compare within item × hour or item × day.")] = TimeBucketOption.hour,
    timezone: Annotated[str, typer.Option("--timezone", help="Clock of the time buckets (IANA name, e.g. Asia/Shanghai).")] = "UTC",
    threshold: Annotated[float, typer.Option("--threshold", help="Materiality threshold (0.01 = 1%).")] = 0.01,
    alpha: Annotated[float, typer.Option("--alpha", help="False discovery rate for Benjamini–Hochberg.")] = 0.05,
    separate: Annotated[bool, typer.Option("--separate", help="One model per attribute instead of one joint model.")] = False,
    permutation: Annotated[bool, typer.Option("--permutation", help="Permutation test within cells instead of cluster-robust p-values.")] = False,
    coupon_is_price: Annotated[bool, typer.Option("--coupon-is-price", help="Do not treat coupons as a legitimate factor.")] = False,
    output_format: Annotated[PriceFormat, typer.Option("--format", help="table, json, md or html.")] = PriceFormat.table,
    out: Annotated[Path | None, typer.Option("--out", help="Write the report to this file.")] = None,
    manifest: Annotated[Path | None, typer.Option("--manifest", "-m", help="Workspace used without --users (default: here or nearest parent).")] = None,
    as_of: Annotated[str | None, typer.Option("--as-of", help="Workspace attributes as of this date (default: now).")] = None,
) -> None:
    """Price discrimination by profile (大数据杀熟): same item, same time, different users.

    Without --users the workspace supplies the user attributes (tenure, order count,
    membership, device, city tier, age band, gender, derived at --as-of) and, when QUOTES
    is omitted, the quotes too."""
    if users is None:
        data = _workspace_quotes(manifest, quotes, as_of)
    elif quotes is None:
        raise ProfileguardError("pass QUOTES with --users (or neither, to use the workspace)")
    else:
        data = load_quote_data(quotes, users, items)
    config = PricingConfig(
        attributes=_names(attributes),
        controls=_names(controls) or (),
        time_bucket="day" if time_bucket is TimeBucketOption.day else "hour",
        timezone=timezone,
        threshold=threshold,
        alpha=alpha,
        model="separate" if separate else "joint",
        method="permutation" if permutation else "cluster",
        coupon_legitimate=not coupon_is_price,
    )
    result = audit_pricing(data, config)
    if output_format is PriceFormat.json:
        _emit(to_json(result), out)
    elif output_format is PriceFormat.md:
        _emit(to_markdown(result), out)
    elif output_format is PriceFormat.html:
        _emit(to_html(result), out)
    elif out is not None:
        _emit(to_markdown(result), out)
    else:
        _price_table(result, Console())


def _targeting_table(result: TargetingResult, console: Console) -> None:
    table = Table("attribute", "group", "n", "selected", "rate", "ratio", "95% CI", "", title=f"selection rates (line {result.line:g})")
    for g in result.groups:
        table.add_row(
            g.attribute, g.group, str(g.n), str(g.selected), f"{g.rate:.3f}", f"{g.ratio:.2f}",
            f"[{g.ratio_ci[0]:.2f}, {g.ratio_ci[1]:.2f}]", "BELOW" if g.below_line else "",
            style="bold red" if g.clearly_below else None,
        )
    console.print(table)
    if result.ages is not None:
        a = result.ages
        console.print(
            f"ages ({a.source}): {a.selected_minors} minors, {a.selected_elderly} aged 60+, "
            f"{a.selected_unknown_age} unknown selected",
            highlight=False,
        )
    for note in result.notes:
        console.print(f"note: {note}", highlight=False)


@audit_app.command("targeting")
def targeting_command(
    selection: Annotated[Path, typer.Argument(help="Selection: CSV/Parquet with user_id and a 0/1 selected column.")],
    users: Annotated[Path | None, typer.Option("--users", help="User attributes to join on user_id.")] = None,
    attributes: Annotated[str | None, typer.Option("--attributes", help="Attributes to compare, comma-separated.")] = None,
    selected: Annotated[str, typer.Option("--selected", help="Name of the 0/1 column.")] = "selected",
    marketing: Annotated[bool, typer.Option("--marketing/--not-marketing", help="Run the minors and elderly checks.")] = True,
    seed: Annotated[int, typer.Option("--seed", help="Bootstrap seed.")] = 0,
    output_format: Annotated[TableOrJson, typer.Option("--format", help="table or json.")] = TableOrJson.table,
) -> None:
    """Selection-rate disparity for an audience, coupon or campaign (0.8 line)."""
    frame, _ = read_table(selection, "selection")
    if users is not None:
        user_frame, _ = read_table(users, "users")
        frame = frame.merge(user_frame, on="user_id", how="left", suffixes=("", "_user"))
    frame = frame.assign(user_id=frame["user_id"].astype(str)) if "user_id" in frame.columns else frame
    result = audit_targeting(
        pd.DataFrame(frame), _names(attributes), selected=selected, marketing=marketing, seed=seed
    )
    if output_format is TableOrJson.json:
        typer.echo(json.dumps(result.to_dict(), ensure_ascii=False, indent=2))
    else:
        _targeting_table(result, Console())


def register(app: typer.Typer) -> None:
    """Add the ``audit`` group to the main app."""
    app.add_typer(audit_app, name="audit")
