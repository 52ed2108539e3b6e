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
    # statements are timed by name: on DuckDB the fused plans are views, and their work is
    # in the one statement that writes the wide snapshot
    assert "| plan orders@30d,90d,365d,all |" in results
    assert "| write snap_wide |" in results


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


def test_scale_report_puts_each_stage_against_the_floor_and_its_growth(
        common_module: object) -> None:
    import scale

    def child(name: str, **payload: object) -> object:
        return common_module.ChildResult(name, True, dict(payload), 1.0, 100.0,  # type: ignore[attr-defined]
                                         cpu_s=0.5)

    def run(floor: float, build: float, predictive: float) -> dict[tuple[str, str], object]:
        return {("floor", "duckdb"): child("floor", seconds=floor),
                ("build", "duckdb"): child("build", seconds=build, predictive_s=predictive,
                                           startup_s=0.1, users=10, tags=3),
                ("ingest", "spark"): child("ingest", seconds=2 * floor, jvm_cpu_s=7.0,
                                           jvm_peak_mb=900.0, rows_in=10, loaded=7,
                                           quarantined=2, held=1, reconciles=True,
                                           consents_cached=True, consents_s=0.1,
                                           startup_s=3.0),
                ("erasure", "duckdb"): child("erasure", seconds=1.0, deleted=3,
                                             residuals=["warehouse t.user_id: 1 row(s)"])}

    table = scale.report([100, 1000], {100: run(1.0, 3.0, 1.0), 1000: run(4.0, 20.0, 8.0)},
                         {100: {}, 1000: {}}, "python benchmarks/scale.py")
    rows = {(r[0], r[1]): r for r in table.rows}
    build = rows[("build, total", "duckdb")]
    assert build[2] == "3.00" and build[5] == "20.00"  # seconds at each size
    assert build[-2:] == ["5.00×", "6.67×"]  # × floor at 1,000 users; growth 100 → 1,000
    assert rows[("· descriptive + snapshot", "duckdb")][-2:] == ["3.00×", "6.00×"]
    ingest = rows[("ingest (consents imported apart)", "spark")]
    assert ingest[2:5] == ["2.00", "7.50", "1,000"]  # CPU and peak include the JVM's
    assert ingest[-2:] == ["2.00×", "4.00×"]
    assert any("ingest on spark: 10 rows in = 7 loaded + 2 quarantined + 1 held (reconciles)"
               in n for n in table.notes)
    assert any("descriptive build on DuckDB / floor at 1,000 users = 3.00 — MISSES" in n
               for n in table.notes)
    assert any("erasure NOT clean" in n for n in table.notes)


def test_make_bench_runs_the_one_report_unless_every_script_is_asked_for(
        capsys: pytest.CaptureFixture[str], common_module: object) -> None:
    import run_all

    assert run_all.main(["--list"]) == 0
    assert capsys.readouterr().out.startswith("scale.py --budget-minutes 44")
    assert run_all.main(["--list", "--all-scripts"]) == 0
    listed = capsys.readouterr().out.splitlines()
    assert "scale.py --quick" in listed and len(listed) > 5


def test_scale_benchmark_runs_every_stage_at_two_sizes_and_records_one_table(
        tmp_path: Path) -> None:
    env = {**os.environ, "COLUMNS": "200"}
    done = subprocess.run(
        [sys.executable, str(BENCH / "scale.py"), "--sizes", "120", "240", "--engines", "duckdb",
         "--data", str(tmp_path / "data"), "--results", str(tmp_path / "RESULTS.md")],
        capture_output=True, text=True, timeout=1500, env=env, cwd=ROOT)
    results = (tmp_path / "RESULTS.md").read_text("utf-8")
    assert "## scale — 120 and 240 users" in results, done.stderr[-2000:]
    for row in ("| floor: scan + group-by per source | duckdb |",
                "| ingest (consents imported apart) | duckdb |", "| build, total | duckdb |",
                "| · predictive (fit + score) | duckdb |",
                "| build, descriptive tags only | pandas |",
                "| audience selection (guard refresh) | duckdb |",
                "| audit (facts, rules, reports) | duckdb |", "| pricing audit | duckdb |",
                "| erasure of one user | duckdb |"):
        assert row in results, row
    assert "(reconciles)" in results
    assert (tmp_path / "data" / "build-240" / "generated.json").exists()  # shared data cache


def test_jvm_usage_counts_a_process_and_the_processes_below_it(common_module: object) -> None:
    import scale

    burn = "x = 0\nfor i in range(10_000_000): x += i\nimport time; time.sleep(30)"
    parent = subprocess.Popen([sys.executable, "-c", "import subprocess, sys; subprocess.run("
                               f"[sys.executable, '-c', {burn!r}])"])
    try:
        for _ in range(300):  # until the grandchild has done its work
            tree = scale._process_tree(parent.pid)
            usage = scale.jvm_usage(parent.pid)
            if len(tree) == 2 and usage["jvm_cpu_s"] > 0.5:
                break
            import time

            time.sleep(0.2)
        assert len(tree) == 2 and tree[0] == parent.pid
        assert usage["jvm_cpu_s"] > 0.5  # the grandchild's loop, not only the parent's
        assert usage["jvm_peak_mb"] > 10  # two interpreters' resident memory, summed
    finally:
        for pid in reversed(scale._process_tree(parent.pid)):
            os.kill(pid, 9)
        parent.wait()
