"""A person's consents as the privacy center shows them, and one-click grant and withdraw.

Purposes that rest on consent are listed one per line; separate consents (PIPL 23 for a
third party, 29 for sensitive information, 39 abroad) are listed on their own, each with
its recipient. Granting and withdrawing are the same single action on the same page
(PIPL 15: withdrawing is no harder than giving), and both record the notice version, the
surface and the click counts, so the audit can prove it.
"""

from __future__ import annotations

from typing import Any

from profileguard.consent.decisions import ConsentRecord
from profileguard.manifest.model import Manifest
from profileguard.pipeline.services import Services
from profileguard.server.errors import ApiError

SURFACE = "privacy_center"


def separate_pairs(m: Manifest) -> list[tuple[str, str]]:
    """(purpose, recipient) pairs that need their own consent ('' = no recipient)."""
    pairs = [(s.purpose, s.recipient or "") for s in m.consent.separate]
    for r in m.recipients:
        if r.separate_consent:
            pairs += [(p, r.name) for p in r.purposes if (p, r.name) not in pairs]
    return pairs


def consent_purposes(m: Manifest) -> list[str]:
    return [name for name, p in m.purposes.items() if p.basis == "consent"]


def _status(rec: ConsentRecord | None) -> str:
    return rec.status if rec is not None else "not_given"


def consent_view(svc: Services, pid: str) -> dict[str, Any]:
    m = svc.manifest
    current = {(r.purpose, r.recipient): r for r in svc.book.in_force(pid)}

    def line(purpose: str, recipient: str) -> dict[str, Any]:
        rec = current.get((purpose, recipient))
        decl = m.purposes.get(purpose)
        return {"purpose": purpose, "recipient": recipient or None, "status": _status(rec),
                "granted": rec is not None and rec.status == "granted",
                "description": decl.description if decl else "",
                "since": rec.given_at.isoformat() if rec else None,
                "consent_type": rec.consent_type if rec else None}

    return {
        "purposes": [line(p, "") for p in consent_purposes(m)],
        "separate": [line(p, r) for p, r in separate_pairs(m)],
        "not_consent_based": [{"purpose": n, "basis": p.basis, "description": p.description}
                              for n, p in m.purposes.items() if p.basis != "consent"],
    }


def _check(svc: Services, purpose: str, recipient: str | None) -> str:
    m = svc.manifest
    decl = m.purposes.get(purpose)
    if decl is None:
        raise ApiError(404, f"purpose {purpose!r} is not declared; consent purposes: "
                       f"{', '.join(consent_purposes(m))}")
    if decl.basis != "consent":
        raise ApiError(400, f"purpose {purpose!r} rests on {decl.basis}, not on consent: there "
                       "is nothing to grant or withdraw (you may object or ask for deletion)")
    if recipient:
        if (purpose, recipient) not in separate_pairs(m):
            raise ApiError(400, f"recipient {recipient!r} does not receive data for {purpose!r}"
                           " under a separate consent")
        return "separate"
    return "separate" if (purpose, "") in separate_pairs(m) else "general"


def set_consent(svc: Services, pid: str, purpose: str, grant: bool,
                recipient: str | None = None) -> dict[str, Any]:
    ctype = _check(svc, purpose, recipient or None)
    common: dict[str, Any] = {"surface": SURFACE, "source": SURFACE, "actor": "subject",
                              "clicks_to_give": 1, "clicks_to_withdraw": 1,
                              "notice_version": (svc.manifest.notice.version
                                                 if svc.manifest.notice else None)}
    if grant:
        rec = svc.book.grant(pid, purpose, consent_type=ctype, recipient=recipient or None,
                             **common)
    else:
        rec = svc.book.withdraw(pid, purpose, recipient=recipient or None, **common)
    return {"purpose": rec.purpose, "recipient": rec.recipient or None, "status": rec.status,
            "given_at": rec.given_at.isoformat()}
