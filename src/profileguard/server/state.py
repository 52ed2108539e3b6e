"""What one server process holds: the workspace's services, opened for serving, and settings.

The warehouse is opened through :class:`~profileguard.server.warehouse.ReadOnlyWarehouse`
before anything else asks for it, so every room that reads ``svc.engine`` reads the file
read-only. The operational store (SQLite in WAL mode, or PostgreSQL) is shared by all
workers: consents, overrides, requests, complaints, keys and the ledger live there.
Ledger entries of staff reads go through one :class:`LedgerWriter` per worker, which
commits the entries waiting at the same moment together.
"""

from __future__ import annotations

import os
import secrets
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fastapi import Request

from profileguard.errors import ProfileguardError
from profileguard.pipeline.services import Services, open_services
from profileguard.server.explained import DEFAULT_CAPACITY
from profileguard.server.ledger_writer import LedgerWriter
from profileguard.server.warehouse import ReadOnlyWarehouse
from profileguard.store.engine import DuckDBEngine

SECRET_FILE = "server.key"
SECRET_ENV = "PROFILEGUARD_SERVER_SECRET"


def load_or_create_secret(secrets_dir: Path) -> bytes:
    """The key that signs subject tokens and sessions: env var, else a 0600 file beside the
    pseudonymization key (outside the data), created on first use."""
    env = os.environ.get(SECRET_ENV)
    if env:
        return env.encode("utf-8")
    path = secrets_dir / SECRET_FILE
    if not path.exists():
        secrets_dir.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(secrets.token_hex(32))
    return path.read_text("utf-8").strip().encode("utf-8")


def open_for_serving(manifest: str | Path, state_url: str | None = None, *,
                     profile_cache: int = DEFAULT_CAPACITY) -> Services:
    """Services whose warehouse is attached read-only (scratch tables stay in memory);
    ``profile_cache`` persons' explained tags are kept per worker (0: none)."""
    svc = open_services(manifest, state_url=state_url)
    path = svc.ws.warehouse_path
    if not path.exists():
        raise ProfileguardError(f"no warehouse at {path}: ingest and build first "
                                "(`profileguard ingest`, `profileguard build`), then serve")
    engine: DuckDBEngine = ReadOnlyWarehouse(path, profile_cache=profile_cache)
    svc.ws._engine = engine  # the workspace hands this engine to every room from now on
    return svc


@dataclass
class Settings:
    token_max_age_s: int = 7 * 24 * 3600
    session_max_age_s: int = 12 * 3600
    subject_rate_per_minute: int = 120
    secure_cookies: bool = False
    #: persons whose explained snapshot tags each worker keeps (0 turns the cache off)
    profile_cache: int = DEFAULT_CAPACITY
    #: threads a worker runs blocking endpoints on (anyio's default is 40). The work is
    #: CPU and the GIL's, so more threads add no throughput; and beyond the operational
    #: store's connection pool (5 kept open) every extra thread opens and closes a SQLite
    #: connection per request. 4 request threads + the ledger writer fit the pool.
    threads: int = 4


@dataclass
class ServerState:
    svc: Services
    secret: bytes
    settings: Settings = field(default_factory=Settings)
    cache: dict[str, Any] = field(default_factory=dict)
    lock: threading.RLock = field(default_factory=threading.RLock)
    ledger: LedgerWriter = field(init=False)

    def __post_init__(self) -> None:
        self.ledger = LedgerWriter(self.svc.ledger)
        # the WAL is checkpointed by a thread, not inside whichever ledger commit crosses
        # the threshold (those waited for the disk while holding the write lock)
        self.svc.store.checkpoint_in_background()

    @property
    def root(self) -> Path:
        return self.svc.ws.root

    def close(self) -> None:
        self.ledger.close()
        self.svc.close()


def state_of(request: Request) -> ServerState:
    state: ServerState = request.app.state.pg
    return state
