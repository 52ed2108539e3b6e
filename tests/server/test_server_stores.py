"""The server on either operational store (SQLite, PostgreSQL), and its CLI commands."""

from __future__ import annotations

import json
from pathlib import Path

from server_harness import serve
from typer.testing import CliRunner

from profileguard.cli import app as cli_app
from profileguard.errors import ProfileguardError

ADULT = "U0000004"


def test_server_keeps_decisions_in_the_operational_store_it_is_given(
        built_ws: Path, state_url: str) -> None:
    s = serve(built_ws, state_url=state_url)
    with s.client:
        s.svc.store.register_identities([ADULT])
        h = s.as_subject(ADULT)
        assert s.client.get("/api/me/profile", headers=h).json()["tags"] == []
        s.client.post("/api/me/consents/personalization/grant", headers=h)
        tags = s.client.get("/api/me/profile", headers=h).json()["tags"]
        assert tags and {t["purpose"] for t in tags} == {"personalization"}
        s.client.post("/api/me/complaints", json={"kind": "wrong_tag", "text": "not me"},
                      headers=h)
        assert len(s.client.get("/api/complaints", headers=s.as_staff("dpo")).json()) == 1
        assert s.client.get("/api/ledger/verify", headers=s.as_staff("dpo")).json()["ok"]
        assert s.client.get("/api/health").json()["operational_store"] == \
            ("sqlite" if state_url.startswith("sqlite") else "postgresql")


def test_token_command_prints_a_link_that_signs_the_person_in(built_ws: Path) -> None:
    out = CliRunner().invoke(cli_app, ["token", ADULT, "--manifest", str(built_ws),
                                       "--base-url", "http://testserver", "--format", "json"])
    assert out.exit_code == 0, out.output
    link = json.loads(out.stdout)["link"]
    s = serve(built_ws)
    r = s.client.get(link.removeprefix("http://testserver"), follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/me"
    unknown = CliRunner().invoke(cli_app, ["token", "NOPE", "--manifest", str(built_ws)])
    assert isinstance(unknown.exception, ProfileguardError)
    assert "not known" in str(unknown.exception)


def test_apikey_commands_create_list_and_revoke(built_ws: Path) -> None:
    runner = CliRunner()
    made = runner.invoke(cli_app, ["apikey", "create", "shop 5", "--role", "merchant",
                                   "--shop", "S005", "--purpose", "fulfilment",
                                   "--manifest", str(built_ws), "--format", "json"])
    assert made.exit_code == 0, made.output
    key = json.loads(made.stdout)
    assert key["key"].startswith("pgk_") and key["purposes"] == ["fulfilment"]
    listed = runner.invoke(cli_app, ["apikey", "list", "--manifest", str(built_ws),
                                     "--format", "json"])
    rows = json.loads(listed.stdout)
    assert [r["role"] for r in rows] == ["merchant"] and key["key"] not in listed.stdout
    bad = runner.invoke(cli_app, ["apikey", "create", "x", "--role", "merchant",
                                  "--manifest", str(built_ws)])
    assert isinstance(bad.exception, ProfileguardError) and "--shop" in str(bad.exception)
    gone = runner.invoke(cli_app, ["apikey", "revoke", str(key["id"]),
                                   "--manifest", str(built_ws)])
    assert gone.exit_code == 0
    s = serve(built_ws)
    r = s.client.get("/api/users/U0000004/profile", params={"purpose": "fulfilment"},
                     headers={"X-API-Key": key["key"]})
    assert r.status_code == 401
