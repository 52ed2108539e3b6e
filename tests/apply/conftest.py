"""The apply tests use `built_ws` (tests/conftest.py): a built 300-user demo workspace."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import pytest

from profileguard.pipeline.services import Services, open_services

AS_OF = dt.datetime(2026, 11, 1)


@pytest.fixture
def svc(built_ws: Path) -> Iterator[Services]:
    with open_services(built_ws) as services:
        yield services
