"""Shared benchmark plumbing: machine facts, measured subprocesses, the results table.

Every contender of a benchmark runs in its own subprocess so that its wall time and peak
resident memory are its own: the parent reaps the child with ``os.wait4`` and reads
``ru_maxrss`` from the child's resource usage (psutil is not a dependency; this is what the
kernel already reports). The child prints one JSON object as the last line of its stdout.

Results are printed as a Rich table and appended, dated and with the machine's facts, to
``benchmarks/RESULTS.md`` (created when missing; other benchmarks append to the same file,
so it is only ever appended to).
"""

from __future__ import annotations

import json
import os
import platform
import re
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "RESULTS.md"
DATA = HERE / "data"


# -- machine facts ---------------------------------------------------------------------


def _cpu_model() -> str:
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        for line in cpuinfo.read_text(errors="replace").splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor() or platform.machine() or "unknown CPU"


def _ram_gb() -> float:
    meminfo = Path("/proc/meminfo")
    if meminfo.exists():
        for line in meminfo.read_text().splitlines():
            if line.startswith("MemTotal:"):
                return int(line.split()[1]) / 1024 / 1024
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 1024**3
    except (ValueError, OSError, AttributeError):
        return 0.0


def _version(module: str) -> str:
    try:
        mod = __import__(module)
    except ImportError:
        return "not installed"
    return str(getattr(mod, "__version__", "?"))


def machine_facts() -> dict[str, str]:
    """CPU model, cores, RAM, OS, Python and library versions, and the date."""
    return {
        "date": datetime.now().strftime("%Y-%m-%d %H:%M"),
        "cpu": _cpu_model(),
        "cores": str(os.cpu_count() or 0),
        "ram": f"{_ram_gb():.0f} GB",
        "os": f"{platform.system()} {platform.machine()}",
        "python": platform.python_version(),
        "duckdb": _version("duckdb"),
        "pyarrow": _version("pyarrow"),
        "pandas": _version("pandas"),
        "load": " ".join(f"{x:.1f}" for x in os.getloadavg()),
    }


def machine_line(facts: dict[str, str]) -> str:
    return (f"{facts['os']}, {facts['cpu']}, {facts['cores']} cores, {facts['ram']} RAM; "
            f"Python {facts['python']}, DuckDB {facts['duckdb']}, pyarrow {facts['pyarrow']}, "
            f"pandas {facts['pandas']}; load average at the end {facts['load']} "
            "(a shared machine: other work running shows here)")


# -- measured subprocesses -------------------------------------------------------------


@dataclass
class ChildResult:
    """What one measured subprocess did: its JSON payload, wall time and peak memory."""

    name: str
    ok: bool
    payload: dict[str, Any] = field(default_factory=dict)
    wall_s: float = 0.0
    peak_mb: float = 0.0
    error: str = ""
    #: user + system CPU seconds of the child and the processes it waited for (e.g. Spark's JVM)
    cpu_s: float = 0.0


def run_child(name: str, argv: list[str], *, timeout: float | None = None,
              env: dict[str, str] | None = None) -> ChildResult:
    """Run ``argv`` alone; the last stdout line must be a JSON object (the payload)."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        started = time.perf_counter()
        proc = subprocess.Popen(argv, stdout=out, stderr=err,
                                env={**os.environ, **(env or {})})
        status, usage = _reap(proc, timeout)
        wall = time.perf_counter() - started
        out.seek(0)
        err.seek(0)
        stdout = out.read().decode("utf-8", "replace")
        stderr = err.read().decode("utf-8", "replace")
    peak = usage.ru_maxrss / 1024 if usage is not None else 0.0  # Linux: KiB
    cpu = usage.ru_utime + usage.ru_stime if usage is not None else 0.0
    if status is None:
        return ChildResult(name, False, wall_s=wall, peak_mb=peak,
                           error=f"timed out after {timeout:.0f} s", cpu_s=cpu)
    code = os.waitstatus_to_exitcode(status)
    lines = [ln for ln in stdout.splitlines() if ln.strip()]
    if code != 0 or not lines:
        tail = (stderr.strip().splitlines() or [f"exit code {code}"])[-1]
        return ChildResult(name, False, wall_s=wall, peak_mb=peak, error=tail[:300], cpu_s=cpu)
    try:
        payload = json.loads(lines[-1])
    except json.JSONDecodeError:
        return ChildResult(name, False, wall_s=wall, peak_mb=peak,
                           error=f"no JSON result; last line: {lines[-1][:200]}", cpu_s=cpu)
    return ChildResult(name, True, payload, wall, peak, cpu_s=cpu)


def _reap(proc: subprocess.Popen[bytes], timeout: float | None
          ) -> tuple[int | None, Any]:
    """Wait for ``proc`` with ``os.wait4`` (for its rusage); kill it past ``timeout``."""
    deadline = None if timeout is None else time.monotonic() + timeout
    while True:
        pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
        if pid == proc.pid:
            proc.returncode = os.waitstatus_to_exitcode(status)
            return status, usage
        if deadline is not None and time.monotonic() > deadline:
            proc.kill()
            _, _, usage = os.wait4(proc.pid, 0)
            proc.returncode = -9
            return None, usage
        time.sleep(0.05)


def child_main(payload: dict[str, Any]) -> None:
    """In a child: print the payload as the last stdout line."""
    sys.stdout.write("\n" + json.dumps(payload, default=str) + "\n")
    sys.stdout.flush()


# -- statement timing ------------------------------------------------------------------


_TABLE = re.compile(r"(?:TABLE(?: IF (?:NOT )?EXISTS)?|INSERT INTO|FROM)\s+\"?(\w+)", re.I)


def statement_label(sql: str) -> str:
    """A short name for a SQL statement: its verb and the table it writes or reads."""
    m = _TABLE.search(sql)
    name = m.group(1) if m else sql.split()[0].lower()
    name = re.sub(r"^snap_\d+_", "snap_", name)
    verb = sql.split()[0].upper()
    return f"{'drop' if verb == 'DROP' else 'query' if verb == 'SELECT' else 'write'} {name}"



# -- the results table -----------------------------------------------------------------


@dataclass
class ResultTable:
    """One benchmark's table: printed to the terminal and appended to RESULTS.md."""

    title: str
    command: str
    headers: list[str]
    rows: list[list[str]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def add(self, *cells: object) -> None:
        self.rows.append([_cell(c) for c in cells])

    def markdown(self, facts: dict[str, str]) -> str:
        right = [i for i, h in enumerate(self.headers) if _numeric_column(self.rows, i)]
        sep = ["---:" if i in right else "---" for i in range(len(self.headers))]
        lines = [f"## {self.title} — {facts['date']}", "",
                 f"Command: `{self.command}`", f"Machine: {machine_line(facts)}.", "",
                 "| " + " | ".join(self.headers) + " |", "|" + "|".join(sep) + "|"]
        lines += ["| " + " | ".join(r) + " |" for r in self.rows]
        if self.notes:
            lines.append("")
            lines += [f"- {n}" for n in self.notes]
        return "\n".join(lines) + "\n"

    def emit(self, results: Path | None = RESULTS) -> None:
        """Print the table; append it to ``results`` unless that is None."""
        facts = machine_facts()
        _print(self, facts)
        if results is None:
            return
        results.parent.mkdir(parents=True, exist_ok=True)
        head = "" if results.exists() and results.stat().st_size else "# Benchmark results\n"
        with results.open("a", encoding="utf-8") as fh:
            fh.write(head + "\n" + self.markdown(facts))


def _cell(value: object) -> str:
    if isinstance(value, float):
        if value != value:  # NaN
            return "–"
        return f"{value:,.2f}" if abs(value) < 100 else f"{value:,.0f}"
    if isinstance(value, int) and not isinstance(value, bool):
        return f"{value:,}"
    return str(value)


def _numeric_column(rows: list[list[str]], i: int) -> bool:
    cells = [r[i] for r in rows if i < len(r) and r[i] not in ("", "–")]
    return bool(cells) and all(c.replace(",", "").replace(".", "").replace("×", "")
                               .replace("-", "").strip().isdigit() for c in cells)


def _print(table: ResultTable, facts: dict[str, str]) -> None:
    try:
        from rich.console import Console
        from rich.table import Table
    except ImportError:  # plain text when Rich is missing
        print(table.markdown(facts))
        return
    t = Table(title=table.title, caption=machine_line(facts))
    for i, h in enumerate(table.headers):
        t.add_column(h, justify="right" if _numeric_column(table.rows, i) else "left")
    for r in table.rows:
        t.add_row(*r)
    console = Console(width=max(120, Console().width))
    console.print(t)
    for n in table.notes:
        console.print(f"  • {n}", highlight=False)


def fmt_ratio(value: float) -> str:
    return "–" if value != value else f"{value:.2f}×"


def python() -> str:
    return sys.executable
