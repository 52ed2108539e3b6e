"""Public pages: the start page, the transparency page (ALG 16), the API reference (/docs)
rendered on the server from the OpenAPI schema — no script, nothing from a CDN — and
health."""

from __future__ import annotations

from html import escape
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse, HTMLResponse, Response

from profileguard.server.i18n import pick
from profileguard.server.state import state_of
from profileguard.server.transparency import page as transparency_page
from profileguard.server.web import SECURITY_HEADERS, page

router = APIRouter()
STATIC = Path(__file__).resolve().parents[1] / "static"


@router.get("/api/health", tags=["public"], summary="Liveness and what this server serves")
def health(request: Request) -> dict[str, Any]:
    from profileguard.model import snapshot

    svc = state_of(request).svc
    snap = snapshot.current(svc.engine)
    return {"status": "ok", "organization": svc.manifest.organization.name,
            "snapshot": snap.id if snap else None,
            "as_of": snap.as_of.isoformat() if snap else None,
            "operational_store": svc.store.dialect}


@router.get("/favicon.ico", include_in_schema=False)
def favicon() -> Response:
    return FileResponse(STATIC / "favicon.svg", media_type="image/svg+xml")


@router.get("/", include_in_schema=False)
def index(request: Request) -> Response:
    return page(request, "index.html")


@router.get("/transparency", include_in_schema=False)
def transparency(request: Request) -> Response:
    return page(request, "transparency.html", p=transparency_page(state_of(request),
                                                                  pick(request)))


def _op(path: str, method: str, op: dict[str, Any]) -> str:
    params = ", ".join(f"{escape(p['name'])} ({p['in']}{', required' if p.get('required') else ''})"
                       for p in op.get("parameters", []))
    body = op.get("requestBody", {}).get("content", {}).get("application/json", {})
    ref = body.get("schema", {}).get("$ref", "") if body else ""
    secured = "needs a key or token" if op.get("security") else "public"
    return (f'<div class="doc-op"><p><span class="method">{method}</span><code>{escape(path)}'
            f'</code></p><p>{escape(op.get("summary", ""))}</p><p class="muted">'
            f'{escape(", ".join(op.get("tags", [])))} · {secured}'
            f'{" · parameters: " + params if params else ""}'
            f'{" · body: " + escape(ref.rsplit("/", 1)[-1]) if ref else ""}</p></div>')


@router.get("/docs", include_in_schema=False)
def docs(request: Request) -> Response:
    schema = request.app.openapi()
    parts = ["<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"viewport"
             "\" content=\"width=device-width, initial-scale=1\"><title>profileguard API</title>"
             "<link rel=\"stylesheet\" href=\"/static/style.css\"></head><body><main id=\"main\">"
             f"<h1>{escape(schema['info']['title'])} {escape(schema['info']['version'])}</h1>"
             "<p>The machine-readable schema is at <a href=\"/openapi.json\">/openapi.json</a>. "
             "Staff send <code>X-API-Key</code>; data subjects send <code>Authorization: Bearer "
             "&lt;login token&gt;</code>.</p>"]
    for path, ops in schema.get("paths", {}).items():
        for method, op in ops.items():
            parts.append(_op(path, method, op))
    parts.append("</main></body></html>")
    return HTMLResponse("".join(parts), headers=SECURITY_HEADERS)
