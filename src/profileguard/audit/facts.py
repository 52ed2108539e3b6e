"""Gather the audit context from a workspace: warehouse, operational store, ledger.

The only module of the auditor that does I/O. Everything is aggregated where the data
lives (DuckDB for the warehouse, SQL for the operational store), so a workspace of a
million users is read in seconds; only counts and small id lists come back to Python.
Nothing is written except temporary tables in the DuckDB session.
"""

from __future__ import annotations

import datetime as dt
import json
import time
from typing import Any

import pyarrow as pa
import sqlalchemy as sa

from profileguard.audit.context import (
    AuditContext,
    ConsentCount,
    ConsentFacts,
    ExportFacts,
    IncidentFact,
    LedgerFacts,
    RequestFact,
    RightsFacts,
    SnapshotFacts,
    SourceFacts,
    WarehouseFacts,
)
from profileguard.consent.decisions import PERSONALIZED_PURPOSES
from profileguard.manifest import LoadedManifest
from profileguard.manifest.model import Manifest
from profileguard.model import snapshot
from profileguard.pipeline.services import Services
from profileguard.store import tables as t
from profileguard.store.engine import DuckDBEngine
from profileguard.store.engine import quote_ident as q
from profileguard.store.ledger_verify import verify
from profileguard.store.operational import OperationalStore, as_utc

CHUNK = 5000
_BIRTHS = "_audit_births"


def gather_context(svc: Services, as_of: dt.date | None = None, *,
                   loaded: LoadedManifest | None = None,
                   timings: dict[str, float] | None = None) -> AuditContext:
    """Every fact the rules read, for the workspace of ``svc``.

    ``loaded`` audits another manifest over the same stores (the demo audits naive.yaml on
    the workspace the compliant manifest ingested). ``timings``, when given, receives the
    wall seconds of each fact group (``warehouse``, ``consent``, ``rights``, ``ledger``,
    ``incidents``), for the benchmark.
    """
    day = as_of or dt.date.today()
    loaded = loaded or svc.ws.loaded
    m = loaded.manifest
    engine = svc.engine
    store = svc.store
    clock = _Clock(timings)
    births = _load_births(engine, m, day)
    wh = _warehouse(engine, store, m, day, births)
    clock.lap("warehouse")
    consent = _consent(store, engine, births)
    clock.lap("consent")
    rights = _rights(store)
    clock.lap("rights")
    ledger = _ledger(svc)
    clock.lap("ledger")
    incidents = _incidents(store)
    clock.lap("incidents")
    return AuditContext(
        manifest=m, manifest_path=str(loaded.path), located=loaded.located, as_of=day,
        catalog=svc.catalog if loaded is svc.ws.loaded else None, warehouse=wh,
        consent=consent, rights=rights, ledger=ledger, incidents=incidents,
    )


class _Clock:
    def __init__(self, into: dict[str, float] | None) -> None:
        self.into = into
        self.last = time.perf_counter()

    def lap(self, name: str) -> None:
        now = time.perf_counter()
        if self.into is not None:
            self.into[name] = now - self.last
        self.last = now


# -- warehouse ------------------------------------------------------------------------


def _load_births(engine: DuckDBEngine, m: Manifest, day: dt.date) -> bool:
    """A temp table (user_pid, age) from the first stored birth-date column; False if none."""
    for name, src in m.sources.items():
        col = next((c for c, d in m.fields.get(name, {}).items()
                    if d.category == "user.demographic.date_of_birth" and d.transform == "none"),
                   None)
        if col and src.user and engine.table_exists(name) and col in engine.columns(name):
            engine.execute(
                f"CREATE OR REPLACE TEMP TABLE {_BIRTHS} AS SELECT CAST({q(src.user)} AS VARCHAR) "
                f"AS user_pid, date_diff('year', max({q(col)}), DATE '{day.isoformat()}') - "
                f"CASE WHEN strftime(max({q(col)}), '%m%d') > '{day:%m%d}' THEN 1 ELSE 0 END "
                f"AS age FROM {q(name)} WHERE {q(col)} IS NOT NULL GROUP BY 1")
            return True
    return False


def _warehouse(engine: DuckDBEngine, store: OperationalStore, m: Manifest, day: dt.date,
               births: bool) -> WarehouseFacts:
    sources: dict[str, SourceFacts] = {}
    for name, src in m.sources.items():
        if not engine.table_exists(name):
            continue
        cols = tuple(c for c in engine.columns(name) if c != "_file_id")
        if src.time and src.time in cols:
            n, lo, hi = engine.query_rows(
                f"SELECT count(*), min({q(src.time)}), max({q(src.time)}) FROM {q(name)}")[0]
        else:
            n, lo, hi = engine.query_rows(f"SELECT count(*), NULL, NULL FROM {q(name)}")[0]
        sources[name] = SourceFacts(name, int(n), _ts(lo), _ts(hi), cols)
    ages = (0, 0, 0, 0)
    if births:
        ages = engine.query_rows(
            f"SELECT count(*), count(*) FILTER (WHERE age < 14), count(*) FILTER (WHERE age < 18), "
            f"count(*) FILTER (WHERE age >= 60) FROM {_BIRTHS}")[0]
    quarantine: dict[str, int] = {}
    if engine.table_exists("pg_quarantine"):
        for src_name, reason, n in engine.query_rows(
                "SELECT source, reason, count(*) FROM pg_quarantine GROUP BY 1, 2 ORDER BY 1, 2"):
            quarantine[f"{src_name}: {reason}"] = int(n)
    snap, cards = _snapshot(engine, store)
    return WarehouseFacts(
        sources=sources, users_with_birth_date=int(ages[0]), under_14=int(ages[1]),
        under_18=int(ages[2]), aged_60_plus=int(ages[3]), quarantine=quarantine,
        snapshot=snap, exports=_exports(engine, store, births), model_cards=cards,
    )


def _ts(value: Any) -> dt.datetime | None:
    if value is None:
        return None
    if isinstance(value, dt.datetime):
        return value.replace(tzinfo=None)
    if isinstance(value, dt.date):
        return dt.datetime.combine(value, dt.time())
    return None


def _pids(engine: DuckDBEngine, name: str, pids: list[str]) -> None:
    engine.load_arrow(name, pa.table({"user_pid": pa.array(pids, pa.string())}), mode="replace")


def _snapshot(engine: DuckDBEngine, store: OperationalStore
              ) -> tuple[SnapshotFacts | None, list[dict[str, Any]]]:
    info = snapshot.current(engine)
    if info is None or not engine.table_exists(info.long):
        return None, []
    long = q(info.long)
    by_purpose = {str(p): int(n) for p, n in engine.query_rows(
        f"SELECT purpose, count(DISTINCT user_id) FROM {long} GROUP BY 1")}
    with store.read() as conn:
        pref = t.preferences.c
        objectors = [str(u) for u in conn.execute(
            sa.select(pref.user_pid).where(pref.objected)).scalars()]
        non_pers = [str(u) for u in conn.execute(
            sa.select(pref.user_pid).where(pref.non_personalized)).scalars()]
        erased = [str(u) for u in conn.execute(sa.select(t.tombstones.c.user_pid)).scalars()]
        withdrawn = _withdrawn(conn, sorted(by_purpose))
    if engine.table_exists("pg_tombstones"):
        erased += [str(r[0]) for r in engine.query_rows("SELECT user_pid FROM pg_tombstones")]

    def tagged(pids: list[str], purposes: list[str] | None = None) -> int:
        if not pids:
            return 0
        _pids(engine, "_audit_pids", sorted(set(pids)))
        where = ("WHERE l.purpose IN (" + ", ".join(f"'{p}'" for p in purposes) + ")"
                 if purposes else "")
        n = engine.query_rows(f"SELECT count(DISTINCT l.user_id) FROM {long} l JOIN _audit_pids "
                              f"p ON p.user_pid = l.user_id {where}")[0][0]
        return int(n)

    facts = SnapshotFacts(
        id=info.id, as_of=info.as_of, users=info.users, users_by_purpose=by_purpose,
        objectors_profiled=tagged(objectors), erased_profiled=tagged(erased),
        non_personalized_profiled=tagged(non_pers, sorted(PERSONALIZED_PURPOSES)),
        withdrawn_profiled={p: n for p, users in withdrawn.items()
                            if (n := tagged(users, [p]))},
    )
    cards: list[dict[str, Any]] = []
    if engine.table_exists(info.cards):
        for tag, card in engine.query_rows(f"SELECT tag, card FROM {q(info.cards)}"):
            data = json.loads(card)
            cards.append(data if isinstance(data, dict) else {"tag": tag, "card": data})
    return facts, cards


def _withdrawn(conn: sa.Connection, purposes: list[str]) -> dict[str, list[str]]:
    """purpose → users whose consent in force (recipient '') for it is withdrawn."""
    if not purposes:
        return {}
    cc = t.consents_current.c
    rows = conn.execute(sa.select(cc.purpose, cc.user_pid).where(
        cc.purpose.in_(purposes), cc.status == "withdrawn", cc.recipient == ""))
    out: dict[str, list[str]] = {}
    for purpose, user in rows:
        out.setdefault(str(purpose), []).append(str(user))
    return out


def _exports(engine: DuckDBEngine, store: OperationalStore, births: bool) -> list[ExportFacts]:
    out = []
    with store.read() as conn:
        exports = conn.execute(sa.select(t.exports).where(t.exports.c.kind == "audience")).all()
        objectors = {str(u) for u in conn.execute(sa.select(t.preferences.c.user_pid).where(
            t.preferences.c.objected)).scalars()}
        for e in exports:
            members = [str(u) for u in conn.execute(sa.select(t.export_members.c.user_pid).where(
                t.export_members.c.export_id == e.id)).scalars()]
            minors = 0
            if births and members:
                _pids(engine, "_audit_members", members)
                minors = int(engine.query_rows(
                    f"SELECT count(*) FROM _audit_members m JOIN {_BIRTHS} b USING (user_pid) "
                    "WHERE b.age < 18")[0][0])
            out.append(ExportFacts(int(e.id), str(e.kind), e.purpose, e.recipient, int(e.rows),
                                   minors, len(objectors.intersection(members))))
    return out


# -- operational store ------------------------------------------------------------------


def _consent(store: OperationalStore, engine: DuckDBEngine, births: bool) -> ConsentFacts:
    """Consent facts from ``consents_current`` (the record in force per user × purpose ×
    recipient, kept with the log in one transaction): aggregates over one row per key,
    never a scan of the whole log."""
    cc = t.consents_current.c
    pref = t.preferences.c
    keys = (cc.purpose, cc.recipient, cc.status, cc.consent_type, cc.pre_ticked, cc.bundled,
            cc.notice_version)
    with store.read() as conn:
        rows = conn.execute(sa.select(*keys, sa.func.count()).group_by(*keys)).all()
        known = _users_known(conn)
        objectors = int(conn.execute(sa.select(sa.func.count()).where(pref.objected)
                                     .select_from(t.preferences)).scalar_one())
        non_pers = int(conn.execute(sa.select(sa.func.count()).where(pref.non_personalized)
                                    .select_from(t.preferences)).scalar_one())
    in_force = [ConsentCount(str(p), str(r or ""), str(s), str(ct), bool(pt), bool(b),
                             nv, int(n)) for p, r, s, ct, pt, b, nv, n in rows]
    guardian: dict[str, int] = {}
    self_granted: dict[str, int] = {}
    if births:
        kids = [str(r[0]) for r in engine.query_rows(
            f"SELECT user_pid FROM {_BIRTHS} WHERE age < 14 ORDER BY 1")]
        with store.read() as conn:
            for start in range(0, len(kids), CHUNK):
                for purpose, ctype, n in conn.execute(
                        sa.select(cc.purpose, cc.consent_type, sa.func.count())
                        .where(cc.user_pid.in_(kids[start:start + CHUNK]),
                               cc.status == "granted", cc.recipient == "")
                        .group_by(cc.purpose, cc.consent_type)):
                    target = guardian if ctype == "guardian" else self_granted
                    target[str(purpose)] = target.get(str(purpose), 0) + int(n)
    return ConsentFacts(known, in_force, guardian, self_granted, objectors, non_pers)


def _users_known(conn: sa.Connection) -> int:
    """People the operational store knows: identity map ∪ consent log ∪ preferences.

    Counted as the identity map plus those only in the consents (every log user has a
    ``consents_current`` row) plus those only in the preferences: index probes instead of
    the de-duplicating sort a UNION of a million ids needs.
    """
    ids = t.identity_map.c
    cc = t.consents_current.c
    pref = t.preferences.c

    def mapped(col: sa.ColumnElement[Any]) -> sa.Exists:
        return sa.exists().where(ids.user_pid == col)

    consenting = sa.select(cc.user_pid).distinct().subquery()
    only_consents = sa.select(sa.func.count()).select_from(consenting).where(
        ~mapped(consenting.c.user_pid))
    only_prefs = sa.select(sa.func.count()).select_from(t.preferences).where(
        ~mapped(pref.user_pid), ~sa.exists().where(cc.user_pid == pref.user_pid))
    total = sa.select(sa.select(sa.func.count()).select_from(t.identity_map).scalar_subquery()
                      + only_consents.scalar_subquery() + only_prefs.scalar_subquery())
    return int(conn.execute(total).scalar_one())


def _rights(store: OperationalStore) -> RightsFacts:
    r = t.rights_requests.c
    with store.read() as conn:
        counts = conn.execute(sa.select(r.kind, r.state, sa.func.count()).group_by(
            r.kind, r.state)).all()
        rows = conn.execute(sa.select(t.rights_requests).where(r.state != "done")
                            .order_by(r.received_at)).all()
    facts = [RequestFact(int(x.id), str(x.kind), str(x.state), str(x.jurisdiction),
                         as_utc(x.received_at), as_utc(x.extended_until or x.deadline),
                         x.extended_until is not None, x.refusal_reason) for x in rows]
    return RightsFacts(sum(int(n) for *_, n in counts),
                       {f"{k}/{s}": int(n) for k, s, n in counts}, facts)


def _ledger(svc: Services) -> LedgerFacts:
    report = verify(svc.ledger)
    return LedgerFacts(report.ok, report.entries,
                       report.damage.detail if report.damage else None)


def _incidents(store: OperationalStore) -> list[IncidentFact]:
    with store.read() as conn:
        rows = conn.execute(sa.select(t.incidents).order_by(t.incidents.c.id)).all()
    return [IncidentFact(int(x.id), str(x.title), str(x.state), as_utc(x.detected_at),
                         dict(x.record or {})) for x in rows]
