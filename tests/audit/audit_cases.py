"""Small manifests and facts for the rule tests: the compliant demo manifest, mutated.

Each case mutates a fresh copy of the compliant manifest (as YAML data) and of a set of
clean workspace facts; the rule under test must fire on the ``bad`` mutation and stay
silent on the ``good`` one.
"""

from __future__ import annotations

import copy
import dataclasses
import datetime as dt
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from importlib import resources
from typing import Any

import yaml

from profileguard.audit.context import (
    AuditContext,
    ConsentCount,
    ConsentFacts,
    IncidentFact,
    LedgerFacts,
    RequestFact,
    RightsFacts,
    SnapshotFacts,
    SourceFacts,
    WarehouseFacts,
)
from profileguard.manifest import Manifest, parse_manifest
from profileguard.manifest.checks import check
from profileguard.model.catalog import Catalog, build_catalog

AS_OF = dt.date(2026, 11, 1)
UTC = dt.UTC


def compliant_doc() -> dict[str, Any]:
    text = resources.files("profileguard.demo").joinpath("manifests", "profileguard.yaml")
    data: dict[str, Any] = yaml.safe_load(text.read_text("utf-8"))
    return data


_BASE = compliant_doc()
CONSENT_PURPOSES = [p for p, d in _BASE["purposes"].items() if d["basis"] == "consent"]


@dataclass
class World:
    doc: dict[str, Any]
    warehouse: WarehouseFacts | None
    consent: ConsentFacts | None
    rights: RightsFacts | None = field(default_factory=RightsFacts)
    ledger: LedgerFacts | None = field(default_factory=lambda: LedgerFacts(True, 10))
    incidents: list[IncidentFact] = field(default_factory=list)

    def wh(self, **changes: Any) -> None:
        assert self.warehouse is not None
        self.warehouse = dataclasses.replace(self.warehouse, **changes)

    def snap(self, **changes: Any) -> None:
        assert self.warehouse is not None and self.warehouse.snapshot is not None
        self.wh(snapshot=dataclasses.replace(self.warehouse.snapshot, **changes))

    def tag(self, name: str) -> dict[str, Any]:
        return next(t for t in self.doc["tags"] if t["name"] == name)

    def context(self, *, lines: bool = False) -> AuditContext:
        """The context; ``lines=True`` goes through YAML and the loader (slow, pure-Python
        YAML) to get line numbers, otherwise the data is validated by the same model and
        cross-reference checks."""
        if lines:
            manifest, located = parse_manifest(yaml.safe_dump(self.doc, allow_unicode=True),
                                               "profileguard.yaml")
        else:
            problems = list(check(self.doc))
            assert not problems, problems
            manifest, located = Manifest.model_validate(self.doc), None
        return AuditContext(manifest, "profileguard.yaml", located, AS_OF,
                            catalog=_catalog(manifest),
                            warehouse=self.warehouse, consent=self.consent, rights=self.rights,
                            ledger=self.ledger, incidents=self.incidents)


_CATALOGS: dict[str, Catalog] = {}


def _catalog(m: Manifest) -> Catalog:
    """The tag catalog, cached by what it depends on (tags, fields, separate consents,
    jurisdictions): parsing the tags' SQL is the slow part of a context."""
    key = json.dumps([m.model_dump(mode="json", include={"tags", "fields"}),
                      m.consent.model_dump(mode="json", include={"separate"}),
                      m.jurisdictions], sort_keys=True)
    if key not in _CATALOGS:
        _CATALOGS[key] = build_catalog(m)
    return _CATALOGS[key]


def world(eu: bool = False) -> World:
    doc = copy.deepcopy(_BASE)
    if eu:
        doc["organization"]["jurisdictions"] = ["CN", "EU"]
    grants = [ConsentCount(p, "", "granted", "general", False, False, "2025.2", 60)
              for p in CONSENT_PURPOSES if p != "advertising"]
    grants.append(ConsentCount("advertising", "AdNet Ltd", "granted", "separate", False, False,
                               "2025.2", 40))
    wh = WarehouseFacts(
        sources={"orders": SourceFacts("orders", 100, dt.datetime(2025, 1, 5),
                                       dt.datetime(2026, 10, 30)),
                 "events": SourceFacts("events", 900, dt.datetime(2025, 6, 1),
                                       dt.datetime(2026, 10, 31))},
        users_with_birth_date=100, under_14=0, under_18=0, aged_60_plus=6,
        snapshot=SnapshotFacts(1, dt.datetime(2026, 11, 1), 100, {"personalization": 60}),
    )
    return World(doc, wh, ConsentFacts(100, grants))


Mutation = Callable[[World], None]


def request(rid: int, state: str, received: dt.date, *, jurisdiction: str = "CN",
            reason: str | None = None, extended: bool = False) -> RequestFact:
    at = dt.datetime.combine(received, dt.time(), tzinfo=UTC)
    return RequestFact(rid, "access", state, jurisdiction, at, at + dt.timedelta(days=15),
                       extended, reason)


def incident(record: dict[str, Any], detected: dt.datetime) -> IncidentFact:
    return IncidentFact(1, "orders export leaked", "open", detected, record)
