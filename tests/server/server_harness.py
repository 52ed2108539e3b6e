"""Helpers for the server tests: an app over a workspace with a staff key of every role."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fastapi import FastAPI
from fastapi.testclient import TestClient


@dataclass
class Served:
    app: FastAPI
    client: TestClient
    keys: dict[str, str]
    manifest: Path

    @property
    def svc(self) -> Any:
        return self.app.state.pg.svc

    def token(self, user: str) -> str:
        signer = self.app.state.signer
        return str(signer.login_token(self.svc.store.resolve(user)))

    def as_subject(self, user: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token(user)}"}

    def as_staff(self, role: str) -> dict[str, str]:
        return {"X-API-Key": self.keys[role]}


def shop_customers(svc: Any, shop: str) -> set[str]:
    rows = svc.engine.query_rows("SELECT DISTINCT user_id FROM orders WHERE shop_id = ?", [shop])
    return {str(r[0]) for r in rows}


def serve(manifest: Path, state_url: str | None = None, **settings: object) -> Served:
    from profileguard.server.app import create_app
    from profileguard.server.keys import create_key
    from profileguard.server.state import Settings

    app = create_app(manifest, state_url=state_url, settings=Settings(**settings))  # type: ignore[arg-type]
    svc = app.state.pg.svc
    keys = {}
    for name, role, shop, purposes in (
            ("admin", "platform_admin", None, ()), ("dpo", "dpo", None, ()),
            ("analyst", "analyst", None, ()),
            ("merchant_a", "merchant", "S005", ("personalization", "tiered_operations")),
            ("merchant_b", "merchant", "S014", ("personalization",))):
        _k, plain = create_key(svc.store, svc.ledger, name, role, shop_id=shop,
                               purposes=purposes)
        keys[name] = plain
    return Served(app, TestClient(app, raise_server_exceptions=False), keys, manifest)
