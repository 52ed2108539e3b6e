"""Login links for data subjects (``profileguard token USER``, the demo's printed links)."""

from __future__ import annotations

from pathlib import Path

from profileguard.errors import ProfileguardError
from profileguard.pipeline.services import Services, open_services
from profileguard.server.state import load_or_create_secret
from profileguard.server.tokens import Signer
from profileguard.store.workspace import SECRETS_DIR


def login_link(svc: Services, user: str, base_url: str) -> str:
    """A signed login link for ``user`` (own id or pid); the person must be known."""
    pid = svc.store.resolve(user)
    if svc.store.user_id_for(pid) is None:
        raise ProfileguardError(f"user {user!r} is not known to this workspace (not ingested, "
                                "or erased); pass a user id from the users source")
    signer = Signer(load_or_create_secret(svc.ws.root / SECRETS_DIR))
    return f"{base_url.rstrip('/')}/login?token={signer.login_token(pid)}"


def login_link_for(manifest: str | Path | None, user: str, base_url: str,
                   state_url: str | None = None) -> str:
    with open_services(manifest, state_url=state_url) as svc:
        return login_link(svc, user, base_url)
