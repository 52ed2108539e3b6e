"""The demo's serve step: a DPO dashboard link and three subject login links, then serving;
nothing at all with --no-serve."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console

from profileguard.demo.run import DemoContext
from profileguard.demo.serve_step import step_serve


def test_no_serve_prints_nothing(built_ws: Path) -> None:
    console = Console(record=True, width=300)
    step_serve(DemoContext(built_ws.parent, 300, 11, console, serve=False))
    assert console.export_text() == ""


def test_serve_prints_a_dpo_link_and_three_working_subject_links(
        built_ws: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import uvicorn
    from fastapi.testclient import TestClient

    served: dict[str, Any] = {}
    monkeypatch.setattr(uvicorn, "run", lambda app, **kw: served.update(app=app, **kw))
    console = Console(record=True, width=400)
    step_serve(DemoContext(built_ws.parent, 300, 11, console, serve=True))
    text = console.export_text()
    assert served["host"] == "127.0.0.1"
    key = re.search(r"/dashboard/login\?key=(pgk_\S+)", text)
    links = re.findall(r"privacy center \((adult|elderly|minor), (U\d+)\): \S+(/login\?token=\S+)",
                       text)
    assert key and sorted(g for g, _u, _l in links) == ["adult", "elderly", "minor"]
    client = TestClient(served["app"])
    assert client.get(f"/dashboard/login?key={key.group(1)}").status_code == 200
    for _group, user, link in links:
        client.cookies.clear()
        assert client.get(link, follow_redirects=False).status_code == 303
        me = client.get("/me?lang=en")
        assert me.status_code == 200 and user in me.text
