"""Staff API about one person: profile (with a stated purpose, ledgered), consent check,
recommendations. Merchants see only their own shop's customers, for their purposes."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request

from profileguard.server.access import staff
from profileguard.server.keys import StaffKey
from profileguard.server.people import staff_person, staff_profile
from profileguard.server.recs import recommend_for
from profileguard.server.schemas import Lang, Mode
from profileguard.server.state import state_of

router = APIRouter(prefix="/api/users", tags=["staff: people"])
PERSON_ROLES = ("platform_admin", "merchant", "dpo")
PurposeQ = Query(..., min_length=1, max_length=64,
                 description="why you read this person's data (written to the ledger)")


@router.get("/{user}/profile", summary="A person's tags for one stated purpose (ledgered)")
def profile(request: Request, *, user: str, purpose: str = PurposeQ, lang: Lang = "zh",
            key: Annotated[StaffKey, Depends(staff(*PERSON_ROLES))]) -> dict[str, Any]:
    return staff_profile(state_of(request).svc, key, user, purpose, lang, "profile")


@router.get("/{user}/consent", summary="May this purpose use this person's data now?")
def consent_check(request: Request, *, user: str, purpose: str = PurposeQ,
                  recipient: str | None = Query(None, max_length=128),
                  key: Annotated[StaffKey, Depends(staff(*PERSON_ROLES))]) -> dict[str, Any]:
    svc = state_of(request).svc
    pid = staff_person(svc, key, user, purpose)
    decision = svc.book.allows(pid, purpose, recipient=recipient or None)
    return {"user": pid, "purpose": purpose, "recipient": recipient,
            "allowed": decision.allowed, "reason": decision.reason}


@router.get("/{user}/recommendations", summary="Recommendations for a person (guarded, ledgered)")
def recommendations(request: Request, *, user: str, mode: Mode = "personalized",
                    n: int = Query(10, ge=1, le=50),
                    key: Annotated[StaffKey, Depends(staff(*PERSON_ROLES))]) -> dict[str, Any]:
    state = state_of(request)
    svc = state.svc
    rec_cfg = svc.manifest.applications.recommendation
    purpose = rec_cfg.purpose if rec_cfg else "personalization"
    pid = staff_person(svc, key, user, purpose)
    out = recommend_for(state, pid, mode, n)
    if out["mode"] == "personalized":
        svc.ledger.append("profile.read", key.actor, pid, {
            "purpose": purpose, "endpoint": "recommendations", "items": len(out["items"])})
    return out
