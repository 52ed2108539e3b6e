"""Staff API keys: created once, shown once, stored only as a hash, scoped by role.

A key is 32 random bytes (``pgk_`` + URL-safe text). Because it is random and long, a
plain SHA-256 of it is a sound stored form — a slow password hash guards low-entropy
secrets and would only add latency to every request here. Roles:

* ``platform_admin`` — everything staff may do;
* ``merchant`` — scoped to one ``shop_id`` and a set of purposes;
* ``dpo`` — audit, rights queue, complaints, ledger, approvals;
* ``analyst`` — aggregates only (no person-level data).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
import threading
import time
from dataclasses import dataclass

import sqlalchemy as sa

from profileguard.errors import ProfileguardError
from profileguard.server import tables as st
from profileguard.store import tables as t
from profileguard.store.ledger import Ledger
from profileguard.store.operational import OperationalStore

ROLES = ("platform_admin", "merchant", "dpo", "analyst")
PREFIX = "pgk_"
CACHE_SECONDS = 5.0


@dataclass(frozen=True)
class StaffKey:
    id: int
    name: str
    role: str
    shop_id: str | None
    purposes: tuple[str, ...]

    @property
    def actor(self) -> str:
        return f"apikey:{self.id}:{self.role}"


def key_hash(plaintext: str) -> str:
    return hashlib.sha256(plaintext.encode("utf-8")).hexdigest()


def create_key(store: OperationalStore, ledger: Ledger, name: str, role: str, *,
               shop_id: str | None = None, purposes: tuple[str, ...] = (),
               actor: str = "cli") -> tuple[StaffKey, str]:
    """Create a key; returns it and its plaintext (shown once, never stored)."""
    if role not in ROLES:
        raise ProfileguardError(f"role {role!r} is not known; use one of {', '.join(ROLES)}")
    if role == "merchant" and not shop_id:
        raise ProfileguardError("a merchant key needs --shop SHOP_ID: it only sees the users "
                                "who ordered from that shop")
    if role == "merchant" and not purposes:
        raise ProfileguardError("a merchant key needs at least one --purpose it is authorized "
                                "for (e.g. --purpose fulfilment)")
    if role != "merchant" and (shop_id or purposes):
        raise ProfileguardError("--shop and --purpose scope merchant keys only")
    plaintext = PREFIX + secrets.token_urlsafe(32)
    st.ensure_tables(store)
    with store.write() as conn:
        key_id = int(conn.execute(t.api_keys.insert().values(
            name=name, role=role, shop_id=shop_id, key_hash=key_hash(plaintext),
            created_at=dt.datetime.now(dt.UTC)).returning(t.api_keys.c.id)).scalar_one())
        for p in sorted(set(purposes)):
            conn.execute(st.api_key_purposes.insert().values(key_id=key_id, purpose=p))
        ledger.append("apikey.created", actor, None, {
            "key_id": key_id, "role": role, "shop_id": shop_id,
            "purposes": sorted(set(purposes))}, conn=conn)
    return StaffKey(key_id, name, role, shop_id, tuple(sorted(set(purposes)))), plaintext


def revoke_key(store: OperationalStore, ledger: Ledger, key_id: int, *, actor: str = "cli"
               ) -> None:
    with store.write() as conn:
        n = conn.execute(t.api_keys.update().where(
            t.api_keys.c.id == key_id, t.api_keys.c.revoked_at.is_(None)).values(
            revoked_at=dt.datetime.now(dt.UTC))).rowcount
        if not n:
            raise ProfileguardError(f"API key {key_id} does not exist or is already revoked")
        ledger.append("apikey.revoked", actor, None, {"key_id": key_id}, conn=conn)


def list_keys(store: OperationalStore) -> list[dict[str, object]]:
    st.ensure_tables(store)
    k = t.api_keys.c
    with store.read() as conn:
        rows = conn.execute(sa.select(k.id, k.name, k.role, k.shop_id, k.created_at,
                                      k.revoked_at).order_by(k.id)).mappings().all()
        scopes = conn.execute(sa.select(st.api_key_purposes)).all()
    by_key: dict[int, list[str]] = {}
    for key_id, purpose in scopes:
        by_key.setdefault(int(key_id), []).append(str(purpose))
    return [{**dict(r), "purposes": sorted(by_key.get(int(r["id"]), []))} for r in rows]


class KeyRing:
    """Looks keys up by hash, with a few seconds' cache (revocation takes effect within
    :data:`CACHE_SECONDS` on every worker)."""

    def __init__(self, store: OperationalStore) -> None:
        self.store = store
        self._cache: dict[str, tuple[float, StaffKey | None]] = {}
        self._lock = threading.Lock()

    def lookup(self, plaintext: str) -> StaffKey | None:
        if not plaintext.startswith(PREFIX) or len(plaintext) > 100:
            return None
        digest = key_hash(plaintext)
        now = time.monotonic()
        with self._lock:
            hit = self._cache.get(digest)
        if hit is not None and now - hit[0] < CACHE_SECONDS:
            return hit[1]
        key = self._load(sa.select(t.api_keys).where(t.api_keys.c.key_hash == digest))
        with self._lock:
            if len(self._cache) > 10_000:
                self._cache.clear()
            self._cache[digest] = (now, key)
        return key

    def by_id(self, key_id: int) -> StaffKey | None:
        return self._load(sa.select(t.api_keys).where(t.api_keys.c.id == key_id))

    def _load(self, stmt: sa.Select[tuple[object, ...]]) -> StaffKey | None:
        with self.store.read() as conn:
            row = conn.execute(stmt).mappings().first()
            if row is None or row["revoked_at"] is not None:
                return None
            purposes = conn.execute(sa.select(st.api_key_purposes.c.purpose).where(
                st.api_key_purposes.c.key_id == row["id"])).scalars().all()
        return StaffKey(int(row["id"]), str(row["name"]), str(row["role"]), row["shop_id"],
                        tuple(sorted(str(p) for p in purposes)))
