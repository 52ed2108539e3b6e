"""kill -9 at random points of ingest, build and erasure: nothing lost, everything reconciles."""

from __future__ import annotations

import datetime as dt
import importlib.util
import shutil
import sys
from pathlib import Path

import pytest

HARNESS = Path(__file__).parents[2] / "benchmarks" / "chaos.py"


def _harness():  # type: ignore[no-untyped-def]
    spec = importlib.util.spec_from_file_location("chaos_harness", HARNESS)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while executing it
    spec.loader.exec_module(module)
    return module


@pytest.mark.chaos
def test_twenty_random_kills_lose_nothing(demo_template: Path, tmp_path: Path) -> None:
    chaos = _harness()
    shutil.copytree(demo_template, tmp_path / "ws")
    manifest = tmp_path / "ws" / "profileguard.yaml"
    from profileguard.pipeline.profiles import build_profiles
    from profileguard.pipeline.services import open_services

    with open_services(manifest) as svc:
        build_profiles(svc, dt.datetime(2026, 11, 1))
    report = chaos.run_chaos(manifest, kills=20, seed=3)
    assert report.kills == 20
    assert report.problems == []
    assert report.lost_snapshots == 0 and report.reconciliation_failures == 0
    assert report.ledger_failures == 0 and report.rerun_failures == 0


def test_invariant_check_detects_a_broken_reconciliation(demo_template: Path,
                                                          tmp_path: Path) -> None:
    chaos = _harness()
    shutil.copytree(demo_template, tmp_path / "ws")
    manifest = tmp_path / "ws" / "profileguard.yaml"
    from profileguard.pipeline.services import open_services

    with open_services(manifest) as svc:
        svc.engine.execute("UPDATE pg_ingest_files SET loaded = loaded - 1 WHERE source = 'users'")
    kinds = {kind for kind, _ in chaos.check(manifest)}
    assert "reconcile" in kinds
