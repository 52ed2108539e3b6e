"""A profile build: fused tag plans → consent and rights applied → a new snapshot.

1. The catalog validates every tag; refused tags become findings and are not computed.
2. The descriptive tags of each source, whatever their windows, run as ONE fused
   ``GROUP BY`` query (``plan.fuse_plan``).
3. Derived tags run over the descriptive values they read, joined from their sources only
   (users who have every descriptive tag the derived tags read), in dependency layers; on
   DuckDB the first layer's ``ntile`` windows from cut points (``_cut_ntiles``).
4. People's decisions win: objectors get no tags at all; a user's correction or deletion of
   a tag replaces the computed value; then each tag is kept only for users whose consent
   covers the tag's purpose (default deny: no record, no tag). A correction never brings
   back a tag the person has not consented to.
   They are applied in the one statement that writes the wide table.
5. The wide snapshot table is written with the corrections table (who corrected which
   tag); the long one is defined over both (each user row crossed with the tag list) — a
   view on DuckDB, so no long rows are written — then the snapshot is registered and made
   current in one transaction (``snapshot.register``).

The sources' results are joined FULL OUTER on the user. On DuckDB every intermediate that is
read once (a source's result, the joined values, the derived tags, the decisions pivoted
per person) is a TEMP view, so the statement writing the wide table computes it in one
plan; people's decisions are the Arrow tables themselves, registered, not copied. Other
engines (Spark) materialize them as TEMP tables.

``PROFILEGUARD_FAULT_AT=<step>`` kills the process at a named step; the crash-safety tests
use it to prove a half-built snapshot never becomes current.
"""

from __future__ import annotations

import json
import os
import signal
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import pyarrow as pa

from profileguard.manifest.model import Manifest
from profileguard.model import plan, snapshot
from profileguard.model.catalog import Catalog, Refusal, TagInfo, build_catalog
from profileguard.model.plan import (
    PlanStep,
    SourceTable,
    derived_plan,
    fuse_plan,
    group_descriptive,
)
from profileguard.store.engine import DuckDBEngine, Engine
from profileguard.store.engine import quote_ident as q

FAULT_ENV = "PROFILEGUARD_FAULT_AT"


@dataclass
class Decisions:
    """What people decided, as the build needs it (from the ConsentBook).

    ``allowed``: user_pid, purpose — consent in force covers the purpose.
    ``objectors``: user_pid — objected to profiling.
    ``overrides``: user_pid, tag, action (correct|delete), value, created_at.
    """

    allowed: pa.Table
    objectors: pa.Table
    overrides: pa.Table

    @staticmethod
    def empty() -> Decisions:
        return Decisions(
            pa.table({"user_pid": pa.array([], pa.string()), "purpose": pa.array([], pa.string())}),
            pa.table({"user_pid": pa.array([], pa.string())}),
            pa.table({"user_pid": pa.array([], pa.string()), "tag": pa.array([], pa.string()),
                      "action": pa.array([], pa.string()), "value": pa.array([], pa.string()),
                      "created_at": pa.array([], pa.timestamp("us"))}),
        )


@dataclass
class PredictiveResult:
    """Output of the predictive step: one row per user with a column per predictive tag
    and ``<tag>__confidence``; plus model cards (JSON-serialisable dicts)."""

    table: pa.Table
    cards: list[dict[str, Any]] = field(default_factory=list)
    #: the rows are already in the engine's ``_b_pred`` table (scored there, e.g. by Spark's
    #: mapInArrow); ``table`` then holds only their columns
    in_engine: bool = False


PredictiveStep = Callable[[Engine, Manifest, datetime, Catalog], PredictiveResult | None]


@dataclass
class BuildReport:
    snapshot: snapshot.SnapshotInfo | None
    steps: list[PlanStep]
    refusals: list[Refusal]
    coverage: dict[str, int]
    users: int
    objectors_excluded: int = 0

    def as_dict(self) -> dict[str, object]:
        return {
            "snapshot": self.snapshot.id if self.snapshot else None,
            "as_of": self.snapshot.as_of.isoformat() if self.snapshot else None,
            "users": self.users,
            "coverage": self.coverage,
            "refused": [{"tag": r.tag, "law": r.law, "article": r.article, "reason": r.reason,
                         "message": r.message} for r in self.refusals],
            "steps": [{"name": s.name, "tags": list(s.tags), "sql": s.sql} for s in self.steps],
        }


def _fault(step: str) -> None:
    if os.environ.get(FAULT_ENV) == step:
        os.kill(os.getpid(), signal.SIGKILL)


def plan_steps(m: Manifest, catalog: Catalog, as_of: datetime, dialect: str = "duckdb"
               ) -> list[PlanStep]:
    ok = [t.validated for t in catalog.buildable if t.validated is not None]
    steps = []
    for source, tags in group_descriptive(ok).items():
        src = m.sources[source]
        user = src.user or src.key or "user_id"
        steps.append(fuse_plan(tags, SourceTable(source, source, user, src.time), as_of,
                               dialect=dialect))  # type: ignore[arg-type]
    derived = [t for t in ok if t.kind == "derived"]
    if derived:
        names = [c for s in steps for c in s.columns]
        steps.append(derived_plan(derived, "_b_dep", names, as_of,
                                  required=_required(catalog, names),
                                  dialect=dialect))  # type: ignore[arg-type]
    return steps


def _required(catalog: Catalog, descriptive: list[str]) -> list[str]:
    """The descriptive values derived tags read: users with every one of them take part in
    the derived tags."""
    return sorted({d for t in catalog.buildable if t.validated is not None
                   and t.validated.kind == "derived" for d in t.validated.depends_on
                   if d in descriptive})


def build(
    engine: Engine, m: Manifest, *, manifest_sha256: str, as_of: datetime,
    decisions: Decisions | None = None, keep: int = 3,
    predictive: PredictiveStep | None = None, catalog: Catalog | None = None,
) -> BuildReport:
    decisions = decisions or Decisions.empty()
    catalog = catalog or build_catalog(m)
    snapshot.drop_orphans(engine)
    sid = snapshot.next_id(engine)
    steps = plan_steps(m, catalog, as_of)
    _put_decisions(engine, decisions)
    engine.execute("CREATE OR REPLACE TEMP TABLE _d_ovr AS SELECT user_pid, tag, action, value FROM "
                   "(SELECT *, row_number() OVER (PARTITION BY user_pid, tag ORDER BY created_at "
                   "DESC) AS rn FROM _d_overrides) WHERE rn = 1")
    _fault("plans")
    descriptive = [s for s in steps if s.kind == "descriptive"]
    derived_step = next((s for s in steps if s.kind == "derived"), None)
    parts = {"w": [c for s in descriptive for c in s.columns]}
    # the sources whose values the derived tags read (all of them if they read none)
    required = set(_required(catalog, parts["w"])) if derived_step is not None else set()
    dep = [i for i, s in enumerate(descriptive)
           if not required or required & set(s.columns)] if derived_step is not None else []
    scratch = _Scratch(engine)
    for i, step in enumerate(descriptive):
        scratch.put(f"_b_{i}", step.sql, once=i not in dep)
    _fault("descriptive")
    scratch.put("_b_wide", _wide_sql(descriptive), once=True)
    if derived_step is not None:
        scratch.put("_b_dep", _wide_sql(descriptive, dep), once=True)
        scratch.put("_b_derived", _cut_ntiles(engine, scratch, derived_step,
                                              sorted(required)).sql, once=True)
        parts["d"] = list(derived_step.columns)
    _fault("derived")
    cards: list[dict[str, Any]] = []
    predictive_tags: list[str] = []
    if predictive is not None:
        result = predictive(engine, m, as_of, catalog)
        if result is not None and (result.table.num_rows or result.in_engine):
            if not result.in_engine:
                # read once, by the statement writing the wide snapshot: registered on DuckDB
                # (copying it into a table first, at 326k scored users of the 1M-user scale
                # benchmark: load, join and checkpoint 6.6 CPU s against 5.7)
                _put_arrow(engine, "_b_pred", result.table)
            parts["p"] = [c for c in result.table.column_names if c != "user_id"]
            predictive_tags = [c for c in parts["p"] if "__" not in c]
            cards = result.cards
    columns = [c for cols in parts.values() for c in cols]
    tags = [t for t in catalog.buildable if t.name in columns]
    _write_snapshot(engine, sid, tags, parts, as_of, predictive_tags, cards, scratch)
    _fault("written")
    tallies = engine.query_rows("SELECT " + ", ".join(
        ["count(*)"] + [f"count({q(t.name)})" for t in tags]) + f" FROM snap_{sid}_wide")[0]
    counts = {t.name: int(n) for t, n in zip(tags, tallies[1:], strict=True)}
    users = int(tallies[0])
    info = snapshot.SnapshotInfo(sid, as_of, datetime.now(), manifest_sha256, users, counts)
    snapshot.register(engine, info, keep)
    objectors = int(engine.query_rows("SELECT count(*) FROM _d_objectors")[0][0])
    scratch.drop()
    engine.execute("DROP TABLE IF EXISTS _d_ovr")
    for name in ("_b_pred", *_DECISIONS):
        _drop_arrow(engine, name)
    return BuildReport(info, steps, catalog.refusals, counts, users, objectors)


class _Scratch:
    """The build's scratch relations (``_b_*``), made TEMP tables — or, on DuckDB, TEMP
    views where the relation is read once: it is then computed inside the statement that
    reads it (finally the one writing the wide snapshot), never written and read back."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.made: dict[str, str] = {}
        self.views = isinstance(engine, DuckDBEngine)
        if self.views:  # left in this connection by a build that failed
            for name, kind in engine.query_rows(
                    "SELECT table_name, table_type FROM information_schema.tables "
                    "WHERE table_catalog = 'temp' AND table_name LIKE '\\_b\\_%' ESCAPE '\\'"):
                self.made[str(name)] = "VIEW" if kind == "VIEW" else "TABLE"
            self.drop()

    def put(self, name: str, sql: str, *, once: bool) -> None:
        kind = "VIEW" if once and self.views else "TABLE"
        if self.made.get(name, kind) != kind:
            self.engine.execute(f"DROP {self.made[name]} IF EXISTS {name}")
        self.engine.execute(f"CREATE OR REPLACE TEMP {kind} {name} AS {sql}")
        self.made[name] = kind

    def types(self, names: list[str]) -> dict[str, str]:
        """Column name → type of the relations ``names``."""
        types: dict[str, str] = {}
        for name in names:
            types.update(self.engine.column_types(name))
        return types

    def drop(self) -> None:
        for name, kind in sorted(self.made.items(), key=lambda nk: nk[1] != "VIEW"):
            self.engine.execute(f"DROP {kind} IF EXISTS {name}")  # views first
        self.made.clear()


def _cut_ntiles(engine: Engine, scratch: _Scratch, step: PlanStep, required: list[str]
                ) -> PlanStep:
    """On DuckDB, the derived step with its first layer's `ntile` windows computed from cut
    points (``plan.ntile_cuts``): a window without PARTITION BY sorts every row on one
    thread, three of them (the R, F and M scores) took 0.7 s of a 4.3 s build at 1M users,
    their cut points 0.24 s. Same buckets — ties broken by user id alike. (`_b_dep` is
    read three times: rows, cut points, values; one source's values for the demo's RFM.)"""
    if not isinstance(engine, DuckDBEngine):
        return step
    types = scratch.types(["_b_dep"])
    cuts = plan.ntile_cuts(step, required, types)
    if not cuts:
        return step
    rows = int(engine.query_rows(f"SELECT count(*) FROM _b_dep{plan.taking_part(required)}"
                                 )[0][0])
    points = plan.cut_points_sql(cuts, "_b_dep", required, rows, types)
    if points is not None:
        scratch.put("_b_cuts", points, once=True)
    return plan.with_cut_points(step, cuts, "_b_cuts" if points is not None else None, rows,
                                types)


_DECISIONS = ("_d_allowed", "_d_objectors", "_d_overrides")


def _put_decisions(engine: Engine, decisions: Decisions) -> None:
    """People's decisions as ``_d_allowed``, ``_d_objectors`` and ``_d_overrides``
    (:func:`_put_arrow`: each is read once or twice — copying a consent row per user and
    purpose into a table first cost as much as reading it)."""
    for name, table in zip(_DECISIONS, (decisions.allowed, decisions.objectors,
                                        decisions.overrides), strict=True):
        _put_arrow(engine, name, table)


def _put_arrow(engine: Engine, name: str, table: pa.Table) -> None:
    """``table`` as the relation ``name``: on DuckDB the Arrow table itself, registered; on
    other engines loaded as a table."""
    if isinstance(engine, DuckDBEngine):
        engine.unregister_arrow(name)  # registered by a build that failed
        engine.execute(f"DROP TABLE IF EXISTS {name}")  # a table of an older build's crash
        engine.register_arrow(name, table)
    else:
        engine.load_arrow(name, table, mode="replace")


def _drop_arrow(engine: Engine, name: str) -> None:
    """The relation :func:`_put_arrow` made (or a table of that name) gone."""
    if isinstance(engine, DuckDBEngine):
        engine.unregister_arrow(name)
    engine.execute(f"DROP TABLE IF EXISTS {name}")


def _wide_sql(descriptive: list[PlanStep], sources: list[int] | None = None) -> str:
    """One row per user with a descriptive value, the columns of every descriptive step
    (or of ``sources``, their positions): their results (``_b_<i>``) joined FULL OUTER on
    user_id — one hash join each, half the work of joining each to the union of their
    ids — objectors (and rows without a user) left out."""
    chosen = list(range(len(descriptive))) if sources is None else sources
    if not chosen:
        return "SELECT CAST(NULL AS VARCHAR) AS user_id WHERE FALSE"
    keys = [f"_b_{i}.user_id" for i in chosen]
    user = keys[0] if len(keys) == 1 else f"coalesce({', '.join(keys)})"
    joins = "".join(f" FULL JOIN _b_{i} ON _b_{i}.user_id = " + (
        keys[0] if n == 1 else f"coalesce({', '.join(keys[:n])})")
        for n, i in enumerate(chosen) if n > 0)
    columns = "".join(f", _b_{i}.{q(c)}" for i in chosen for c in descriptive[i].columns)
    return (f"SELECT {user} AS user_id{columns} FROM _b_{chosen[0]}{joins} "
            f"WHERE {user} IS NOT NULL AND {user} NOT IN (SELECT user_pid FROM _d_objectors)")


#: where each part of the profile is while the snapshot is written: descriptive values
#: (w), derived (d) and predictive (p), one row per user, joined on user_id
_PART_TABLES = {"w": "_b_wide", "d": "_b_derived", "p": "_b_pred"}


def _write_snapshot(engine: Engine, sid: int, tags: list[TagInfo], parts: dict[str, list[str]],
                    as_of: datetime, predictive: list[str], cards: list[dict[str, Any]],
                    scratch: _Scratch) -> None:
    """People's decisions applied as the wide table is written (one statement), then the
    long table derived from it in one pass (one row per user and tag with a value)."""
    columns = [c for cols in parts.values() for c in cols]
    home = {c: alias for alias, cols in parts.items() for c in cols}
    purposes = sorted({t.tag.purpose for t in tags})
    # people's decisions pivoted to one row per person: two joins, whatever the tag count
    allowed_cols = ", ".join(f"bool_or(purpose = '{p}') AS {q('a_' + p)}" for p in purposes)
    scratch.put("_b_allowed", "SELECT user_pid" + (f", {allowed_cols}" if allowed_cols else "")
                + " FROM _d_allowed GROUP BY user_pid", once=True)
    ovr_cols = ", ".join(
        f"max(CASE WHEN tag = '{t.name}' THEN action END) AS {q('oa_' + t.name)}, "
        f"max(CASE WHEN tag = '{t.name}' THEN value END) AS {q('ov_' + t.name)}" for t in tags)
    scratch.put("_b_ovr", "SELECT user_pid" + (f", {ovr_cols}" if ovr_cols else "")
                + " FROM _d_ovr GROUP BY user_pid", once=True)
    types = scratch.types([_PART_TABLES[alias] for alias in parts])
    selects = ["w.user_id AS user_id"]
    for t in tags:
        ok = f"coalesce(a.{q('a_' + t.tag.purpose)}, FALSE)"
        action, given = f"o.{q('oa_' + t.name)}", f"o.{q('ov_' + t.name)}"
        value = (f"CASE WHEN {action} = 'delete' THEN NULL WHEN {action} = 'correct' "
                 f"THEN TRY_CAST({given} AS {types.get(t.name, 'VARCHAR')}) "
                 f"ELSE {home[t.name]}.{q(t.name)} END")
        selects.append(f"CASE WHEN {ok} THEN {value} END AS {q(t.name)}")
        for c in columns:
            if c.startswith(t.name + "__"):
                selects.append(f"CASE WHEN {ok} AND {action} IS DISTINCT FROM 'delete' "
                               f"THEN {home[c]}.{q(c)} END AS {q(c)}")
    joins = "".join(f" LEFT JOIN {_PART_TABLES[a]} {a} ON {a}.user_id = w.user_id"
                    for a in parts if a != "w")
    _write_wide(engine, f"snap_{sid}_wide",
                f"SELECT {', '.join(selects)} FROM _b_wide w{joins} LEFT JOIN _b_allowed a "
                "ON a.user_pid = w.user_id LEFT JOIN _b_ovr o ON o.user_pid = w.user_id")
    corr = f"snap_{sid}_corr"
    engine.execute(f"CREATE TABLE {corr} (user_id VARCHAR, tag VARCHAR, value VARCHAR)")
    # the build's corrections are already the wide values: no value of their own here
    engine.execute(f"INSERT INTO {corr} SELECT user_pid, tag, CAST(NULL AS VARCHAR) FROM _d_ovr "
                   f"WHERE action = 'correct' AND user_pid IN (SELECT user_id FROM snap_{sid}_wide)")
    if tags:
        kind = "VIEW" if snapshot.stores_views(engine) else "TABLE"
        engine.execute(f"CREATE {kind} snap_{sid}_long AS "
                       + _long_sql(f"snap_{sid}_wide", corr, tags, columns, as_of, predictive))
    else:
        engine.execute(f"CREATE TABLE snap_{sid}_long (user_id VARCHAR, tag VARCHAR, value VARCHAR,"
                       " kind VARCHAR, confidence DOUBLE, purpose VARCHAR, computed_at TIMESTAMP, "
                       "valid_until TIMESTAMP)")
    engine.execute(f"CREATE TABLE snap_{sid}_cards (tag VARCHAR, card VARCHAR)")
    for card in cards:
        engine.execute(f"INSERT INTO snap_{sid}_cards VALUES (?, ?)",
                       [str(card.get("tag", "")), json.dumps(card, default=str, ensure_ascii=False)])


def _write_wide(engine: Engine, table: str, select: str) -> None:
    """The wide table from ``select``. On DuckDB its ``user_id`` column is stored
    uncompressed: pseudonyms are random base32 text, which DuckDB's string compression
    (FSST, dictionary) shrinks by about a sixth of the table at the cost of a fifth of the
    time spent writing it (measured at 1M users: 1.7 → 1.4 CPU s, 191 → 224 blocks)."""
    if not isinstance(engine, DuckDBEngine):
        engine.execute(f"CREATE TABLE {table} AS {select}")
        return
    columns = engine.query_rows(f"DESCRIBE {select}")
    defs = ", ".join(f"{q(str(c[0]))} {c[1]}" + (" USING COMPRESSION uncompressed"
                                                  if c[0] == "user_id" else "")
                     for c in columns)
    engine.execute(f"CREATE TABLE {table} ({defs})")
    engine.execute(f"INSERT INTO {table} {select}")


def _long_sql(wide: str, corr: str, tags: list[TagInfo], columns: list[str], as_of: datetime,
              predictive: list[str]) -> str:
    """The long table over the wide one: each user row crossed with the list of tags (their
    constants: kind, purpose, valid_until), the tag's value picked by position, rows without
    a value left out; a value the person corrected (a row in ``corr``: by the build, whose
    wide value is the correction, or since, by the rights desk, with the value given) is
    kind `corrected` with confidence 1.0. Explanation inputs stay in the wide table
    (tag__input columns): no per-row JSON."""
    ts = as_of.strftime("%Y-%m-%d %H:%M:%S")
    rows, values, confidences = [], [], []
    for i, t in enumerate(tags):
        kind = "prediction" if t.name in predictive else "fact"
        valid_until = (as_of + (t.tag.valid_for.as_timedelta() or timedelta(days=3650))
                       ).strftime("%Y-%m-%d %H:%M:%S")
        rows.append(f"({i}, '{t.name}', '{kind}', '{t.tag.purpose}', "
                    f"TIMESTAMP '{valid_until}')")
        values.append(f"WHEN {i} THEN CAST(w.{q(t.name)} AS VARCHAR)")
        if f"{t.name}__confidence" in columns:
            confidences.append(f"WHEN {i} THEN CAST(w.{q(t.name + '__confidence')} AS DOUBLE)")
    confidence = (f"CASE t.i {' '.join(confidences)} ELSE CAST(1.0 AS DOUBLE) END"
                  if confidences else "CAST(1.0 AS DOUBLE)")
    cells = (f"SELECT w.user_id, t.tag, t.kind, t.purpose, t.valid_until, "
             f"CASE t.i {' '.join(values)} END AS value, {confidence} AS confidence "
             f"FROM {wide} w CROSS JOIN (VALUES {', '.join(rows)}) AS t(i, tag, kind, purpose, "
             "valid_until)")
    return ("SELECT x.user_id, x.tag, coalesce(c.value, x.value) AS value, "
            "CASE WHEN c.tag IS NULL THEN x.kind ELSE 'corrected' END AS kind, "
            "CASE WHEN c.tag IS NULL THEN x.confidence ELSE CAST(1.0 AS DOUBLE) END AS confidence, "
            f"x.purpose, TIMESTAMP '{ts}' AS computed_at, x.valid_until "
            f"FROM ({cells}) AS x LEFT JOIN {corr} c ON c.user_id = x.user_id AND c.tag = x.tag "
            "WHERE x.value IS NOT NULL")
