"""Who is asking: FastAPI dependencies for staff (API keys, by role) and data subjects.

Staff send ``X-API-Key: pgk_…`` (or ``Authorization: Bearer pgk_…``); the dashboard uses a
signed session cookie holding the key's id. Subjects send ``Authorization: Bearer
<login token>`` or carry the signed session cookie the login link set. A subject is only
ever resolved to their own pseudonymous id, so no subject endpoint can name another
person. Subject endpoints are rate limited per person and client address.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer

from profileguard.server.errors import ApiError
from profileguard.server.keys import PREFIX, StaffKey
from profileguard.server.state import state_of
from profileguard.server.tokens import STAFF_SESSION, SUBJECT_SESSION

SUBJECT_COOKIE = "pg_subject"
STAFF_COOKIE = "pg_staff"

api_key_header = APIKeyHeader(name="X-API-Key", auto_error=False,
                              description="staff API key (profileguard apikey create)")
bearer = HTTPBearer(auto_error=False, description="subject login token, or a staff API key")

Roles = tuple[str, ...]
ALL_STAFF: Roles = ("platform_admin", "merchant", "dpo", "analyst")


def staff_key(request: Request, x_api_key: str | None, creds: HTTPAuthorizationCredentials | None
              ) -> StaffKey | None:
    state = state_of(request)
    ring = request.app.state.keyring
    plain = x_api_key or (creds.credentials if creds and creds.credentials.startswith(PREFIX)
                          else None)
    if plain:
        key: StaffKey | None = ring.lookup(plain)
        return key
    cookie = request.cookies.get(STAFF_COOKIE, "")
    data = request.app.state.signer.loads(STAFF_SESSION, cookie,
                                          state.settings.session_max_age_s) if cookie else None
    if isinstance(data, dict) and isinstance(data.get("key_id"), int):
        found: StaffKey | None = ring.by_id(data["key_id"])
        return found
    return None


def staff(*roles: str) -> Callable[..., Awaitable[StaffKey]]:
    """A dependency that admits staff keys of ``roles`` (401 without a key, 403 otherwise).

    It runs on the event loop: a key is looked up in the key ring's cache, the operational
    store is read only on a miss (a short indexed read), and no thread is taken per request.
    """
    allowed = roles or ALL_STAFF

    async def dependency(request: Request,
                   x_api_key: Annotated[str | None, Depends(api_key_header)],
                   creds: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)]) -> StaffKey:
        key = staff_key(request, x_api_key, creds)
        if key is None:
            raise ApiError(401, "a valid staff API key is required: send X-API-Key (create one "
                           "with `profileguard apikey create`)")
        if key.role not in allowed:
            raise ApiError(403, f"role {key.role} may not do this; allowed roles: "
                           f"{', '.join(allowed)}")
        return key

    return dependency


def subject_pid(request: Request) -> str | None:
    """The signed-in subject's pseudonymous id, or None."""
    state = state_of(request)
    signer = request.app.state.signer
    auth = request.headers.get("authorization", "")
    if auth.lower().startswith("bearer ") and not auth[7:].startswith(PREFIX):
        pid: str | None = signer.subject_of(auth[7:].strip(), state.settings.token_max_age_s)
        return pid
    cookie = request.cookies.get(SUBJECT_COOKIE, "")
    data = signer.loads(SUBJECT_SESSION, cookie, state.settings.session_max_age_s) \
        if cookie else None
    if isinstance(data, dict) and isinstance(data.get("pid"), str):
        return str(data["pid"])
    return None


def subject(request: Request,
            creds: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)]) -> str:
    """A dependency for subject endpoints: the person's own pid, rate limited."""
    pid = subject_pid(request)
    if pid is None:
        raise ApiError(401, "sign in with your login link (or send Authorization: Bearer "
                       "<token>); the link from `profileguard token USER` works for the demo")
    client = request.client.host if request.client else "-"
    ok, wait = request.app.state.limiter.allow(f"{pid}|{client}")
    if not ok:
        raise ApiError(429, f"too many requests; try again in {wait} s", retry_after=wait)
    return pid
