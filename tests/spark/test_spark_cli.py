"""`profileguard build --engine spark`: the option reaches the workspace, and --explain shows
the Spark SQL that would run (transpiled, with DuckDB's semantics rewritten) without a JVM."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from profileguard.cli import app as cli_app
from profileguard.errors import ProfileguardError
from profileguard.store.workspace import open_workspace


def test_explain_with_spark_engine_prints_transpiled_spark_sql(demo_ws: Path) -> None:
    out = CliRunner().invoke(cli_app, ["build", "--manifest", str(demo_ws), "--engine", "spark",
                                       "--explain", "--as-of", "2026-11-01", "--format", "json"])
    assert out.exit_code == 0, out.output
    steps = {s["name"]: s["sql"] for s in json.loads(out.stdout)}
    users = steps["users@all"]
    assert "`gender`" in users and '"gender"' not in users  # Spark quoting
    assert "DATEDIFF(DAY, DATE_TRUNC('DAY'" in users  # DuckDB's boundary counting kept
    assert "ORDER BY `frequency_365d` NULLS LAST, `user_id` NULLS LAST" in steps["derived"]


def test_unknown_engine_is_refused_with_the_allowed_names(demo_ws: Path) -> None:
    out = CliRunner().invoke(cli_app, ["build", "--manifest", str(demo_ws), "--engine", "flink"])
    assert out.exit_code != 0 and "flink" in out.output
    ws = open_workspace(demo_ws, engine="flink")
    with pytest.raises(ProfileguardError, match="allowed: duckdb, spark"):
        ws.build_engine()
    ws.close()
