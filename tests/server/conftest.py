"""Fixtures for the server tests: a built demo workspace, an app over a private copy of it,
staff keys of every role and subject tokens."""

from __future__ import annotations

import datetime as dt
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from server_harness import Served, serve

AS_OF = dt.datetime(2026, 11, 1)


@pytest.fixture
def served(built_ws: Path) -> Iterator[Served]:
    s = serve(built_ws)
    with s.client:
        yield s


@pytest.fixture(scope="module")
def shared(built_template: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    """One app for a whole module (tests that only read or whose writes do not matter)."""
    root = tmp_path_factory.mktemp("server-shared") / "ws"
    shutil.copytree(built_template, root)
    s = serve(root / "profileguard.yaml", subject_rate_per_minute=100_000)
    with s.client:
        yield s
