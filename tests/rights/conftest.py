"""The demo workspace with its operational store on SQLite or on PostgreSQL."""

from __future__ import annotations

import csv
from pathlib import Path

import pyarrow.csv as pcsv
import pytest

from profileguard.pipeline.services import open_services


@pytest.fixture(params=["sqlite", "postgresql"])
def demo_state(request: pytest.FixtureRequest, demo_ws: Path) -> tuple[Path, str | None]:
    """(manifest, state URL): None keeps the workspace's SQLite store; for PostgreSQL a fresh
    database receives the demo's consent log and identity map."""
    if request.param == "sqlite":
        return demo_ws, None
    url: str = request.getfixturevalue("pg_url")
    root = demo_ws.parent
    for stale in (root / ".profileguard").glob("state.db*"):  # the store now lives in PostgreSQL
        stale.unlink()
    with open_services(demo_ws, state_url=url) as svc:
        consents = pcsv.read_csv(root / "data" / "consents.csv",
                                 convert_options=pcsv.ConvertOptions(strings_can_be_null=True))
        svc.book.import_arrow(consents)
        with (root / "data" / "users.csv").open(encoding="utf-8") as fh:
            svc.store.register_identities(r["user_id"] for r in csv.DictReader(fh))
    return demo_ws, url
