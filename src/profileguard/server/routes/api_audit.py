"""Staff API for the auditor, the ledger and aggregate statistics."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import PlainTextResponse, Response

from profileguard.audit.api import render
from profileguard.audit.drafts.document import to_html, to_markdown
from profileguard.server.access import staff
from profileguard.server.audits import audit, manifests
from profileguard.server.keys import StaffKey
from profileguard.server.state import state_of
from profileguard.server.stats import statistics
from profileguard.store.ledger_verify import verify

router = APIRouter(tags=["staff: audit and ledger"])
ManifestQ = Query(None, max_length=200, description="a manifest beside the served one, by "
                  "file name (e.g. naive.yaml); default: the served manifest")
MEDIA = {"json": "application/json", "md": "text/markdown; charset=utf-8",
         "html": "text/html; charset=utf-8", "sarif": "application/sarif+json"}


@router.post("/api/audit/run", summary="Run the audit; score, stage scores and findings")
def run(request: Request, *, manifest: str | None = ManifestQ,
        key: Annotated[StaffKey, Depends(staff("platform_admin", "dpo"))]) -> dict[str, Any]:
    _ctx, result = audit(state_of(request), manifest)
    return result.as_dict()


@router.get("/api/audit/manifests", summary="Manifests the dashboard can audit")
def list_manifests(request: Request,
                   key: Annotated[StaffKey, Depends(staff("platform_admin", "dpo", "analyst"))]
                   ) -> list[str]:
    return manifests(state_of(request))


@router.get("/api/audit/report", summary="The audit report in json, md, html or sarif",
            response_class=PlainTextResponse)
def report(request: Request, *, format: Literal["json", "md", "html", "sarif"] = "json",
           manifest: str | None = ManifestQ,
           key: Annotated[StaffKey, Depends(staff("platform_admin", "dpo", "analyst"))]) -> Response:
    state = state_of(request)
    _ctx, result = audit(state, manifest)
    text = render(result, format, state.root)
    name = f"audit-report.{ 'sarif.json' if format == 'sarif' else format}"
    return Response(text, media_type=MEDIA[format],
                    headers={"Content-Disposition": f'attachment; filename="{name}"'})


def _draft(request: Request, which: str, fmt: str, manifest: str | None) -> Response:
    from profileguard.audit.drafts.filing import filing_document
    from profileguard.audit.drafts.pia import pia_document

    ctx, result = audit(state_of(request), manifest)
    doc = (pia_document if which == "pia" else filing_document)(ctx, result)
    text = to_html(doc) if fmt == "html" else to_markdown(doc)
    return Response(text, media_type=MEDIA[fmt], headers={
        "Content-Disposition": f'attachment; filename="{which}-draft.{fmt}"'})


@router.get("/api/audit/pia", summary="Draft personal-information impact assessment (PIPL 55)",
            response_class=PlainTextResponse)
def pia(request: Request, *, format: Literal["md", "html"] = "md",
        manifest: str | None = ManifestQ,
        key: Annotated[StaffKey, Depends(staff("platform_admin", "dpo"))]) -> Response:
    return _draft(request, "pia", format, manifest)


@router.get("/api/audit/filing", summary="Draft algorithm filing (ALG 24)",
            response_class=PlainTextResponse)
def filing(request: Request, *, format: Literal["md", "html"] = "md",
           manifest: str | None = ManifestQ,
           key: Annotated[StaffKey, Depends(staff("platform_admin", "dpo"))]) -> Response:
    return _draft(request, "filing", format, manifest)


@router.get("/api/ledger/verify", summary="Check the hash chain of the ledger")
def ledger_verify(request: Request,
                  key: Annotated[StaffKey, Depends(staff("platform_admin", "dpo"))]) -> dict[str, Any]:
    out: dict[str, Any] = verify(state_of(request).svc.ledger).as_dict()
    return out


@router.get("/api/stats", summary="Aggregates only: consent coverage, requests, complaints")
def stats(request: Request,
          key: Annotated[StaffKey, Depends(staff("platform_admin", "dpo", "analyst"))]) -> dict[str, Any]:
    return statistics(state_of(request))
