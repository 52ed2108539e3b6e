"""The subject API (``/api/me``): a signed-in person sees and changes only their own data."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import FileResponse

from profileguard.server import complaints as cmp
from profileguard.server import consents, desk
from profileguard.server.access import subject
from profileguard.server.errors import ApiError
from profileguard.server.people import pending_tags, visible_profile
from profileguard.server.recs import recommend_for
from profileguard.server.schemas import (
    ConsentChange,
    Lang,
    Mode,
    NewComplaint,
    NewRequest,
    RowId,
    Switches,
    TagCorrection,
    TagDeletion,
)
from profileguard.server.state import state_of

router = APIRouter(prefix="/api/me", tags=["data subject"])
Pid = Depends(subject)


def _tag(request: Request, tag: str) -> str:
    if state_of(request).svc.manifest.tag(tag) is None:
        raise ApiError(404, f"tag {tag!r} is not declared; see /transparency for the catalog")
    return tag


def switches_of(request: Request, pid: str) -> dict[str, Any]:
    pref = state_of(request).svc.book.preference(pid)
    return {"stop_profiling": pref.objected, "non_personalized": pref.non_personalized}


@router.get("", summary="Who I am signed in as, my switches")
def me(request: Request, pid: str = Pid) -> dict[str, Any]:
    svc = state_of(request).svc
    return {"user": pid, "switches": switches_of(request, pid),
            "tags_awaiting_removal": pending_tags(svc, pid)}


@router.get("/profile", summary="My tags, each with its plain explanation")
def profile(request: Request, lang: Lang = "zh", pid: str = Pid) -> dict[str, Any]:
    return {"user": pid, "tags": visible_profile(state_of(request).svc, pid, lang)}


@router.post("/tags/{tag}/correct", summary="Correct one of my tags")
def correct_tag(request: Request, tag: str, body: TagCorrection, pid: str = Pid
                ) -> dict[str, Any]:
    details = {"tag": _tag(request, tag), "value": body.value, "reason": body.reason}
    req = desk.submit(state_of(request).svc, pid, "correct", details,
                      evidence={"session_pid": pid}, actor="subject")
    return desk.as_dict(req)


@router.post("/tags/{tag}/delete", summary="Delete one of my tags")
def delete_tag(request: Request, tag: str, body: TagDeletion | None = None, pid: str = Pid
               ) -> dict[str, Any]:
    details = {"tag": _tag(request, tag), "reason": body.reason if body else None}
    req = desk.submit(state_of(request).svc, pid, "delete_tag", details,
                      evidence={"session_pid": pid}, actor="subject")
    return desk.as_dict(req)


@router.get("/consents", summary="My consents per purpose; separate consents on their own")
def my_consents(request: Request, pid: str = Pid) -> dict[str, Any]:
    return consents.consent_view(state_of(request).svc, pid)


@router.post("/consents/{purpose}/grant", summary="Give consent for one purpose (one step)")
def grant(request: Request, purpose: str, body: ConsentChange | None = None, pid: str = Pid
          ) -> dict[str, Any]:
    return consents.set_consent(state_of(request).svc, pid, purpose, True,
                                body.recipient if body else None)


@router.post("/consents/{purpose}/withdraw",
             summary="Withdraw consent for one purpose (one step, like giving it)")
def withdraw(request: Request, purpose: str, body: ConsentChange | None = None, pid: str = Pid
             ) -> dict[str, Any]:
    return consents.set_consent(state_of(request).svc, pid, purpose, False,
                                body.recipient if body else None)


@router.get("/switches", summary="Stop-profiling and non-personalized switches")
def get_switches(request: Request, pid: str = Pid) -> dict[str, Any]:
    return switches_of(request, pid)


@router.put("/switches", summary="Turn profiling off (一键关闭) or choose non-personalized results")
def put_switches(request: Request, body: Switches, pid: str = Pid) -> dict[str, Any]:
    svc = state_of(request).svc
    if body.stop_profiling is not None:
        svc.book.object(pid, body.stop_profiling, actor="subject")
    if body.non_personalized is not None:
        svc.book.set_non_personalized(pid, body.non_personalized, actor="subject")
    return switches_of(request, pid)


@router.get("/recommendations", summary="Recommendations for me (the guard decides the mode)")
def recommendations(request: Request, mode: Mode = "personalized",
                    n: int = Query(10, ge=1, le=50), pid: str = Pid) -> dict[str, Any]:
    return recommend_for(state_of(request), pid, mode, n)


@router.get("/requests", summary="My rights requests with status and deadline")
def my_requests(request: Request, pid: str = Pid) -> list[dict[str, Any]]:
    reqs = desk.server_desk(state_of(request).svc).list(user_pid=pid)
    return [desk.as_dict(r, with_result=False) for r in reversed(reqs)]


@router.post("/requests", summary="Make a rights request (access, export, delete, …)")
def new_request(request: Request, body: NewRequest, pid: str = Pid) -> dict[str, Any]:
    req = desk.submit(state_of(request).svc, pid, body.kind, body.details,
                      evidence={"session_pid": pid}, actor="subject")
    return desk.as_dict(req)


@router.get("/requests/{request_id}", summary="One of my requests")
def one_request(request: Request, request_id: RowId, pid: str = Pid) -> dict[str, Any]:
    from profileguard.errors import ProfileguardError

    try:
        req = desk.server_desk(state_of(request).svc).get(request_id)
    except ProfileguardError:
        req = None
    if req is None or req.user_pid != pid:
        raise ApiError(404, f"you have no request {request_id}")
    return desk.as_dict(req)


@router.get("/export", summary="Download my data (a machine-readable copy, JSON)",
            response_class=FileResponse)
def export(request: Request, pid: str = Pid) -> FileResponse:
    req = desk.submit(state_of(request).svc, pid, "export", {},
                      evidence={"session_pid": pid}, actor="subject")
    path = Path(str((req.result or {}).get("json", "")))
    if not path.is_file():
        raise ApiError(500, "the export file was not written")
    return FileResponse(path, media_type="application/json", filename="my-data.json")


@router.post("/complaints", summary="Report a wrong tag, an unfair price or unwanted marketing")
def complain(request: Request, body: NewComplaint, pid: str = Pid) -> dict[str, Any]:
    svc = state_of(request).svc
    juris = "EU" if svc.manifest.jurisdictions == ["EU"] else "CN"
    return cmp.file_complaint(svc.store, svc.ledger, pid, body.kind, body.text,
                              jurisdiction=juris)


@router.get("/complaints", summary="My complaints and their answers")
def my_complaints(request: Request, pid: str = Pid) -> list[dict[str, Any]]:
    return cmp.list_complaints(state_of(request).svc.store, pid=pid)
