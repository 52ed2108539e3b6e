"""Staff API about one person: profile (with a stated purpose, ledgered), consent check,
recommendations. Merchants see only their own shop's customers, for their purposes.

These are the hot reads, so they run on the event loop: their operational-store reads are
short (inline on SQLite, on a thread for PostgreSQL), the warehouse is read on a thread
(:mod:`profileguard.server.people`), and a read waits for its ledger entry without holding
a thread (the worker's ledger writer commits the entries of concurrent reads together)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request, Response
from fastapi.encoders import jsonable_encoder
from starlette.concurrency import run_in_threadpool

from profileguard.server.access import staff
from profileguard.server.answers import json_answer, text_answer
from profileguard.server.keys import StaffKey
from profileguard.server.people import from_store, staff_person, staff_profile
from profileguard.server.recs import recommend_for
from profileguard.server.schemas import Lang, Mode
from profileguard.server.state import state_of

router = APIRouter(prefix="/api/users", tags=["staff: people"])
PERSON_ROLES = ("platform_admin", "merchant", "dpo")
PurposeQ = Query(..., min_length=1, max_length=64,
                 description="why you read this person's data (written to the ledger)")


@router.get("/{user}/profile", response_model=dict[str, Any],
            summary="A person's tags for one stated purpose (ledgered)")
async def profile(request: Request, *, user: str, purpose: str = PurposeQ,
                  lang: Lang = "zh",
                  key: Annotated[StaffKey, Depends(staff(*PERSON_ROLES))]) -> Response:
    state = state_of(request)
    return text_answer(await staff_profile(state.svc, state.ledger, key, user, purpose,
                                           lang, "profile"))


@router.get("/{user}/consent", response_model=dict[str, Any],
            summary="May this purpose use this person's data now?")
async def consent_check(request: Request, *, user: str, purpose: str = PurposeQ,
                        recipient: str | None = Query(None, max_length=128),
                        key: Annotated[StaffKey, Depends(staff(*PERSON_ROLES))]) -> Response:
    svc = state_of(request).svc
    pid = await staff_person(svc, key, user, purpose)
    decision = await from_store(svc, svc.book.allows, pid, purpose,
                                recipient=recipient or None)
    return json_answer({"user": pid, "purpose": purpose, "recipient": recipient,
                        "allowed": decision.allowed, "reason": decision.reason})


@router.get("/{user}/recommendations", response_model=dict[str, Any],
            summary="Recommendations for a person (guarded, ledgered)")
async def recommendations(request: Request, *, user: str, mode: Mode = "personalized",
                          n: int = Query(10, ge=1, le=50),
                          key: Annotated[StaffKey, Depends(staff(*PERSON_ROLES))]
                          ) -> Response:
    state = state_of(request)
    svc = state.svc
    rec_cfg = svc.manifest.applications.recommendation
    purpose = rec_cfg.purpose if rec_cfg else "personalization"
    pid = await staff_person(svc, key, user, purpose)
    out = await run_in_threadpool(recommend_for, state, pid, mode, n)  # reads the warehouse
    if out["mode"] == "personalized":
        await state.ledger.append_async("profile.read", key.actor, pid, {
            "purpose": purpose, "endpoint": "recommendations", "items": len(out["items"])})
    return json_answer(jsonable_encoder(out))
