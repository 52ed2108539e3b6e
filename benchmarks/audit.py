"""Audit time on a demo workspace of N users (target: < 30 s at 1,000,000 users).

The workspace (generated, ingested with the compliant manifest, consent log imported) is
cached under ``benchmarks/data/audit-<users>/`` and reused; building it at 1M users takes
long, so pass a smaller ``--users`` when time is short and say so. Both manifests are
audited on it (naive.yaml reads the same stores). Printed as a table and appended, dated,
to ``benchmarks/RESULTS.md``.

    .venv/bin/python benchmarks/audit.py --users 100000
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import time
from pathlib import Path

from rich.console import Console
from rich.table import Table

AS_OF = dt.datetime(2026, 11, 1)
HERE = Path(__file__).resolve().parent


def machine() -> str:
    cpu = platform.processor() or "unknown CPU"
    info = Path("/proc/cpuinfo")
    if info.exists():
        cpu = next((ln.split(":", 1)[1].strip() for ln in info.read_text().splitlines()
                    if ln.startswith("model name")), cpu)
    mem = ""
    meminfo = Path("/proc/meminfo")
    if meminfo.exists():
        kb = int(meminfo.read_text().split()[1])
        mem = f", {kb / 1024 / 1024:.0f} GB RAM"
    load = " ".join(f"{x:.1f}" for x in os.getloadavg())
    return (f"{platform.system()} {platform.machine()}, {cpu}, {os.cpu_count()} cores{mem}; "
            f"Python {platform.python_version()}; load average {load}")


def workspace(users: int, console: Console) -> tuple[Path, float]:
    """The cached workspace (built once): returns its folder and the build seconds (0 if reused)."""
    import pyarrow.csv as pcsv

    from profileguard.collect.ingest import ingest
    from profileguard.demo.generate import generate
    from profileguard.demo.run import write_manifests
    from profileguard.errors import ProfileguardError
    from profileguard.pipeline.services import open_services

    root = HERE / "data" / f"audit-{users}"
    done = root / ".ready"
    if done.exists():
        return root, 0.0
    console.print(f"building the {users:,}-user workspace in {root} (once; resumable)…")
    start = time.perf_counter()
    if not (root / ".generated").exists():
        generate(root / "data", users=users, seed=11, as_of=AS_OF)
        write_manifests(root)
        (root / ".generated").write_text("ok\n")
    if not (root / ".ingested").exists():
        (root / ".profileguard" / "warehouse.duckdb").unlink(missing_ok=True)
        with open_services(root / "profileguard.yaml") as svc:
            ingest(svc.engine, svc.manifest, svc.ws.root, svc.ws.key, now=AS_OF)
        (root / ".ingested").write_text("ok\n")
    (root / ".profileguard" / "state.db").unlink(missing_ok=True)
    consents = pcsv.read_csv(root / "data" / "consents.csv",
                             convert_options=pcsv.ConvertOptions(strings_can_be_null=True))
    # the ledger's raw-identifier check can mistake a batch digest for a resident ID (a run
    # of 18 digits in the hex); another batch size gives other digests
    for batch in (20_000, 30_011, 47_017):
        try:
            with open_services(root / "profileguard.yaml") as svc:
                svc.book.import_arrow(consents, batch_size=batch)
            break
        except ProfileguardError as exc:
            console.print(f"consent import with batch {batch:,} refused ({exc}); retrying")
            (root / ".profileguard" / "state.db").unlink(missing_ok=True)
    else:
        raise SystemExit("consent import failed with every batch size")
    done.write_text("ok\n")
    return root, time.perf_counter() - start


def timed_audit(root: Path, manifest: str) -> dict[str, float | int]:
    from profileguard.audit import facts
    from profileguard.audit.api import render
    from profileguard.audit.engine import run_audit
    from profileguard.manifest import load_manifest
    from profileguard.pipeline.services import open_services

    start = time.perf_counter()
    loaded = load_manifest(root / manifest)
    with open_services(root / "profileguard.yaml") as svc:
        ctx = facts.gather_context(svc, AS_OF.date(), loaded=loaded)
        gathered = time.perf_counter()
        result = run_audit(ctx, sha256=loaded.sha256)
        ruled = time.perf_counter()
        render(result, "html")
        render(result, "sarif", root)
    end = time.perf_counter()
    return {"facts": gathered - start, "rules": ruled - gathered, "reports": end - ruled,
            "total": end - start, "findings": len(result.findings), "score": result.score}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=1_000_000)
    parser.add_argument("--results", type=Path, default=HERE / "RESULTS.md")
    args = parser.parse_args()
    console = Console()
    root, built = workspace(args.users, console)
    rows = [(name, timed_audit(root, name)) for name in ("profileguard.yaml", "naive.yaml")]
    table = Table("manifest", "users", "facts s", "rules s", "reports s", "total s", "findings",
                  "score", title="profileguard audit")
    lines = ["| manifest | users | facts (s) | rules (s) | reports (s) | total (s) | findings | "
             "score |", "|---|---:|---:|---:|---:|---:|---:|---:|"]
    for name, r in rows:
        cells = [name, f"{args.users:,}", f"{r['facts']:.2f}", f"{r['rules']:.2f}",
                 f"{r['reports']:.2f}", f"{r['total']:.2f}", str(r["findings"]), str(r["score"])]
        table.add_row(*cells)
        lines.append("| " + " | ".join(cells) + " |")
    console.print(table)
    target = "met" if all(float(r["total"]) < 30 for _, r in rows) else "NOT met"
    stamp = dt.datetime.now().strftime("%Y-%m-%d %H:%M")
    text = (f"\n## audit (manifest audit over a workspace) — {stamp}\n\n"
            f"Command: `python benchmarks/audit.py --users {args.users}`\n"
            f"Machine: {machine()}.\n\n" + "\n".join(lines) + "\n\n"
            f"- target < 30 s per audit: {target}"
            + (f"; workspace built in {built:.0f} s (generate + ingest + consent import), "
               "not included" if built else "; cached workspace reused") + "\n"
            "- facts = warehouse (DuckDB), consent log, rights, ledger verification, "
            "incidents; reports = HTML + SARIF rendering\n"
            + ("" if args.users == 1_000_000 else
               f"- run at {args.users:,} users, not the 1,000,000-user target size\n"))
    with args.results.open("a", encoding="utf-8") as fh:
        fh.write(text)
    console.print(f"appended to {args.results}")


if __name__ == "__main__":
    main()
