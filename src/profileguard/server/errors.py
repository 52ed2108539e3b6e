"""Errors as JSON a person can act on, never a stack trace.

API paths (``/api/...``) answer ``{"error": {"status", "message", ...}}``; pages answer a
small HTML page with the same message. A ProfileguardError is the user's to fix (400); an
unexpected exception is logged with a reference id and the client gets only that id.
"""

from __future__ import annotations

import logging
import uuid
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from profileguard.errors import ProfileguardError

log = logging.getLogger("profileguard.server")


class ApiError(Exception):
    """An error with the HTTP status it maps to and a message saying what to do."""

    def __init__(self, status: int, message: str, **extra: Any) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.extra = extra


def _wants_html(request: Request) -> bool:
    return not request.url.path.startswith("/api") and \
        "text/html" in request.headers.get("accept", "")


def respond(request: Request, status: int, message: str, headers: dict[str, str] | None = None,
            **extra: Any) -> Response:
    if _wants_html(request):
        from html import escape

        body = (f"<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>{status}"
                "</title><meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
                "<link rel=\"stylesheet\" href=\"/static/style.css\"></head><body><main>"
                f"<h1>{status}</h1><p role=\"alert\">{escape(message)}</p>"
                "<p><a href=\"/\">profileguard</a></p></main></body></html>")
        return HTMLResponse(body, status_code=status, headers=headers)
    return JSONResponse({"error": {"status": status, "message": message, **extra}},
                        status_code=status, headers=headers)


def _validation_message(exc: RequestValidationError) -> str:
    parts = []
    for err in exc.errors()[:5]:
        where = ".".join(str(x) for x in err.get("loc", ()) if x != "body")
        parts.append(f"{where}: {err.get('msg', 'invalid')}")
    return "invalid request — " + "; ".join(parts)


def install(app: FastAPI) -> None:
    @app.exception_handler(ApiError)
    async def _api(request: Request, exc: ApiError) -> Response:
        headers = {"Retry-After": str(exc.extra["retry_after"])} if "retry_after" in exc.extra \
            else None
        if exc.status == 401 and request.url.path.startswith("/api"):
            headers = {**(headers or {}), "WWW-Authenticate": "Bearer"}
        return respond(request, exc.status, exc.message, headers, **exc.extra)

    @app.exception_handler(ProfileguardError)
    async def _user(request: Request, exc: ProfileguardError) -> Response:
        return respond(request, 400, str(exc))

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> Response:
        return respond(request, 422, _validation_message(exc))

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> Response:
        message = exc.detail if isinstance(exc.detail, str) else "request not allowed"
        if exc.status_code == 404 and message == "Not Found":
            message = f"no such page or endpoint: {request.url.path} (the API is listed at /docs)"
        return respond(request, exc.status_code, message)

    @app.exception_handler(Exception)
    async def _crash(request: Request, exc: Exception) -> Response:
        ref = uuid.uuid4().hex[:12]
        log.exception("unhandled error %s on %s %s", ref, request.method, request.url.path)
        return respond(request, 500, f"internal error (reference {ref}); the operator can find "
                       "it in the server log", reference=ref)
