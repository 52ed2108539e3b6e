"""Shared fixtures.

Services: on a developer machine a test that needs PostgreSQL, Chromium or Spark skips with a
reason when the service is missing; with ``CI=true`` it fails loudly instead.
"""

from __future__ import annotations

import os
import shutil
import socket
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from profileguard.store.ledger import Ledger

IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}
PG_HOST, PG_PORT = "127.0.0.1", 5432
PG_ADMIN_URL = os.environ.get(
    "PROFILEGUARD_TEST_PG_URL", f"postgresql+psycopg://postgres@{PG_HOST}:{PG_PORT}/test"
)


def require(condition: bool, reason: str) -> None:
    """Skip (developer machine) or fail (CI) when a service the test needs is missing."""
    if condition:
        return
    if IN_CI:
        pytest.fail(f"CI=true and {reason}", pytrace=False)
    pytest.skip(reason)


def _port_open(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=1):
            return True
    except OSError:
        return False


@pytest.fixture
def pg_url() -> Iterator[str]:
    """A fresh, uniquely named PostgreSQL database, dropped afterwards."""
    require(_port_open(PG_HOST, PG_PORT), f"PostgreSQL is not reachable at {PG_HOST}:{PG_PORT}")
    import sqlalchemy as sa

    name = f"pg_test_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    url = PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    try:
        yield url
    finally:
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def state_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """An operational-store URL: each test using it runs on SQLite and on PostgreSQL."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'state.db'}"
    url: str = request.getfixturevalue("pg_url")
    return url


@pytest.fixture
def chromium_path() -> str:
    path = shutil.which("chromium") or shutil.which("chromium-browser")
    require(path is not None, "Debian's chromium is not installed (apt-get install chromium)")
    assert path is not None
    return path


@pytest.fixture(scope="session")
def java_available() -> bool:
    return shutil.which("java") is not None


DEMO_AS_OF = "2026-11-01T00:00:00"


@pytest.fixture(scope="session")
def demo_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small demo workspace (300 users), generated, ingested and consent-imported once."""
    import datetime as dt

    import pyarrow.csv as pcsv

    from profileguard.demo.generate import generate
    from profileguard.demo.run import write_manifests
    from profileguard.pipeline.ingest import ingest_workspace
    from profileguard.pipeline.services import open_services

    root = tmp_path_factory.mktemp("demo-template")
    generate(root / "data", users=300, seed=11, as_of=dt.datetime(2026, 11, 1))
    write_manifests(root)
    with open_services(root / "profileguard.yaml") as svc:
        consents = pcsv.read_csv(root / "data" / "consents.csv",
                                 convert_options=pcsv.ConvertOptions(strings_can_be_null=True))
        svc.book.import_arrow(consents)
        ingest_workspace(svc, now=dt.datetime(2026, 11, 1))
    return root


@pytest.fixture
def demo_ws(demo_template: Path, tmp_path: Path) -> Path:
    """A private copy of the demo workspace for one test (returns the manifest path)."""
    target = tmp_path / "ws"
    shutil.copytree(demo_template, target)
    return target / "profileguard.yaml"


@pytest.fixture(scope="session")
def built_template(demo_template: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The 300-user demo workspace with profiles built as of 2026-11-01 (once per session)."""
    import datetime as dt

    from profileguard.pipeline.profiles import build_profiles
    from profileguard.pipeline.services import open_services

    root = tmp_path_factory.mktemp("demo-built") / "ws"
    shutil.copytree(demo_template, root)
    with open_services(root / "profileguard.yaml") as svc:
        build_profiles(svc, dt.datetime(2026, 11, 1))
    return root


@pytest.fixture
def built_ws(built_template: Path, tmp_path: Path) -> Path:
    """A private copy of the built workspace (returns the manifest path)."""
    target = tmp_path / "built"
    shutil.copytree(built_template, target)
    return target / "profileguard.yaml"


@pytest.fixture
def ledger(tmp_path: Path) -> Iterator[Ledger]:
    """A ledger over a fresh SQLite operational store."""
    from profileguard.store.ledger import Ledger
    from profileguard.store.operational import OperationalStore

    store = OperationalStore(f"sqlite:///{tmp_path / 'state.db'}")
    yield Ledger(store)
    store.engine.dispose()
