"""Rendering pages: Jinja2 templates (autoescaped), the language switch, flash messages."""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse
from fastapi.templating import Jinja2Templates

from profileguard.server.i18n import COOKIE, pick, translator
from profileguard.server.state import state_of

HERE = Path(__file__).parent
templates = Jinja2Templates(directory=str(HERE / "templates"))
SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data:; style-src 'self'; "
                               "script-src 'none'; frame-ancestors 'none'; form-action 'self'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}


def lang_url(request: Request, lang: str) -> str:
    params = dict(request.query_params)
    params["lang"] = "en" if lang == "zh" else "zh"
    params.pop("token", None)
    params.pop("key", None)
    return f"{request.url.path}?{urlencode(params)}"


def page(request: Request, name: str, *, status: int = 200, **ctx: Any) -> HTMLResponse:
    lang = pick(request)
    state = state_of(request)
    flash_key = request.query_params.get("done")
    t = translator(lang)
    response = templates.TemplateResponse(request, name, {
        "lang": lang, "t": t, "lang_url": lang_url(request, lang),
        "org": state.svc.manifest.organization.name,
        "flash": t("done") if flash_key else None, **ctx}, status_code=status)
    if request.query_params.get("lang") in ("zh", "en"):
        response.set_cookie(COOKIE, lang, max_age=365 * 86400, samesite="lax",
                            secure=state.settings.secure_cookies)
    response.headers.update(SECURITY_HEADERS)
    return response


def back(to: str, anchor: str = "") -> RedirectResponse:
    """After a form post: 303 back to the page (Post/Redirect/Get), with a 'done' flash."""
    sep = "&" if "?" in to else "?"
    return RedirectResponse(f"{to}{sep}done=1{'#' + anchor if anchor else ''}", status_code=303)
