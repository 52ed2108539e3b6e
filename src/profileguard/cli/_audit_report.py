"""The body of ``profileguard audit`` (the group callback in :mod:`profileguard.cli.audit`).

Kept apart so the fairness subcommands and the manifest audit can change independently.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from rich.console import Console

from profileguard.audit.api import FORMATS, audit_path, render
from profileguard.audit.report.terminal import print_result
from profileguard.errors import ProfileguardError

FAIL_ON = ("high", "medium", "low")


def parse_day(value: str | None, option: str = "--as-of") -> dt.date | None:
    if value is None:
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise ProfileguardError(f"{option} {value!r} is not a date; use YYYY-MM-DD") from None


def run_audit_command(manifest: Path | None, fmt: str, out: Path | None, fail_on: str | None,
                      as_of: str | None, state_url: str | None, pricing: bool = False) -> int:
    """Audit, print or write the report, and return the exit status per ``--fail-on``."""
    if fmt not in FORMATS:
        raise ProfileguardError(f"--format {fmt!r} is not allowed; use one of "
                                f"{', '.join(FORMATS)}")
    if fail_on is not None and fail_on not in FAIL_ON:
        raise ProfileguardError(f"--fail-on {fail_on!r} is not allowed; use one of "
                                f"{', '.join(FAIL_ON)}")
    result = audit_path(manifest, as_of=parse_day(as_of), state_url=state_url, pricing=pricing)
    if fmt == "table" and out is None:
        print_result(result, Console())
    else:
        text = render(result, "md" if fmt == "table" else fmt,
                      out.resolve().parent if out is not None else Path.cwd())
        if out is None:
            print(text, end="")
        else:
            out.write_text(text, encoding="utf-8")
            Console(stderr=True).print(f"wrote {out}")
    return 1 if result.fails(fail_on) else 0
