"""``make bench``: the one cross-engine report (``scale.py``), or every benchmark script there is.

By default it runs ``scale.py`` — ingest, descriptive and predictive build, audience
selection, erasure of one user, audit and pricing audit, on DuckDB, on Spark local and
(for the build) pandas, against the floor, at 100,000 and 1,000,000 users in one run —
within the time budget (45 minutes), and appends its table and the run's summary to
``benchmarks/RESULTS.md``. ``--quick`` runs it at its smoke-test sizes.

With ``--all-scripts`` (or ``--only`` / ``--skip``) it runs each ``benchmarks/*.py`` that is a script (has an ``if __name__ == "__main__":``
guard; helper modules are skipped) in its own process group, in a fixed order for the known
ones and alphabetically after that. Flags: a known moderate size for the scripts listed in
:data:`FLAGS`; otherwise ``--quick`` when the script's ``--help`` offers it; otherwise its
defaults. A script that fails or runs past its share of the time budget is reported and the
run goes on; the exit code is non-zero when any failed. Each script prints its own table and
appends to ``benchmarks/RESULTS.md``; the summary of the run is appended too.

    .venv/bin/python benchmarks/run_all.py [--quick] [--budget-minutes 45]
    .venv/bin/python benchmarks/run_all.py --all-scripts | --only ingest,build
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import common

ORDER = ["scale", "ingest", "build", "generate", "clv", "scan", "risk", "rights", "audit",
         "fairness_power", "fairness_scale", "apply", "server"]
#: moderate sizes chosen for the 45-minute budget (scripts not listed get --quick or defaults)
FLAGS: dict[str, list[str]] = {
    "ingest": ["--users", "20000"],
    "build": ["--users", "50000"],
    "generate": ["--users", "20000"],
    "clv": ["--transactions", "1000000", "--customers", "100000"],
    "rights": ["--users", "200000"],
    "scale": ["--quick"],
}
#: the longest any one script may run, as a share of the whole budget
MAX_SHARE = 0.35
HELPERS = {"common", "workload", "build_pandas", "run_all"}


def scripts(folder: Path = common.HERE) -> list[Path]:
    found = {p.stem: p for p in folder.glob("*.py")
             if p.stem not in HELPERS and '__name__ == "__main__"' in p.read_text("utf-8")}
    known = [found.pop(n) for n in ORDER if n in found]
    return known + [found[n] for n in sorted(found)]


def flags_for(script: Path) -> list[str]:
    if script.stem in FLAGS:
        return list(FLAGS[script.stem])
    try:
        help_text = subprocess.run([common.python(), str(script), "--help"], capture_output=True,
                                   text=True, timeout=60).stdout
    except subprocess.TimeoutExpired:
        return []
    return ["--quick"] if "--quick" in help_text else []


def run_one(script: Path, flags: list[str], timeout: float) -> tuple[str, float]:
    """Run a script in its own process group; its whole group is killed past ``timeout``."""
    started = time.perf_counter()
    proc = subprocess.Popen([common.python(), str(script), *flags], cwd=common.HERE.parent,
                            start_new_session=True)
    try:
        code = proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
        return f"timed out after {timeout / 60:.0f} min", time.perf_counter() - started
    except KeyboardInterrupt:
        os.killpg(proc.pid, signal.SIGKILL)
        raise
    status = "ok" if code == 0 else f"failed (exit {code})"
    return status, time.perf_counter() - started


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--only", help="comma-separated script names (e.g. ingest,build)")
    parser.add_argument("--skip", default="", help="comma-separated script names to leave out")
    parser.add_argument("--budget-minutes", type=float, default=45.0)
    parser.add_argument("--results", type=Path, default=common.RESULTS)
    parser.add_argument("--no-append", action="store_true")
    parser.add_argument("--list", action="store_true", help="print what would run, with flags")
    parser.add_argument("--all-scripts", action="store_true",
                        help="every script at a moderate size instead of the one report")
    parser.add_argument("--quick", action="store_true",
                        help="the one report at scale.py's smoke-test sizes")
    args = parser.parse_args(argv)
    if not (args.all_scripts or args.only or args.skip):
        return one_report(args)
    chosen = scripts()
    if args.only:
        wanted = {n.strip() for n in args.only.split(",")}
        chosen = [s for s in chosen if s.stem in wanted]
    skip = {n.strip() for n in args.skip.split(",") if n.strip()}
    chosen = [s for s in chosen if s.stem not in skip]
    plan = [(s, flags_for(s)) for s in chosen]
    if args.list:
        for s, f in plan:
            print(f"{s.name} {' '.join(f)}".strip())
        return 0
    budget = args.budget_minutes * 60
    deadline = time.monotonic() + budget
    summary = common.ResultTable(
        title="make bench (run_all)", command="python benchmarks/run_all.py",
        headers=["script", "flags", "status", "seconds"])
    failed = 0
    for script, flags in plan:
        left = deadline - time.monotonic()
        if left < 30:
            summary.add(script.name, " ".join(flags), "not run: time budget spent", 0.0)
            failed += 1
            continue
        print(f"\n=== {script.name} {' '.join(flags)}", flush=True)
        status, seconds = run_one(script, flags, min(left, budget * MAX_SHARE))
        failed += status != "ok"
        summary.add(script.name, " ".join(flags) or "(defaults)", status, seconds)
    summary.notes.append(f"{len(plan)} scripts, {failed} not ok; budget "
                         f"{args.budget_minutes:g} min, at most {MAX_SHARE:.0%} of it per script")
    summary.emit(None if args.no_append else args.results)
    return 1 if failed else 0


def one_report(args: argparse.Namespace) -> int:
    """``scale.py`` in its own process group, given the budget less a minute for its table."""
    script = common.HERE / "scale.py"
    flags = ["--quick"] if args.quick else []
    flags += ["--budget-minutes", f"{max(args.budget_minutes - 1, 1):g}",
              "--results", str(args.results)] + (["--no-append"] if args.no_append else [])
    if args.list:
        print(f"{script.name} {' '.join(flags)}")
        return 0
    status, seconds = run_one(script, flags, args.budget_minutes * 60 + 120)
    summary = common.ResultTable(
        title="make bench (run_all)", command="python benchmarks/run_all.py"
        + (" --quick" if args.quick else ""), headers=["script", "flags", "status", "seconds"])
    summary.add(script.name, " ".join(flags), status, seconds)
    verdict = "within" if seconds <= args.budget_minutes * 60 else "OVER"
    summary.notes.append(f"the one report took {seconds / 60:.1f} min — {verdict} the "
                         f"{args.budget_minutes:g}-minute budget")
    summary.emit(None if args.no_append else args.results)
    return 0 if status == "ok" else 1


if __name__ == "__main__":
    sys.exit(main())
