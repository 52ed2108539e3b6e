"""Audiences (人群圈选): who matches a selection, and what each guard removed.

``select_audience(svc, AudienceSpec(expression, purpose, recipient))`` compiles the
criteria (:mod:`profileguard.apply.criteria` — sensitive and sensitive-inferring tags are
refused there), then runs one query over the current wide snapshot joined with the guard
table (:mod:`profileguard.apply.audience_guards`). Each matched user is removed by the
first guard they fail, in this order, and the counts are reported per guard:

1. ``objection`` — objected to profiling / direct marketing (PIPL 44, GDPR 21);
2. ``consent`` — no consent in force for the purpose (PIPL 13/14/15; ADV 43 for marketing);
3. ``recipient_consent`` — no separate consent for this recipient when it needs one
   (PIPL 23 for an independent controller, PIPL 39 abroad);
4. ``minor`` — under 18, for automated marketing purposes (MINOR 24, ALG 18).

An audience smaller than the minimum size (manifest ``advertising.min_audience``,
default 50) is refused: it would single people out.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from profileguard.apply.audience_guards import GuardTable, guard_table
from profileguard.apply.criteria import Criteria, compile_criteria
from profileguard.apply.guards import Rule
from profileguard.errors import ProfileguardError
from profileguard.model.snapshot import SnapshotInfo, current

if TYPE_CHECKING:
    from profileguard.pipeline.services import Services

DEFAULT_MIN_AUDIENCE = 50
GUARDS: tuple[tuple[str, str, str, str], ...] = (
    ("objection", "PIPL", "44", "objected to profiling or direct marketing (GDPR 21)"),
    ("consent", "PIPL", "13", "no consent in force for the purpose"),
    ("recipient_consent", "PIPL", "23", "no separate consent for this recipient"),
    ("minor", "MINOR", "24", "under 18: no automated commercial marketing (ALG 18)"),
)


@dataclass(frozen=True)
class AudienceSpec:
    expression: str
    purpose: str
    recipient: str | None = None
    min_size: int | None = None


@dataclass
class AudienceResult:
    spec: AudienceSpec
    snapshot: int
    criteria: Criteria
    matched: int
    removed: dict[str, int]
    size: int
    min_size: int
    refusal: Rule | None = None
    members: list[str] = field(default_factory=list)
    guard: GuardTable | None = None

    @property
    def refused(self) -> bool:
        return self.refusal is not None

    def as_dict(self) -> dict[str, Any]:
        return {
            "expression": self.spec.expression, "purpose": self.spec.purpose,
            "recipient": self.spec.recipient, "snapshot": self.snapshot,
            "criteria_tags": list(self.criteria.tags), "matched": self.matched,
            "removed": [{"guard": g, "law": law, "article": art, "why": why,
                         "users": self.removed[g]} for g, law, art, why in GUARDS],
            "size": self.size, "min_size": self.min_size,
            "refused": self.refusal.as_dict() if self.refusal else None,
        }


def min_audience(svc: Services, spec: AudienceSpec) -> int:
    if spec.min_size is not None:
        return max(spec.min_size, 1)
    ads = svc.manifest.applications.advertising
    return max(ads.min_audience if ads is not None else DEFAULT_MIN_AUDIENCE, 1)


def check_recipient(svc: Services, spec: AudienceSpec) -> None:
    """A recipient must be declared, for this purpose (PIPL 21/23)."""
    if not spec.recipient:
        return
    rec = svc.manifest.recipient(spec.recipient)
    if rec is None:
        names = ", ".join(r.name for r in svc.manifest.recipients) or "none declared"
        raise ProfileguardError(f"recipient {spec.recipient!r} is not declared in the "
                                f"manifest's recipients (PIPL 23); declared: {names}")
    if spec.purpose not in rec.purposes:
        raise ProfileguardError(f"recipient {spec.recipient!r} is declared for "
                                f"{', '.join(rec.purposes) or 'no purpose'}, not for "
                                f"{spec.purpose!r} (PIPL 23: purpose stated to the person)")


def _snapshot(svc: Services) -> SnapshotInfo:
    snap = current(svc.engine)
    if snap is None:
        raise ProfileguardError("no profile snapshot yet: run `profileguard build` first")
    return snap


def select_audience(svc: Services, spec: AudienceSpec, *, members: bool = False,
                    refresh: bool = False, at: dt.date | None = None) -> AudienceResult:
    """Size, per-guard removals and (with ``members``) the eligible pseudonymous ids."""
    if spec.purpose not in svc.manifest.purposes:
        raise ProfileguardError(f"purpose {spec.purpose!r} is not declared in the manifest; "
                                f"declared: {', '.join(svc.manifest.purposes)}")
    check_recipient(svc, spec)
    snap = _snapshot(svc)
    criteria = compile_criteria(svc.manifest, svc.catalog, svc.engine.columns(snap.wide),
                                spec.expression, spec.purpose, snap.as_of)
    guard = guard_table(svc, snap, spec.purpose, spec.recipient, refresh=refresh, at=at)
    counts, size = count_audience(svc, snap, guard, criteria)
    result = AudienceResult(spec, snap.id, criteria, counts.pop("matched"), counts, size,
                            min_audience(svc, spec), guard=guard)
    if size < result.min_size:
        result.refusal = Rule("min_audience", "PIPL", "24",
                              f"audience of {size} is below the minimum of {result.min_size}: "
                              "it could single people out")
    elif members:
        rows = svc.engine.query_rows(
            f'SELECT w.user_id FROM "{snap.wide}" w JOIN {guard.name} g USING (user_id) '
            f"WHERE g.eligible AND ({criteria.sql}) ORDER BY w.user_id")
        result.members = [str(r[0]) for r in rows]
    return result


def count_audience(svc: Services, snap: SnapshotInfo, guard: GuardTable, criteria: Criteria
                   ) -> tuple[dict[str, int], int]:
    """One query: matched, removed per guard (first failing guard), eligible size."""
    counts = """count(*),
               count(*) FILTER (WHERE g.objected),
               count(*) FILTER (WHERE NOT g.objected AND NOT g.consent),
               count(*) FILTER (WHERE NOT g.objected AND g.consent AND NOT g.recipient_consent),
               count(*) FILTER (WHERE NOT g.objected AND g.consent AND g.recipient_consent
                                AND g.minor),
               count(*) FILTER (WHERE g.eligible)"""
    row = svc.engine.query_rows(f"""
        SELECT {counts}, count(*) FILTER (WHERE g._rid IS DISTINCT FROM w.rowid)
        FROM "{snap.wide}" w POSITIONAL JOIN {guard.name} g
        WHERE ({criteria.sql})""")[0]
    if row[6]:  # rows moved since the guard table was written: join on the id instead
        row = svc.engine.query_rows(f"""
            SELECT {counts} FROM "{snap.wide}" w JOIN {guard.name} g USING (user_id)
            WHERE ({criteria.sql})""")[0]
    names = ["matched", *(g[0] for g in GUARDS)]
    return {n: int(v) for n, v in zip(names, row[:5], strict=True)}, int(row[5])
