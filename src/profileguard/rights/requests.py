"""Data-subject requests as a workflow: received → verifying → in_progress → done | refused.

Kinds (PIPL 44–48, GDPR 15–22, ECL 24): ``access``, ``export``, ``correct``,
``delete_tag``, ``delete``, ``object``, ``withdraw``, ``explain``. The desk enforces the
allowed transitions, computes the deadline from the jurisdiction (:mod:`.deadlines`),
records a GDPR extension only with its notice, refuses to refuse without a reason
(PIPL 50), asks an identity-verification hook before any work starts, and writes every
state change to the ledger in the same transaction as the change.

What each kind does to the warehouse is not here: attach a handler per kind
(``desk.register("delete", erase_user)``); :meth:`RightsDesk.run` calls it and stores its
result. The ledger records the result's digest, not its content.
"""

from __future__ import annotations

import builtins
import datetime as dt
import hashlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from profileguard.errors import ProfileguardError
from profileguard.rights.deadlines import DeadlineRules, normalize_jurisdiction
from profileguard.store import tables as t
from profileguard.store.ledger import Ledger, canonical_json
from profileguard.store.operational import OperationalStore, as_utc, utcnow

KINDS = ("access", "export", "correct", "delete_tag", "delete", "object", "withdraw", "explain")
STATES = ("received", "verifying", "in_progress", "done", "refused")
FINAL = frozenset({"done", "refused"})
TRANSITIONS: Mapping[str, frozenset[str]] = {
    "received": frozenset({"verifying", "refused"}),
    "verifying": frozenset({"in_progress", "refused"}),
    "in_progress": frozenset({"done", "refused"}),
    "done": frozenset(),
    "refused": frozenset(),
}


@dataclass(frozen=True)
class RightsRequest:
    id: int
    user_pid: str
    kind: str
    state: str
    jurisdiction: str
    received_at: dt.datetime
    deadline: dt.datetime
    extended_until: dt.datetime | None
    extension_notice: str | None
    refusal_reason: str | None
    details: dict[str, Any] | None
    result: dict[str, Any] | None
    updated_at: dt.datetime
    completed_at: dt.datetime | None

    @property
    def due(self) -> dt.datetime:
        """The deadline in force (the extended one when extended)."""
        return self.extended_until or self.deadline

    def is_overdue(self, at: dt.datetime) -> bool:
        return self.state not in FINAL and as_utc(at) > self.due


@dataclass(frozen=True)
class Verification:
    """What the identity-verification hook found."""

    verified: bool
    method: str
    note: str = ""


Verifier = Callable[[RightsRequest, Mapping[str, Any]], Verification]
Handler = Callable[[RightsRequest], Mapping[str, Any]]


def _digest(value: Any) -> str | None:
    if value is None:
        return None
    return hashlib.sha256(canonical_json(value).encode("utf-8")).hexdigest()


def _request(row: Mapping[Any, Any]) -> RightsRequest:
    def opt(v: dt.datetime | None) -> dt.datetime | None:
        return None if v is None else as_utc(v)

    return RightsRequest(
        id=int(row["id"]), user_pid=str(row["user_pid"]), kind=str(row["kind"]),
        state=str(row["state"]), jurisdiction=str(row["jurisdiction"]),
        received_at=as_utc(row["received_at"]), deadline=as_utc(row["deadline"]),
        extended_until=opt(row["extended_until"]), extension_notice=row["extension_notice"],
        refusal_reason=row["refusal_reason"], details=row["details"], result=row["result"],
        updated_at=as_utc(row["updated_at"]), completed_at=opt(row["completed_at"]),
    )


class RightsDesk:
    """The rights-request queue of one operational store."""

    def __init__(
        self,
        store: OperationalStore,
        *,
        ledger: Ledger | None = None,
        rules: DeadlineRules | None = None,
        verifier: Verifier | None = None,
        handlers: Mapping[str, Handler] | None = None,
    ) -> None:
        self.store = store
        self.ledger = ledger or Ledger(store)
        self.rules = rules or DeadlineRules()
        self.verifier = verifier
        self.handlers: dict[str, Handler] = {}
        for kind, fn in (handlers or {}).items():
            self.register(kind, fn)

    def register(self, kind: str, handler: Handler) -> None:
        """Attach the function that does the work of requests of ``kind``."""
        _check_kind(kind)
        self.handlers[kind] = handler

    # -- the workflow -------------------------------------------------------------------

    def open(
        self,
        user_pid: str,
        kind: str,
        *,
        jurisdiction: str = "CN",
        details: Mapping[str, Any] | None = None,
        received_at: dt.datetime | None = None,
        actor: str = "system",
    ) -> RightsRequest:
        _check_kind(kind)
        code = normalize_jurisdiction(jurisdiction)
        received = as_utc(received_at) if received_at else utcnow()
        deadline = self.rules.initial(code, received)
        values = {
            "user_pid": user_pid, "kind": kind, "state": "received", "jurisdiction": code,
            "received_at": received, "deadline": deadline,
            "details": dict(details) if details else None, "updated_at": utcnow(),
        }
        with self.store.write() as conn:
            new_id = int(conn.execute(t.rights_requests.insert().values(**values)
                                      .returning(t.rights_requests.c.id)).scalar_one())
            self.ledger.append("rights.received", actor, user_pid, {
                "request_id": new_id, "kind": kind, "jurisdiction": code,
                "received_at": received.isoformat(), "deadline": deadline.isoformat(),
                "details_sha256": _digest(values["details"]),
            }, conn=conn)
        return self.get(new_id)

    def start_verification(self, request_id: int, *, actor: str = "system") -> RightsRequest:
        return self._move(request_id, "verifying", actor, {}, {})

    def verify(
        self,
        request_id: int,
        evidence: Mapping[str, Any] | None = None,
        *,
        actor: str = "system",
    ) -> RightsRequest:
        """Run the identity check; on success the request moves to ``in_progress``.

        A failed check is recorded in the ledger and the request stays ``verifying`` (ask
        again, or refuse with a reason).
        """
        if self.verifier is None:
            raise ProfileguardError(
                "no identity-verification hook is configured; pass verifier= to RightsDesk "
                "(a request cannot be worked on before the requester is verified)"
            )
        request = self.get(request_id)
        if request.state == "received":
            request = self.start_verification(request_id, actor=actor)
        outcome = self.verifier(request, dict(evidence or {}))
        if not outcome.verified:
            self.ledger.append("rights.verification_failed", actor, request.user_pid, {
                "request_id": request_id, "method": outcome.method,
            })
            return self.get(request_id)
        return self._move(request_id, "in_progress", actor, {},
                          {"verified_by": outcome.method})

    def run(self, request_id: int, *, actor: str = "system") -> RightsRequest:
        """Call the handler of the request's kind and complete the request with its result."""
        request = self.get(request_id)
        if request.state != "in_progress":
            raise ProfileguardError(
                f"rights request {request_id} is {request.state}; only in_progress requests "
                "are worked on (verify the requester first)"
            )
        handler = self.handlers.get(request.kind)
        if handler is None:
            raise ProfileguardError(
                f"no handler is registered for {request.kind!r} requests; registered: "
                f"{', '.join(sorted(self.handlers)) or 'none'}"
            )
        try:
            result = dict(handler(request))
        except Exception as exc:
            self.ledger.append("rights.handler_failed", actor, request.user_pid, {
                "request_id": request_id, "error": type(exc).__name__,
            })
            raise
        return self.complete(request_id, result, actor=actor)

    def complete(
        self, request_id: int, result: Mapping[str, Any], *, actor: str = "system"
    ) -> RightsRequest:
        now = utcnow()
        return self._move(request_id, "done", actor,
                          {"result": dict(result), "completed_at": now},
                          {"result_sha256": _digest(dict(result))})

    def refuse(self, request_id: int, reason: str, *, actor: str = "system") -> RightsRequest:
        """Refuse with the reason the person is told (PIPL 50: a refusal states why)."""
        if not reason or not reason.strip():
            raise ProfileguardError(
                f"refusing rights request {request_id} needs a reason the person is told "
                "(PIPL 50, GDPR 12(4)); pass a non-empty reason"
            )
        return self._move(request_id, "refused", actor,
                          {"refusal_reason": reason.strip(), "completed_at": utcnow()},
                          {"reason_sha256": _digest(reason.strip())})

    def extend(
        self,
        request_id: int,
        notice: str,
        *,
        until: dt.datetime | None = None,
        actor: str = "system",
    ) -> RightsRequest:
        """Extend the deadline once, with the notice sent to the person (GDPR 12(3))."""
        if not notice or not notice.strip():
            raise ProfileguardError(
                f"extending rights request {request_id} needs the notice telling the person "
                "why (GDPR 12(3)); pass a non-empty notice"
            )
        with self.store.write() as conn:
            request = self._locked(conn, request_id)
            if request.state in FINAL:
                raise ProfileguardError(f"rights request {request_id} is {request.state}; "
                                        "only open requests can be extended")
            if request.extended_until is not None:
                raise ProfileguardError(
                    f"rights request {request_id} was already extended to "
                    f"{request.extended_until.isoformat()}; a deadline is extended only once"
                )
            if utcnow() > request.deadline:
                raise ProfileguardError(
                    f"rights request {request_id} passed its deadline "
                    f"{request.deadline.isoformat()}; the extension notice must be sent "
                    "before it (GDPR 12(3): within one month)"
                )
            limit = self.rules.latest_extension(request.jurisdiction, request.received_at)
            target = as_utc(until) if until else limit
            if target > limit or target <= request.deadline:
                raise ProfileguardError(
                    f"rights request {request_id}: extension to {target.isoformat()} is not "
                    f"allowed; it must be after {request.deadline.isoformat()} and no later "
                    f"than {limit.isoformat()}"
                )
            conn.execute(t.rights_requests.update().where(t.rights_requests.c.id == request_id)
                         .values(extended_until=target, extension_notice=notice.strip(),
                                 updated_at=utcnow()))
            self.ledger.append("rights.extended", actor, request.user_pid, {
                "request_id": request_id, "until": target.isoformat(),
                "notice_sha256": _digest(notice.strip()),
            }, conn=conn)
        return self.get(request_id)

    # -- queries ------------------------------------------------------------------------

    def get(self, request_id: int) -> RightsRequest:
        with self.store.read() as conn:
            row = conn.execute(
                sa.select(t.rights_requests).where(t.rights_requests.c.id == request_id)
            ).first()
        if row is None:
            raise ProfileguardError(f"rights request {request_id} does not exist")
        return _request(row._mapping)

    def list(
        self,
        *,
        state: str | None = None,
        kind: str | None = None,
        user_pid: str | None = None,
    ) -> builtins.list[RightsRequest]:
        r = t.rights_requests.c
        stmt = sa.select(t.rights_requests).order_by(r.received_at, r.id)
        if state is not None:
            stmt = stmt.where(r.state == state)
        if kind is not None:
            stmt = stmt.where(r.kind == kind)
        if user_pid is not None:
            stmt = stmt.where(r.user_pid == user_pid)
        with self.store.read() as conn:
            return [_request(row._mapping) for row in conn.execute(stmt)]

    def overdue(self, at: dt.datetime | None = None) -> builtins.list[RightsRequest]:
        """Open requests past their deadline in force, most overdue first."""
        when = as_utc(at) if at else utcnow()
        r = t.rights_requests.c
        due = sa.func.coalesce(r.extended_until, r.deadline)
        stmt = (sa.select(t.rights_requests)
                .where(r.state.not_in(sorted(FINAL)), due < when).order_by(due, r.id))
        with self.store.read() as conn:
            return [_request(row._mapping) for row in conn.execute(stmt)]

    # -- internals ----------------------------------------------------------------------

    def _locked(self, conn: sa.Connection, request_id: int) -> RightsRequest:
        row = conn.execute(
            sa.select(t.rights_requests).where(t.rights_requests.c.id == request_id)
            .with_for_update()
        ).first()
        if row is None:
            raise ProfileguardError(f"rights request {request_id} does not exist")
        return _request(row._mapping)

    def _move(
        self,
        request_id: int,
        to: str,
        actor: str,
        updates: Mapping[str, Any],
        ledger_extra: Mapping[str, Any],
    ) -> RightsRequest:
        with self.store.write() as conn:
            request = self._locked(conn, request_id)
            if to not in TRANSITIONS[request.state]:
                allowed = ", ".join(sorted(TRANSITIONS[request.state])) or "none (final)"
                raise ProfileguardError(
                    f"rights request {request_id} cannot go from {request.state} to {to}; "
                    f"allowed from {request.state}: {allowed}"
                )
            conn.execute(t.rights_requests.update().where(t.rights_requests.c.id == request_id)
                         .values(state=to, updated_at=utcnow(), **updates))
            self.ledger.append(f"rights.{to}", actor, request.user_pid, {
                "request_id": request_id, "kind": request.kind, "from": request.state,
                "to": to, **ledger_extra,
            }, conn=conn)
        return self.get(request_id)


def _check_kind(kind: str) -> None:
    if kind not in KINDS:
        raise ProfileguardError(f"rights request kind {kind!r} is not known; use one of "
                                f"{', '.join(KINDS)}")
