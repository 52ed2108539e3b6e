"""The FastAPI application: one workspace served read-only, with the API and the pages.

``create_app(manifest)`` opens the workspace (warehouse attached read-only, operational
store shared), makes sure the server's own tables exist, and mounts the routers and the
static files. ``app_from_env`` is the factory uvicorn workers call (``profileguard serve``
passes the manifest and state URL in the environment; ``PROFILEGUARD_PROFILE_CACHE`` sets how
many persons' explained tags each worker keeps, 0 for none) and freezes what start-up
loaded out of the garbage collector's way.
"""

from __future__ import annotations

import gc
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import anyio.to_thread
from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from profileguard.errors import ProfileguardError
from profileguard.server import errors
from profileguard.server.keys import KeyRing
from profileguard.server.ratelimit import RateLimiter
from profileguard.server.routes import (
    api_audience,
    api_audit,
    api_me,
    api_people,
    api_rights,
    pages_center,
    pages_public,
    pages_staff,
)
from profileguard.server.state import (
    ServerState,
    Settings,
    load_or_create_secret,
    open_for_serving,
)
from profileguard.server.tables import ensure_tables
from profileguard.server.tokens import Signer
from profileguard.store.workspace import SECRETS_DIR

MANIFEST_ENV = "PROFILEGUARD_MANIFEST"
STATE_URL_ENV = "PROFILEGUARD_STATE_URL"
PROFILE_CACHE_ENV = "PROFILEGUARD_PROFILE_CACHE"
STATIC = Path(__file__).parent / "static"


def create_app(manifest: str | Path, *, state_url: str | None = None,
               settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()
    svc = open_for_serving(manifest, state_url, profile_cache=settings.profile_cache)
    ensure_tables(svc.store)
    # the tag catalog every profile read renders with; building it imports the predictive
    # models (scipy, scikit-learn: ~1,000 modules), which is start-up work, not a first
    # read's, and belongs to what app_from_env freezes
    _ = svc.catalog
    state = ServerState(svc, load_or_create_secret(svc.ws.root / SECRETS_DIR), settings)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        anyio.to_thread.current_default_thread_limiter().total_tokens = state.settings.threads
        yield
        state.close()

    app = FastAPI(title="profileguard", version="0.1.0", docs_url=None, redoc_url=None,
                  lifespan=lifespan,
                  description="Profiles with the law built in: the data-subject API, staff "
                              "API (roles: platform_admin, merchant, dpo, analyst), audit.")
    app.state.pg = state
    app.state.signer = Signer(state.secret)
    app.state.keyring = KeyRing(svc.store)
    app.state.limiter = RateLimiter(state.settings.subject_rate_per_minute)
    errors.install(app)
    for module in (pages_public, api_me, api_people, api_audience, api_rights, api_audit,
                   pages_center, pages_staff):
        app.include_router(module.router)
    app.mount("/static", StaticFiles(directory=str(STATIC)), name="static")
    return app


def app_from_env() -> FastAPI:
    manifest = os.environ.get(MANIFEST_ENV)
    if not manifest:
        raise ProfileguardError(f"{MANIFEST_ENV} is not set; start the server with "
                                "`profileguard serve`")
    app = create_app(manifest, state_url=os.environ.get(STATE_URL_ENV) or None,
                     settings=Settings(profile_cache=_profile_cache_from_env()))
    # What start-up loaded (modules, manifest, catalog: some 250,000 objects)
    # lives as long as the worker. Frozen, the collector no longer walks it on every full
    # collection, which otherwise stops the worker for 100-400 ms under load.
    gc.collect()
    gc.freeze()
    return app


def _profile_cache_from_env() -> int:
    text = os.environ.get(PROFILE_CACHE_ENV, "").strip()
    if not text:
        return Settings().profile_cache
    if not text.isdigit():
        raise ProfileguardError(f"{PROFILE_CACHE_ENV}={text!r}: give the number of persons "
                                "whose explained tags each worker keeps (0 turns it off)")
    return int(text)
