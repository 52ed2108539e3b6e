"""The compliance dashboard (``/dashboard``) for the DPO and platform admins."""

from __future__ import annotations

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response

from profileguard.server.access import STAFF_COOKIE, staff_key
from profileguard.server.compliance import dashboard as dashboard_data
from profileguard.server.errors import ApiError
from profileguard.server.state import state_of
from profileguard.server.tokens import STAFF_SESSION
from profileguard.server.web import page

router = APIRouter(include_in_schema=False)
DASHBOARD_ROLES = ("dpo", "platform_admin")


def _sign_in(request: Request, plaintext: str) -> Response:
    key = request.app.state.keyring.lookup(plaintext.strip())
    if key is None:
        raise ApiError(401, "this API key is not valid (revoked or mistyped)")
    if key.role not in DASHBOARD_ROLES:
        raise ApiError(403, f"the dashboard is for {', '.join(DASHBOARD_ROLES)} keys")
    state = state_of(request)
    response = RedirectResponse("/dashboard", status_code=303)
    response.set_cookie(STAFF_COOKIE, request.app.state.signer.dumps(
        STAFF_SESSION, {"key_id": key.id}), max_age=state.settings.session_max_age_s,
        httponly=True, samesite="strict", secure=state.settings.secure_cookies)
    return response


@router.get("/dashboard/login")
def login_page(request: Request, key: str = "") -> Response:
    return _sign_in(request, key) if key else page(request, "staff_login.html")


@router.post("/dashboard/login")
def login(request: Request, key: str = Form(...)) -> Response:
    return _sign_in(request, key)


@router.post("/dashboard/logout")
def logout() -> Response:
    response = RedirectResponse("/dashboard/login", status_code=303)
    response.delete_cookie(STAFF_COOKIE)
    return response


@router.get("/dashboard")
def dashboard(request: Request, manifest: str | None = None) -> Response:
    key = staff_key(request, None, None)
    if key is None:
        return RedirectResponse("/dashboard/login", status_code=303)
    if key.role not in DASHBOARD_ROLES:
        raise ApiError(403, f"the dashboard is for {', '.join(DASHBOARD_ROLES)} keys")
    return page(request, "dashboard.html", d=dashboard_data(state_of(request), manifest))
