"""``profileguard clv``: fit customer-value models on any transaction file or summary.

Works outside a workspace: the CSV is read with Arrow, checked (columns present, dates
parse, amounts are non-negative numbers — errors name the file, row and column), loaded
into an in-memory DuckDB engine, summarised there in SQL, and BG/NBD and Gamma-Gamma are
fitted. With ``--observation-end`` the purchases predicted for the holdout period are
compared with the actual ones.
"""

from __future__ import annotations

import datetime as dt
import json
import math
from pathlib import Path
from typing import Annotated, Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import typer
from rich.console import Console
from rich.table import Table

from profileguard.errors import ProfileguardError
from profileguard.model.predictive.clv import CustomerValueModel, HoldoutCheck, fit_customer_value
from profileguard.model.predictive.summary import DAYS_PER_UNIT, RFMSummary, TimeUnit, rfm_summary
from profileguard.store.engine import DuckDBEngine

DEFAULT_DATE_FORMATS = ("%Y-%m-%d", "%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M:%S", "%Y%m%d")


def _read_csv(path: Path, columns: list[str]) -> pa.Table:
    """Read ``columns`` of ``path`` as strings; a missing column is a user error."""
    available = _header(path)
    for column in columns:
        if column not in available:
            raise ProfileguardError(
                f"{path}: line 1: column {column!r} not found; columns are: " + ", ".join(available)
            )
    try:
        return pacsv.read_csv(
            path,
            convert_options=pacsv.ConvertOptions(
                column_types={c: pa.string() for c in columns}, include_columns=columns
            ),
        )
    except pa.ArrowInvalid as exc:
        raise ProfileguardError(f"{path}: not a readable CSV file ({exc})") from exc


def _header(path: Path) -> list[str]:
    if not path.is_file():
        raise ProfileguardError(f"{path}: file not found")
    try:
        with pacsv.open_csv(path) as reader:
            return list(reader.schema.names)
    except pa.ArrowInvalid as exc:
        raise ProfileguardError(f"{path}: not a readable CSV file ({exc})") from exc


def _where(path: Path, index: int, column: str) -> str:
    return f"{path}: row {index + 1} (line {index + 2}), column {column!r}"


def _first_bad(valid: pa.ChunkedArray | pa.Array) -> int:
    flags = np.asarray(pc.fill_null(valid, False).to_numpy(zero_copy_only=False), dtype=bool)
    return int(np.argmin(flags)) if not flags.all() else -1


def _parse_dates(path: Path, raw: pa.ChunkedArray, column: str, fmt: str | None) -> pa.Array:
    text = pc.utf8_trim_whitespace(raw.combine_chunks())
    formats = (fmt,) if fmt else DEFAULT_DATE_FORMATS
    parsed = pa.nulls(len(text), pa.timestamp("s"))
    for one in formats:
        attempt = pc.strptime(text, format=one, unit="s", error_is_null=True)
        parsed = pc.coalesce(parsed, attempt)
    bad = _first_bad(pc.is_valid(parsed))
    if bad >= 0:
        allowed = f"format {fmt!r}" if fmt else "ISO dates (YYYY-MM-DD[ HH:MM:SS]) or YYYYMMDD"
        raise ProfileguardError(
            f"{_where(path, bad, column)}: cannot parse date {text[bad].as_py()!r}; "
            f"expected {allowed} (set --date-format)"
        )
    return pc.cast(parsed, pa.date32())


def _parse_amounts(path: Path, raw: pa.ChunkedArray, column: str) -> pa.Array:
    text = pc.utf8_trim_whitespace(raw.combine_chunks())
    numeric = pc.match_substring_regex(text, r"^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$")
    bad = _first_bad(numeric)
    if bad >= 0:
        raise ProfileguardError(
            f"{_where(path, bad, column)}: amount {text[bad].as_py()!r} is not a number"
        )
    amounts = pc.cast(text, pa.float64())
    bad = _first_bad(pc.greater_equal(amounts, 0.0))
    if bad >= 0:
        raise ProfileguardError(
            f"{_where(path, bad, column)}: amount {amounts[bad].as_py()} is negative; "
            "amounts must be >= 0 (record refunds outside this file)"
        )
    return amounts


def load_transactions(
    path: Path, customer: str, date: str, amount: str, date_format: str | None
) -> pa.Table:
    """The checked transactions as (customer_id string, day date32, amount float64)."""
    table = _read_csv(path, [customer, date, amount])
    ids = pc.utf8_trim_whitespace(table.column(customer).combine_chunks())
    bad = _first_bad(pc.and_(pc.is_valid(ids), pc.not_equal(ids, "")))
    if bad >= 0:
        raise ProfileguardError(f"{_where(path, bad, customer)}: customer id is empty")
    return pa.table(
        {
            "customer_id": ids,
            "day": _parse_dates(path, table.column(date), date, date_format),
            "amount": _parse_amounts(path, table.column(amount), amount),
        }
    )


def load_summary(path: Path, time_unit: TimeUnit = "day") -> RFMSummary:
    """A ready summary CSV: frequency, recency, T (numbers) and optional monetary_value."""
    available = _header(path)
    columns = ["frequency", "recency", "T"]
    if "monetary_value" in available:
        columns.append("monetary_value")
    table = _read_csv(path, columns)
    arrays: dict[str, pa.Array] = {}
    for column in columns:
        values = _parse_amounts(path, table.column(column), column)
        arrays[column] = values
    bad = _first_bad(pc.less_equal(arrays["recency"], pc.add(arrays["T"], 1e-9)))
    if bad >= 0:
        raise ProfileguardError(
            f"{_where(path, bad, 'recency')}: recency is larger than T; need 0 <= recency <= T"
        )
    if "monetary_value" not in arrays:
        arrays["monetary_value"] = pa.array(np.zeros(table.num_rows))
    return RFMSummary.from_arrow(pa.table(arrays), time_unit=time_unit)


def _parse_day(value: str | None, option: str) -> dt.date | None:
    if value is None:
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError as exc:
        raise ProfileguardError(f"{option} {value!r} is not a date; use YYYY-MM-DD") from exc


def _clean(value: float) -> float | None:
    return None if math.isnan(value) or math.isinf(value) else value


def report(
    model: CustomerValueModel, summary: RFMSummary, check: HoldoutCheck | None
) -> dict[str, Any]:
    """The JSON document of ``profileguard clv``."""
    bg = model.bgnbd
    result: dict[str, Any] = {
        "bgnbd": bg.params.as_dict() | {"log_likelihood": _clean(bg.log_likelihood)},
        "gamma_gamma": model.gamma_gamma.params.as_dict() if model.gamma_gamma else None,
        "customers": len(summary),
        "repeat_customers": int(np.sum(summary.frequency > 0)),
        "time_unit": summary.time_unit,
    }
    if check is not None:
        result["holdout"] = {
            "correlation": _clean(check.correlation),
            "predicted_total": _clean(check.predicted_total),
            "actual_total": _clean(check.actual_total),
        }
    return result


def _print_table(doc: dict[str, Any]) -> None:
    table = Table(
        title=f"Customer value ({doc['customers']} customers, "
        f"{doc['repeat_customers']} repeat, times in {doc['time_unit']}s)"
    )
    table.add_column("model")
    table.add_column("parameter")
    table.add_column("value", justify="right")
    for key, value in doc["bgnbd"].items():
        table.add_row("BG/NBD", key, f"{value:.4f}")
    if doc["gamma_gamma"]:
        for key, value in doc["gamma_gamma"].items():
            table.add_row("Gamma-Gamma", key, f"{value:.4f}")
    else:
        table.add_row("Gamma-Gamma", "—", "no monetary value")
    for key, value in (doc.get("holdout") or {}).items():
        table.add_row("holdout", key, "n/a" if value is None else f"{value:.4f}")
    Console().print(table)


def clv(
    transactions: Annotated[Path | None, typer.Argument(help="CSV of transactions")] = None,
    customer: Annotated[str | None, typer.Option(help="customer id column")] = None,
    date: Annotated[str | None, typer.Option(help="purchase date column")] = None,
    amount: Annotated[str | None, typer.Option(help="purchase amount column")] = None,
    date_format: Annotated[str | None, typer.Option(help="strptime format of dates")] = None,
    calibration_end: Annotated[
        str | None, typer.Option(help="YYYY-MM-DD; default last date")
    ] = None,
    observation_end: Annotated[str | None, typer.Option(help="YYYY-MM-DD; enables holdout")] = None,
    time_unit: Annotated[str, typer.Option(help="day or week")] = "day",
    summary: Annotated[Path | None, typer.Option(help="ready summary CSV instead")] = None,
    output_format: Annotated[str, typer.Option("--format", help="table or json")] = "table",
) -> None:
    """Fit BG/NBD and Gamma-Gamma customer-value models and report them."""
    if output_format not in ("table", "json"):
        raise ProfileguardError(f"--format {output_format!r}: allowed are table, json")
    if time_unit not in DAYS_PER_UNIT:
        raise ProfileguardError(f"--time-unit {time_unit!r}: allowed are day, week")
    unit: TimeUnit = "week" if time_unit == "week" else "day"
    check: HoldoutCheck | None = None
    if summary is not None:
        if transactions is not None or observation_end is not None:
            raise ProfileguardError("--summary takes no TRANSACTIONS file and no --observation-end")
        rfm = load_summary(summary, unit)
    else:
        if transactions is None or not (customer and date and amount):
            raise ProfileguardError(
                "give TRANSACTIONS.csv with --customer, --date and --amount, or --summary FILE"
            )
        tx = load_transactions(transactions, customer, date, amount, date_format)
        if tx.num_rows == 0:
            raise ProfileguardError(f"{transactions}: no transactions")
        cal = _parse_day(calibration_end, "--calibration-end")
        obs = _parse_day(observation_end, "--observation-end")
        if cal is None:
            if obs is not None:
                raise ProfileguardError("--observation-end needs --calibration-end")
            cal = pc.max(tx.column("day")).as_py()
        assert cal is not None
        with DuckDBEngine() as engine:
            engine.execute("SET enable_progress_bar = false")  # stdout is for JSON
            engine.load_arrow("transactions", tx, mode="replace")
            rfm = rfm_summary(
                engine,
                "transactions",
                customer="customer_id",
                date="day",
                amount="amount",
                calibration_end=cal,
                observation_end=obs,
                time_unit=unit,
            )
        if len(rfm) == 0:
            raise ProfileguardError(f"{transactions}: no purchase on or before {cal}")
    try:
        model = fit_customer_value(rfm)
    except ValueError as exc:
        raise ProfileguardError(f"cannot fit the customer-value models: {exc}") from exc
    if rfm.frequency_holdout is not None:
        check = model.holdout(rfm)
    doc = report(model, rfm, check)
    if output_format == "json":
        typer.echo(json.dumps(doc, ensure_ascii=False, allow_nan=False))
    else:
        _print_table(doc)


def register(app: typer.Typer) -> None:
    app.command("clv")(clv)
