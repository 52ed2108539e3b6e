"""Crash safety: kill -9 at random moments of ingest, build and erasure, then check invariants.

Each round picks an operation, starts it as a separate process (the real CLI), kills it
with SIGKILL after a random delay within its measured duration, and then checks:

* the current snapshot is registered, readable and (for a killed build) unchanged — a
  half-built snapshot never becomes current;
* the warehouse reconciles: for every ingested file, rows in = loaded + quarantined + held +
  already loaded, and no file has more rows in its table than it loaded;
* the ledger verifies;
* the same operation, run again, completes.

Usage: ``python benchmarks/chaos.py [--kills 20] [--users 300] [--seed 1]``; the test
``tests/chaos/test_chaos.py`` (marker ``chaos``) runs the same harness.
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import hashlib
import json
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

AS_OF = "2026-11-01T00:00:00"


@dataclass
class ChaosReport:
    kills: int = 0
    by_operation: dict[str, int] = field(default_factory=dict)
    lost_snapshots: int = 0
    reconciliation_failures: int = 0
    ledger_failures: int = 0
    rerun_failures: int = 0
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def make_workspace(root: Path, users: int, seed: int) -> Path:
    """Generate, import consents, ingest and build once; returns the manifest path."""
    import pyarrow.csv as pcsv

    from profileguard.demo.generate import generate
    from profileguard.demo.run import write_manifests
    from profileguard.pipeline.ingest import ingest_workspace
    from profileguard.pipeline.profiles import build_profiles
    from profileguard.pipeline.services import open_services

    generate(root / "data", users=users, seed=seed, as_of=dt.datetime(2026, 11, 1))
    write_manifests(root)
    manifest = root / "profileguard.yaml"
    with open_services(manifest) as svc:
        svc.book.import_arrow(pcsv.read_csv(
            root / "data" / "consents.csv",
            convert_options=pcsv.ConvertOptions(strings_can_be_null=True)))
        ingest_workspace(svc, now=dt.datetime(2026, 11, 1))
        build_profiles(svc, dt.datetime(2026, 11, 1))
    return manifest


def _cli(*args: str) -> list[str]:
    return [sys.executable, "-m", "profileguard", *args]


def command(op: str, manifest: Path, user: str | None = None) -> list[str]:
    if op == "ingest":
        return _cli("ingest", "--force", "--manifest", str(manifest), "--format", "json")
    if op == "build":
        return _cli("build", "--manifest", str(manifest), "--as-of", AS_OF, "--format", "json")
    assert user is not None
    return _cli("dsr", "delete", user, "--manifest", str(manifest), "--format", "json")


def snapshot_fingerprint(manifest: Path) -> tuple[int | None, str]:
    from profileguard.model import snapshot
    from profileguard.pipeline.services import open_services

    with open_services(manifest) as svc:
        snap = snapshot.current(svc.engine)
        if snap is None:
            return None, ""
        rows = svc.engine.query_rows(f"SELECT user_id, tag, value FROM {snap.long} "
                                     "ORDER BY user_id, tag")
        return snap.id, hashlib.sha256(repr(rows).encode()).hexdigest()


def check(manifest: Path) -> list[tuple[str, str]]:
    """Invariants that must hold after any crash: (kind, detail) for each violation."""
    from profileguard.collect.ingest import INGEST_FILES
    from profileguard.model import snapshot
    from profileguard.pipeline.services import open_services
    from profileguard.store.ledger_verify import verify

    problems: list[tuple[str, str]] = []
    with open_services(manifest) as svc:
        e = svc.engine
        snap = snapshot.current(e)
        if snap is None:
            problems.append(("snapshot", "no current snapshot"))
        else:
            try:
                wide_cols = set(e.columns(snap.wide))
                e.query_rows(f"SELECT count(*) FROM {snap.long}")
                missing = [t for t in snap.counts if t not in wide_cols]
                if missing:
                    problems.append(("snapshot", f"snapshot {snap.id} lacks {missing}"))
            except Exception as exc:  # a broken snapshot is exactly what we look for
                problems.append(("snapshot", f"snapshot {snap.id} unreadable: {exc}"))
        for fid, source, rows_in, loaded, quarantined, held, again in e.query_rows(
                f"SELECT file_id, source, rows_in, loaded, quarantined, coalesce(held, 0), "
                f"coalesce(already_loaded, 0) FROM {INGEST_FILES}"):
            if rows_in != loaded + quarantined + held + again:
                problems.append(("reconcile", f"file {fid} ({source}): {rows_in} in != "
                                 f"{loaded}+{quarantined}+{held}+{again}"))
            in_table = e.query_rows(f'SELECT count(*) FROM "{source}" WHERE _file_id = ?',
                                    [fid])[0][0]
            if in_table > loaded:
                problems.append(("reconcile", f"file {fid} ({source}): {in_table} rows in the "
                                 f"table but {loaded} loaded"))
        report = verify(svc.ledger)
        if not report.ok:
            problems.append(("ledger", json.dumps(report.as_dict(), default=str)))
    return problems


def timed(cmd: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run(cmd, check=True, capture_output=True)
    return time.perf_counter() - start


def run_chaos(manifest: Path, *, kills: int = 20, seed: int = 1) -> ChaosReport:
    rng = random.Random(seed)
    with (manifest.parent / "data" / "users.csv").open(encoding="utf-8") as fh:
        people = [r["user_id"] for r in csv.DictReader(fh)]
    rng.shuffle(people)
    durations = {"ingest": timed(command("ingest", manifest)),
                 "build": timed(command("build", manifest)),
                 "erase": timed(command("erase", manifest, people.pop()))}
    report = ChaosReport()
    for _ in range(kills):
        op = rng.choice(["ingest", "build", "erase"])
        user = people.pop() if op == "erase" else None
        before = snapshot_fingerprint(manifest)
        proc = subprocess.Popen(command(op, manifest, user), stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL)
        time.sleep(rng.uniform(0.05, 1.0) * durations[op])
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        report.kills += 1
        report.by_operation[op] = report.by_operation.get(op, 0) + 1
        for kind, detail in check(manifest):
            report.problems.append(f"after killing {op}: {kind}: {detail}")
            if kind == "snapshot":
                report.lost_snapshots += 1
            elif kind == "reconcile":
                report.reconciliation_failures += 1
            else:
                report.ledger_failures += 1
        after = snapshot_fingerprint(manifest)
        if op == "build" and after != before and (after[0] or 0) <= (before[0] or 0):
            report.lost_snapshots += 1
            report.problems.append(f"killed build changed snapshot {before[0]} in place")
        rerun = subprocess.run(command(op, manifest, user), capture_output=True, text=True)
        if rerun.returncode != 0:
            report.rerun_failures += 1
            report.problems.append(f"re-running {op} failed: {rerun.stderr[-500:]}")
    return report


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kills", type=int, default=20)
    parser.add_argument("--users", type=int, default=300)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--results", type=Path, default=Path(__file__).with_name("RESULTS.md"))
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="pg-chaos-"))
    try:
        manifest = make_workspace(work, args.users, args.seed)
        started = time.perf_counter()
        report = run_chaos(manifest, kills=args.kills, seed=args.seed)
        seconds = time.perf_counter() - started
    finally:
        shutil.rmtree(work, ignore_errors=True)
    lines = [
        f"\n## chaos — {dt.datetime.now():%Y-%m-%d %H:%M} ({args.users} users, seed {args.seed})\n",
        "| kills | ingest | build | erase | lost or corrupted snapshots | reconciliation "
        "failures | ledger failures | re-run failures | seconds |",
        "|---|---|---|---|---|---|---|---|---|",
        f"| {report.kills} | {report.by_operation.get('ingest', 0)} | "
        f"{report.by_operation.get('build', 0)} | {report.by_operation.get('erase', 0)} | "
        f"{report.lost_snapshots} | {report.reconciliation_failures} | {report.ledger_failures} "
        f"| {report.rerun_failures} | {seconds:.0f} |",
    ]
    text = "\n".join(lines) + "\n"
    print(text)
    for p in report.problems:
        print("PROBLEM:", p)
    with args.results.open("a", encoding="utf-8") as fh:
        fh.write(text)
    sys.exit(0 if report.ok else 1)


if __name__ == "__main__":
    main()
