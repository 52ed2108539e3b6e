"""Smoke tests of the benchmark scripts: at a tiny size they run, print and record a table.

The scripts run in a subprocess exactly as ``make bench`` runs them, with ``--data`` and
``--results`` in a temporary folder so the real cache and ``benchmarks/RESULTS.md`` are not
touched. No timing is asserted: speed is what the benchmarks report, not what tests check.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
BENCH = ROOT / "benchmarks"


def _run(script: str, *args: str, tmp: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "COLUMNS": "160"}
    return subprocess.run(
        [sys.executable, str(BENCH / script), *args, "--data", str(tmp / "data"),
         "--results", str(tmp / "RESULTS.md")],
        capture_output=True, text=True, timeout=600, env=env, cwd=ROOT)


def test_ingest_benchmark_prints_and_records_csv_and_parquet_rows_against_duckdb(
        tmp_path: Path) -> None:
    done = _run("ingest.py", "--users", "150", tmp=tmp_path)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "ingest — 150 users" in done.stdout
    results = (tmp_path / "RESULTS.md").read_text("utf-8")
    assert results.startswith("# Benchmark results")
    assert "## ingest — 150 users" in results
    assert "| csv | users | 150 |" in results
    assert "| parquet | users | 150 |" in results
    assert "of DuckDB alone" in results  # the ratio verdict, whichever way it goes


def test_build_benchmark_prints_and_records_build_floor_pandas_and_steps(
        tmp_path: Path) -> None:
    done = _run("build.py", "--users", "150", "--pandas-users", "100", tmp=tmp_path)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "build — 150 users" in done.stdout
    results = (tmp_path / "RESULTS.md").read_text("utf-8")
    assert "## build — 150 users" in results
    for contender in ("| profileguard build |", "| floor (DuckDB) |",
                      "| pandas | EXTRAPOLATED linearly ×1.5 from 100 users"):
        assert contender in results
    assert "## build steps — 150 users" in results
    assert "| plan events@30d |" in results  # a fused plan step was timed by name


@pytest.fixture
def common_module() -> Iterator[object]:
    """The benchmarks' ``common`` module (benchmarks/ is a folder of scripts, not a package)."""
    sys.path.insert(0, str(BENCH))
    try:
        import common

        yield common
    finally:
        sys.path.remove(str(BENCH))


def test_result_table_appends_to_an_existing_results_file(tmp_path: Path,
                                                          common_module: object) -> None:
    results = tmp_path / "RESULTS.md"
    results.write_text("# Benchmark results\n\n## someone else's table\n", encoding="utf-8")
    table = common_module.ResultTable("mine", "python x.py", ["a", "b"])  # type: ignore[attr-defined]
    table.add("x", 1234)
    table.emit(results)
    table.emit(results)
    text = results.read_text("utf-8")
    assert text.startswith("# Benchmark results\n\n## someone else's table\n")
    assert text.count("## mine — ") == 2
    assert "| x | 1,234 |" in text


def test_run_child_reports_a_failing_child_and_measures_a_working_one(
        common_module: object) -> None:
    run_child = common_module.run_child  # type: ignore[attr-defined]
    bad = run_child("bad", [sys.executable, "-c", "raise SystemExit('boom')"])
    assert not bad.ok and "boom" in bad.error
    good = run_child("good", [sys.executable, "-c",
                              "import json; x = bytearray(50 * 2**20); print(json.dumps({'n': 1}))"])
    assert good.ok and good.payload == {"n": 1}
    assert good.peak_mb >= 50


def test_run_all_picks_scripts_not_helpers_and_survives_a_failing_or_hanging_one(
        tmp_path: Path, common_module: object) -> None:
    import run_all

    main_guard = 'if __name__ == "__main__":\n    '
    (tmp_path / "common.py").write_text(main_guard + "pass\n")  # a helper, even with a guard
    (tmp_path / "helper_only.py").write_text("X = 1\n")
    (tmp_path / "zeta.py").write_text(main_guard + "raise SystemExit(3)\n")
    (tmp_path / "ingest.py").write_text(main_guard + "import time; time.sleep(30)\n")
    found = run_all.scripts(tmp_path)
    assert [p.name for p in found] == ["ingest.py", "zeta.py"]  # known order first
    status, _ = run_all.run_one(found[1], [], timeout=60)
    assert status == "failed (exit 3)"
    status, seconds = run_all.run_one(found[0], [], timeout=1)
    assert status.startswith("timed out") and seconds < 30
