"""The epsilon budget of each dataset, persisted so it survives across commands.

A small JSON file (by default ``.profileguard/dp_budget.json`` in the workspace folder)
holds, per dataset, the total epsilon and every query charged against it. Updates hold an
exclusive ``fcntl`` lock on a sidecar ``.lock`` file and replace the JSON atomically
(write a temporary file, ``fsync``, ``os.replace``), so two concurrent releases cannot
both spend the last of a budget and a crash never leaves a half-written file.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import fcntl
import json
import os
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from profileguard.errors import ProfileguardError

DEFAULT_BUDGET_FILE = Path(".profileguard") / "dp_budget.json"
DEFAULT_TOTAL_EPSILON = 1.0
_SLACK = 1e-9  # float rounding when a budget is spent exactly


@dataclass(frozen=True)
class Charge:
    dataset: str
    epsilon: float
    spent: float
    total: float

    @property
    def remaining(self) -> float:
        return max(self.total - self.spent, 0.0)


class BudgetStore:
    """Per-dataset epsilon budgets in one JSON file."""

    def __init__(self, path: str | Path = DEFAULT_BUDGET_FILE) -> None:
        self.path = Path(path)

    @contextlib.contextmanager
    def _locked(self) -> Iterator[dict[str, Any]]:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        lock_path = self.path.with_name(self.path.name + ".lock")
        with lock_path.open("a") as lock:
            fcntl.flock(lock.fileno(), fcntl.LOCK_EX)
            try:
                yield self._read()
            finally:
                fcntl.flock(lock.fileno(), fcntl.LOCK_UN)

    def _read(self) -> dict[str, Any]:
        if not self.path.exists():
            return {"datasets": {}}
        try:
            data: dict[str, Any] = json.loads(self.path.read_text(encoding="utf-8"))
        except json.JSONDecodeError as exc:
            raise ProfileguardError(
                f"{self.path}:{exc.lineno}: budget file is not valid JSON ({exc.msg}); "
                "restore it from backup — never delete it, that would reset spent budgets"
            ) from exc
        return data

    def _write(self, data: dict[str, Any]) -> None:
        fd, tmp = tempfile.mkstemp(dir=self.path.parent, prefix=self.path.name, suffix=".tmp")
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(data, fh, indent=2, ensure_ascii=False)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, self.path)

    def status(self, dataset: str) -> Charge | None:
        entry = self._read()["datasets"].get(dataset)
        if entry is None:
            return None
        return Charge(dataset, 0.0, float(entry["spent"]), float(entry["total"]))

    def set_total(self, dataset: str, total: float) -> None:
        """Declare (or raise) a dataset's total epsilon; lowering below spent is refused."""
        if total <= 0:
            raise ProfileguardError(f"total epsilon must be > 0, got {total}")
        with self._locked() as data:
            entry = data["datasets"].setdefault(
                dataset, {"total": total, "spent": 0.0, "queries": []}
            )
            if total + _SLACK < float(entry["spent"]):
                raise ProfileguardError(
                    f"dataset {dataset!r} has already spent {entry['spent']}; the total cannot "
                    f"be set below that (asked {total})"
                )
            entry["total"] = total
            self._write(data)

    def charge(
        self,
        dataset: str,
        epsilon: float,
        query: str,
        default_total: float = DEFAULT_TOTAL_EPSILON,
    ) -> Charge:
        """Spend ``epsilon`` of ``dataset``'s budget or refuse if it does not remain."""
        if epsilon <= 0:
            raise ProfileguardError(f"epsilon must be > 0, got {epsilon}")
        with self._locked() as data:
            entry = data["datasets"].setdefault(
                dataset, {"total": default_total, "spent": 0.0, "queries": []}
            )
            total, spent = float(entry["total"]), float(entry["spent"])
            if spent + epsilon > total + _SLACK:
                raise ProfileguardError(
                    f"privacy budget of dataset {dataset!r} refused: asked ε={epsilon:g}, "
                    f"spent {spent:g} of {total:g} (remaining {max(total - spent, 0):g}) in "
                    f"{self.path}; allowed: ε ≤ remaining"
                )
            entry["spent"] = spent + epsilon
            entry["queries"].append(
                {
                    "at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
                    "epsilon": epsilon,
                    "query": query,
                }
            )
            self._write(data)
            return Charge(dataset, epsilon, spent + epsilon, total)
