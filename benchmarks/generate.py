"""Demo data generation: seconds, rows per second and peak memory by number of users.

Each size runs in a fresh subprocess so its peak resident memory (``ru_maxrss``) is its own;
bounded memory shows as a peak that stops growing once the shop is larger than one block
of users (``BLOCK_USERS``). Printed as a table and appended, dated, to
``benchmarks/RESULTS.md``.

    .venv/bin/python benchmarks/generate.py --users 20000 100000 [--formats csv,parquet]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
from datetime import datetime
from pathlib import Path

from rich.console import Console
from rich.table import Table

_CHILD = """
import json, resource, sys
from pathlib import Path
from profileguard.demo.generate import generate
s = generate(Path(sys.argv[1]), users=int(sys.argv[2]), seed=7, formats=sys.argv[3].split(","))
print(json.dumps({"seconds": s.seconds, "files": s.files,
                  "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


def _machine() -> str:
    cpu = platform.processor() or "unknown CPU"
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        for line in cpuinfo.read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    return (
        f"{platform.system()} {platform.machine()}, {cpu}, {os.cpu_count()} cores, "
        f"Python {platform.python_version()}"
    )


def _run(users: int, formats: str) -> dict[str, object]:
    with tempfile.TemporaryDirectory(prefix="pg-generate-") as out:
        done = subprocess.run(
            [sys.executable, "-c", _CHILD, out, str(users), formats],
            check=True,
            capture_output=True,
            text=True,
        )
        result: dict[str, object] = json.loads(done.stdout.strip().splitlines()[-1])
        result["disk_mb"] = sum(p.stat().st_size for p in Path(out).iterdir()) / 1e6
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, nargs="+", default=[20_000, 100_000])
    parser.add_argument("--formats", default="csv")
    parser.add_argument("--no-append", action="store_true", help="do not write RESULTS.md")
    args = parser.parse_args()
    table = Table(title=f"profileguard generate ({args.formats})")
    for column in (
        "users",
        "events",
        "orders",
        "all rows",
        "seconds",
        "rows/s",
        "peak MB",
        "disk MB",
    ):
        table.add_column(column, justify="right")
    lines = []
    for users in args.users:
        r = _run(users, args.formats)
        files = r["files"]
        assert isinstance(files, dict)
        total = sum(files.values())
        secs = float(str(r["seconds"]))
        row = (
            f"{users:,}",
            f"{files['events.parquet']:,}",
            f"{files.get('orders.csv', files.get('orders.parquet', 0)):,}",
            f"{total:,}",
            f"{secs:.1f}",
            f"{total / secs:,.0f}",
            f"{float(str(r['peak_mb'])):,.0f}",
            f"{float(str(r['disk_mb'])):,.0f}",
        )
        table.add_row(*row)
        lines.append("| " + " | ".join(row) + " |")
    Console(width=140).print(table)
    if args.no_append:
        return
    results = Path(__file__).with_name("RESULTS.md")
    with results.open("a", encoding="utf-8") as fh:
        fh.write(
            f"\n## generate — {datetime.now():%Y-%m-%d %H:%M} — {_machine()}\n\n"
            f"Formats: {args.formats}; seed 7; one subprocess per size (peak = its max RSS); "
            f"load average at the end {os.getloadavg()[0]:.1f} (shared machine).\n\n"
            "| users | events | orders | all rows | seconds | rows/s | peak MB | disk MB |\n"
            "|---:|---:|---:|---:|---:|---:|---:|---:|\n" + "\n".join(lines) + "\n"
        )


if __name__ == "__main__":
    main()
