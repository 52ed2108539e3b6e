"""What the rules read: the manifest with its lines, the tag catalog and facts from the stores.

Everything here is plain data. :mod:`profileguard.audit.facts` gathers the facts from a
workspace (DuckDB warehouse, operational store, ledger); tests build them by hand. A fact
group that could not be gathered (no workspace, table missing) is ``None`` and the rules
that need it stay silent rather than guess.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from profileguard.audit.finding import Evidence
from profileguard.manifest.model import Manifest
from profileguard.manifest.yamlpos import Located
from profileguard.model.catalog import Catalog, build_catalog


@dataclass(frozen=True)
class SourceFacts:
    table: str
    rows: int
    oldest: dt.datetime | None = None
    newest: dt.datetime | None = None
    columns: tuple[str, ...] = ()


@dataclass(frozen=True)
class SnapshotFacts:
    id: int
    as_of: dt.datetime | None
    users: int
    #: purpose → users with at least one tag value of that purpose in the current build
    users_by_purpose: dict[str, int] = field(default_factory=dict)
    objectors_profiled: int = 0  # objected to profiling, still tagged (PIPL 44, GDPR 21)
    erased_profiled: int = 0  # tombstoned (erased), still tagged (PIPL 47)
    non_personalized_profiled: int = 0  # chose non-personalized, still has personalization tags
    withdrawn_profiled: dict[str, int] = field(default_factory=dict)  # purpose → users


@dataclass(frozen=True)
class ExportFacts:
    id: int
    kind: str
    purpose: str | None
    recipient: str | None
    rows: int
    minors: int = 0
    objectors: int = 0


@dataclass(frozen=True)
class WarehouseFacts:
    sources: dict[str, SourceFacts] = field(default_factory=dict)
    users_with_birth_date: int = 0
    under_14: int = 0
    under_18: int = 0
    aged_60_plus: int = 0
    quarantine: dict[str, int] = field(default_factory=dict)  # "source: reason" → rows
    snapshot: SnapshotFacts | None = None
    exports: list[ExportFacts] = field(default_factory=list)
    model_cards: list[dict[str, Any]] = field(default_factory=list)


@dataclass(frozen=True)
class ConsentCount:
    """Records in force (latest per user × purpose × recipient) with the same properties."""

    purpose: str
    recipient: str
    status: str
    consent_type: str
    pre_ticked: bool
    bundled: bool
    notice_version: str | None
    users: int


@dataclass(frozen=True)
class ConsentFacts:
    users_known: int
    in_force: list[ConsentCount] = field(default_factory=list)
    #: purpose → under-14 users whose record in force is a granted guardian consent
    under14_guardian: dict[str, int] = field(default_factory=dict)
    #: purpose → under-14 users whose record in force is granted but not by a guardian
    under14_self_granted: dict[str, int] = field(default_factory=dict)
    objectors: int = 0
    non_personalized: int = 0

    def granted(self, purpose: str, recipient: str = "") -> list[ConsentCount]:
        return [c for c in self.in_force if c.purpose == purpose and c.recipient == recipient
                and c.status == "granted"]

    def records(self, purpose: str) -> int:
        return sum(c.users for c in self.in_force if c.purpose == purpose)


@dataclass(frozen=True)
class RequestFact:
    id: int
    kind: str
    state: str
    jurisdiction: str
    received_at: dt.datetime
    due: dt.datetime
    extended: bool
    refusal_reason: str | None


@dataclass(frozen=True)
class RightsFacts:
    total: int = 0
    by_kind_state: dict[str, int] = field(default_factory=dict)  # "kind/state" → n
    open_or_refused: list[RequestFact] = field(default_factory=list)


@dataclass(frozen=True)
class LedgerFacts:
    ok: bool
    entries: int
    damage: str | None = None


@dataclass(frozen=True)
class IncidentFact:
    id: int
    title: str
    state: str
    detected_at: dt.datetime
    record: dict[str, Any] = field(default_factory=dict)


@dataclass
class AuditContext:
    manifest: Manifest
    manifest_path: str = "profileguard.yaml"
    located: Located | None = None
    as_of: dt.date = field(default_factory=dt.date.today)
    catalog: Catalog | None = None
    warehouse: WarehouseFacts | None = None
    consent: ConsentFacts | None = None
    rights: RightsFacts | None = None
    ledger: LedgerFacts | None = None
    incidents: list[IncidentFact] | None = None

    def __post_init__(self) -> None:
        if self.catalog is None:
            self.catalog = build_catalog(self.manifest)

    @property
    def tags(self) -> Catalog:
        assert self.catalog is not None
        return self.catalog

    def line(self, *path: str | int) -> int | None:
        """1-based line of a manifest key (its nearest written parent when it is absent)."""
        if self.located is None:
            return None
        return self.located.where(tuple(path), key=True)[0]

    def at(self, *path: str | int, detail: str = "") -> Evidence:
        """Evidence pointing at a manifest key."""
        dotted = ".".join(str(x) for x in path)
        return Evidence("manifest", detail or dotted, self.manifest_path, self.line(*path))
