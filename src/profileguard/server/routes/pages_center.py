"""The privacy center (``/me``): plain HTML forms, no script. Every form carries a CSRF
token bound to the session; every action is the same call the subject API makes."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import FileResponse, RedirectResponse, Response

from profileguard.server import complaints as cmp
from profileguard.server import consents, desk
from profileguard.server.access import SUBJECT_COOKIE, subject, subject_pid
from profileguard.server.errors import ApiError
from profileguard.server.i18n import pick
from profileguard.server.people import pending_tags, visible_profile
from profileguard.server.recs import recommend_for
from profileguard.server.routes import api_me
from profileguard.server.schemas import ConsentChange, Switches, TagCorrection, TagDeletion
from profileguard.server.state import state_of
from profileguard.server.tokens import SUBJECT_SESSION
from profileguard.server.web import back, page

router = APIRouter(include_in_schema=False)


def _csrf(request: Request, *, csrf: str = Form("")) -> None:
    session = request.cookies.get(SUBJECT_COOKIE, "")
    if not request.app.state.signer.csrf_ok(session, csrf):
        raise ApiError(403, "this form has expired; reload the page and try again")


Checked = Depends(_csrf)


@router.get("/login")
def login(request: Request, *, token: str = "") -> Response:
    state = state_of(request)
    if not token:
        return page(request, "login.html")
    pid = request.app.state.signer.subject_of(token, state.settings.token_max_age_s)
    if pid is None or state.svc.store.user_id_for(pid) is None:
        raise ApiError(401, "this login link is invalid or has expired; ask for a new one")
    response = RedirectResponse("/me", status_code=303)
    response.set_cookie(SUBJECT_COOKIE, request.app.state.signer.dumps(SUBJECT_SESSION,
                                                                       {"pid": pid}),
                        max_age=state.settings.session_max_age_s, httponly=True,
                        samesite="lax", secure=state.settings.secure_cookies)
    return response


@router.post("/logout")
def logout(request: Request, *, _: None = Checked) -> Response:
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(SUBJECT_COOKIE)
    return response


@router.get("/me")
def center(request: Request) -> Response:
    pid = subject_pid(request)
    if pid is None:
        return RedirectResponse("/login", status_code=303)
    pid = subject(request, None)
    state = state_of(request)
    svc = state.svc
    lang = pick(request)
    pref = svc.book.preference(pid)
    ctx: dict[str, Any] = {
        "csrf": request.app.state.signer.csrf_for(request.cookies.get(SUBJECT_COOKIE, "")),
        "user_id": svc.store.user_id_for(pid) or pid,
        "switches": [
            {"name": "stop_profiling", "on": pref.objected, "label": "stop_profiling",
             "help": "stop_profiling_help"},
            {"name": "non_personalized", "on": pref.non_personalized,
             "label": "non_personalized", "help": "non_personalized_help"}],
        "objected": pref.objected, "awaiting": pending_tags(svc, pid),
        "tags": visible_profile(svc, pid, lang),
        "recs": recommend_for(state, pid, "personalized", 6),
        "consents": consents.consent_view(svc, pid),
        "requests": [desk.as_dict(r, with_result=False)
                     for r in reversed(desk.server_desk(svc).list(user_pid=pid))],
        "complaints": cmp.list_complaints(svc.store, pid=pid),
    }
    return page(request, "center.html", **ctx)


@router.post("/me/switches")
def switches(request: Request, *, stop_profiling: str | None = Form(None),
             non_personalized: str | None = Form(None), _: None = Checked,
             pid: Annotated[str, Depends(subject)]) -> Response:
    body = Switches(
        stop_profiling=None if stop_profiling is None else stop_profiling == "on",
        non_personalized=None if non_personalized is None else non_personalized == "on")
    api_me.put_switches(request, body, pid)
    return back("/me", "switches")


@router.post("/me/tags/{tag}/correct")
def correct(request: Request, *, tag: str, value: str = Form(...), _: None = Checked,
            pid: Annotated[str, Depends(subject)]) -> Response:
    api_me.correct_tag(request, tag, TagCorrection(value=value), pid)
    return back("/me", "tags")


@router.post("/me/tags/{tag}/delete")
def delete(request: Request, *, tag: str, _: None = Checked, pid: Annotated[str, Depends(subject)]
           ) -> Response:
    api_me.delete_tag(request, tag, TagDeletion(), pid)
    return back("/me", "tags")


@router.post("/me/consents/{purpose}/{action}")
def consent(request: Request, *, purpose: str, action: str, recipient: str = Form(""),
            _: None = Checked, pid: Annotated[str, Depends(subject)]) -> Response:
    if action not in ("grant", "withdraw"):
        raise ApiError(404, "use grant or withdraw")
    body = ConsentChange(recipient=recipient or None)
    (api_me.grant if action == "grant" else api_me.withdraw)(request, purpose, body, pid)
    return back("/me", "consents")


@router.get("/me/export")
def export(request: Request, *, pid: Annotated[str, Depends(subject)]) -> FileResponse:
    return api_me.export(request, pid)


@router.post("/me/delete")
def erase(request: Request, *, confirm: str = Form(""), _: None = Checked,
          pid: Annotated[str, Depends(subject)]) -> Response:
    if confirm != "yes":
        raise ApiError(400, "tick the box to confirm that your data is to be erased")
    desk.submit(state_of(request).svc, pid, "delete", {}, evidence={"session_pid": pid},
                actor="subject")
    return back("/me", "requests")


@router.post("/me/complaints")
def complain(request: Request, *, kind: str = Form(...), text: str = Form(...),
             _: None = Checked, pid: Annotated[str, Depends(subject)]) -> Response:
    svc = state_of(request).svc
    juris = "EU" if svc.manifest.jurisdictions == ["EU"] else "CN"
    cmp.file_complaint(svc.store, svc.ledger, pid, kind, text, jurisdiction=juris)
    return back("/me", "complain")
