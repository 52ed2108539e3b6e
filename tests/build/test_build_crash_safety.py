"""Killing a build (SIGKILL) at any point leaves the previous snapshot current and intact."""

from __future__ import annotations

import hashlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from profileguard.model import snapshot
from profileguard.pipeline.services import open_services

AS_OF = "2026-11-01T00:00:00"


def build_cmd(manifest: Path) -> list[str]:
    return [sys.executable, "-m", "profileguard", "build", "--manifest", str(manifest),
            "--as-of", AS_OF, "--format", "json"]


def fingerprint(manifest: Path) -> tuple[int, str]:
    with open_services(manifest) as svc:
        snap = snapshot.current(svc.engine)
        assert snap is not None
        rows = svc.engine.query_rows(f"SELECT * FROM {snap.long} ORDER BY user_id, tag")
        wide = svc.engine.query_rows(f"SELECT count(*) FROM {snap.wide}")
        return snap.id, hashlib.sha256(repr((rows, wide)).encode()).hexdigest()


@pytest.mark.parametrize("step", ["plans", "descriptive", "derived", "written"])
def test_sigkill_at_a_build_step_keeps_the_previous_snapshot(demo_ws: Path, step: str) -> None:
    subprocess.run(build_cmd(demo_ws), check=True, capture_output=True)
    before = fingerprint(demo_ws)
    env = {**os.environ, "PROFILEGUARD_FAULT_AT": step}
    killed = subprocess.run(build_cmd(demo_ws), env=env, capture_output=True)
    assert killed.returncode == -signal.SIGKILL
    assert fingerprint(demo_ws) == before
    subprocess.run(build_cmd(demo_ws), check=True, capture_output=True)
    after_id, _ = fingerprint(demo_ws)
    assert after_id > before[0]


def test_sigkill_at_random_moments_never_corrupts_the_current_snapshot(demo_ws: Path) -> None:
    subprocess.run(build_cmd(demo_ws), check=True, capture_output=True)
    for delay in (0.3, 0.9, 1.6):
        before = fingerprint(demo_ws)
        proc = subprocess.Popen(build_cmd(demo_ws), stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL)
        time.sleep(delay)
        proc.kill()
        proc.wait()
        now = fingerprint(demo_ws)
        # either the build finished before the kill (a newer snapshot) or nothing changed
        assert now == before or now[0] > before[0]
