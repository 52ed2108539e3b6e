"""A built demo workspace (300 users, snapshot as of 2026-11-01), copied for each test."""

from __future__ import annotations

import datetime as dt
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from profileguard.pipeline.profiles import build_profiles
from profileguard.pipeline.services import Services, open_services

AS_OF = dt.datetime(2026, 11, 1)


@pytest.fixture(scope="session")
def built_template(demo_template: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("apply-built") / "ws"
    shutil.copytree(demo_template, root)
    with open_services(root / "profileguard.yaml") as svc:
        build_profiles(svc, AS_OF)
    return root


@pytest.fixture
def built_ws(built_template: Path, tmp_path: Path) -> Path:
    target = tmp_path / "ws"
    shutil.copytree(built_template, target)
    return target / "profileguard.yaml"


@pytest.fixture
def svc(built_ws: Path) -> Iterator[Services]:
    with open_services(built_ws) as services:
        yield services
