"""The deidentify, risk and release commands end to end on files."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from profileguard.cli import app
from profileguard.process.pseudonym import KEY_ENV


def _csv(tmp_path: Path) -> Path:
    path = tmp_path / "users.csv"
    table = pa.table(
        {
            "user_id": [f"u{i}" for i in range(60)],
            "phone": [f"138{i:08d}" for i in range(60)],
            "age": [20 + i % 40 for i in range(60)],
            "city": ["北京", "上海", "广州"] * 20,
            "spend": [float(i % 7) for i in range(60)],
        }
    )
    pacsv.write_csv(table, path)
    return path


def test_deidentify_writes_parquet_with_pseudonyms_and_masks(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    recipe = tmp_path / "r.yaml"
    recipe.write_text(
        "columns:\n  user_id: pseudonymize\n  phone: {transform: mask, preset: phone}\n"
    )
    monkeypatch.setenv(KEY_ENV, "cli-test-key-0123456789")
    out = tmp_path / "out.parquet"
    result = CliRunner().invoke(
        app, ["deidentify", str(_csv(tmp_path)), "--recipe", str(recipe), "--out", str(out)]
    )
    assert result.exit_code == 0, result.output
    table = pq.read_table(out)
    assert table.column("phone")[0].as_py() == "138****0000"
    assert table.column("user_id")[0].as_py().startswith("p_")
    assert "u0" not in table.column("user_id").to_pylist()


def test_deidentify_refuses_to_run_without_a_key(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    recipe = tmp_path / "r.yaml"
    recipe.write_text("columns:\n  user_id: pseudonymize\n")
    monkeypatch.delenv(KEY_ENV, raising=False)
    out = tmp_path / "out.csv"
    result = CliRunner().invoke(
        app, ["deidentify", str(_csv(tmp_path)), "--recipe", str(recipe), "--out", str(out)]
    )
    assert result.exit_code != 0 and not out.exists()
    assert KEY_ENV in str(result.exception)


def test_risk_json_has_exact_keys_and_target_k_writes_k_anonymous_file(tmp_path: Path) -> None:
    out = tmp_path / "anon.csv"
    result = CliRunner().invoke(
        app,
        ["risk", str(_csv(tmp_path)), "--quasi", "age,city", "--sensitive", "spend",
         "--format", "json", "--target-k", "5", "--out", str(out)],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    assert payload["k"] == 1 and payload["level"] == 2 and payload["passes"] is False
    assert payload["anonymized"]["k"] >= 5
    assert payload["anonymized"]["information_loss"]["suppressed_rows"] == 0
    assert pacsv.read_csv(out).num_rows == 60


def test_risk_reports_level_1_for_direct_identifiers(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        app,
        ["risk", str(_csv(tmp_path)), "--quasi", "city", "--direct-identifiers", "phone",
         "--format", "json"],
    )  # fmt: skip
    assert json.loads(result.stdout)["level"] == 1


def test_release_reports_noise_and_refuses_when_budget_is_spent(tmp_path: Path) -> None:
    budget = tmp_path / "budget.json"
    args = ["release", str(_csv(tmp_path)), "--query", "mean", "--by", "city",
            "--value", "spend", "--bounds", "0,10", "--dataset", "users",
            "--budget-file", str(budget), "--format", "json"]  # fmt: skip
    first = CliRunner().invoke(app, [*args, "--epsilon", "0.8", "--total-epsilon", "1"])
    assert first.exit_code == 0, first.output
    payload = json.loads(first.stdout)
    assert payload["values"][0]["noise_scale"] > 0
    assert payload["budget"]["remaining"] == pytest.approx(0.2)
    second = CliRunner().invoke(app, [*args, "--epsilon", "0.5"])
    assert second.exit_code != 0
    assert "refused" in str(second.exception)
