"""``profileguard clv`` through Typer's CliRunner: JSON shape, holdout, summary, bad input."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import typer.main
from typer.testing import CliRunner

from profileguard.cli import app
from profileguard.errors import ProfileguardError

runner = CliRunner()


def _invoke(args: list[str]):
    # While clv is the only registered command Typer runs it without a subcommand name.
    prefix = ["clv"] if hasattr(typer.main.get_command(app), "commands") else []
    return runner.invoke(app, prefix + args)


@pytest.fixture
def transactions(tmp_path: Path) -> Path:
    """300 buyers over Jan–Jun 2024 drawn from a BG/NBD-like process (rate, dropout, spend)."""
    rng = np.random.default_rng(5)
    lines = ["order_id,buyer,paid_at,total"]
    n = 0
    for buyer in range(300):
        day = float(rng.integers(0, 60))
        rate, drop, spend = rng.gamma(0.7, 1 / 15), rng.beta(1.0, 4.0), rng.lognormal(3.5, 0.4)
        while day < 182:
            n += 1
            date = np.datetime64("2024-01-01") + int(day)
            lines.append(f"{n},u{buyer},{date},{spend * rng.gamma(5.0, 0.2):.2f}")
            if rng.random() < drop:
                break
            day += rng.exponential(1 / rate)
    path = tmp_path / "orders.csv"
    path.write_text("\n".join(lines) + "\n")
    return path


BASE = ["--customer", "buyer", "--date", "paid_at", "--amount", "total"]


def test_json_report_has_both_models_and_the_holdout(transactions: Path):
    result = _invoke(
        [
            str(transactions),
            *BASE,
            "--calibration-end",
            "2024-04-30",
            "--observation-end",
            "2024-06-30",
            "--format",
            "json",
        ]
    )
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    assert set(doc["bgnbd"]) == {"r", "alpha", "a", "b", "log_likelihood"}
    assert set(doc["gamma_gamma"]) == {"p", "q", "gamma"}
    assert doc["customers"] == 300 and 0 < doc["repeat_customers"] < 300
    holdout = doc["holdout"]
    assert set(holdout) == {"correlation", "predicted_total", "actual_total"}
    assert holdout["correlation"] > 0.5
    assert holdout["predicted_total"] == pytest.approx(holdout["actual_total"], rel=0.3)


def test_without_observation_end_there_is_no_holdout(transactions: Path):
    result = _invoke([str(transactions), *BASE, "--time-unit", "week", "--format", "json"])
    assert result.exit_code == 0, result.output
    assert "holdout" not in json.loads(result.stdout)


def test_table_output_names_the_parameters(transactions: Path):
    result = _invoke([str(transactions), *BASE])
    assert result.exit_code == 0, result.output
    assert "BG/NBD" in result.stdout and "Gamma-Gamma" in result.stdout


def test_summary_file_fits_bgnbd_and_skips_gamma_gamma_without_monetary(
    cdnow_summary_path: Path,
):
    result = _invoke(
        ["--summary", str(cdnow_summary_path), "--time-unit", "week", "--format", "json"]
    )
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    assert doc["gamma_gamma"] is None and doc["customers"] == 2357
    assert doc["bgnbd"]["r"] == pytest.approx(0.243, rel=0.01)


def _error(result) -> str:
    assert result.exit_code != 0
    assert isinstance(result.exception, ProfileguardError), result.output
    return str(result.exception)


def test_missing_column_names_the_file_and_the_column(transactions: Path):
    message = _error(
        _invoke([str(transactions), "--customer", "buyer", "--date", "when", "--amount", "total"])
    )
    assert "orders.csv" in message and "'when'" in message and "paid_at" in message


def test_unparseable_date_names_the_row_and_column(tmp_path: Path):
    path = tmp_path / "bad.csv"
    path.write_text("buyer,paid_at,total\na,2024-01-02,5\nb,2024-13-45,6\n")
    message = _error(_invoke([str(path), *BASE]))
    assert "bad.csv" in message and "row 2" in message and "'paid_at'" in message


def test_date_format_option_parses_compact_dates(tmp_path: Path):
    path = tmp_path / "compact.csv"
    rows = "".join(f"c{i % 7},202401{(i % 28) + 1:02d},{i + 1}\n" for i in range(60))
    path.write_text("buyer,paid_at,total\n" + rows)
    result = _invoke([str(path), *BASE, "--date-format", "%Y%m%d", "--format", "json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["customers"] == 7


def test_negative_amount_names_the_row_and_column(tmp_path: Path):
    path = tmp_path / "neg.csv"
    path.write_text("buyer,paid_at,total\na,2024-01-02,5\na,2024-01-03,7\nb,2024-01-04,-3\n")
    message = _error(_invoke([str(path), *BASE]))
    assert "row 3" in message and "'total'" in message and "negative" in message
