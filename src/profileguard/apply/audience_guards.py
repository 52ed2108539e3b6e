"""The audience guard table: one row per snapshot user with every guard's verdict.

Selecting an audience over a million users must not call the ConsentBook per user, so the
verdicts are exported once into DuckDB (``pg_audguard_<hash>``): objected; consent — some
consent for the purpose is in force (for the purpose itself or for this recipient);
recipient_consent — the ConsentBook allows this use for this recipient (it decides
whether the recipient needs its own separate consent — PIPL 23/39 — or is covered by the
purpose consent, as a domestic processor is; without a recipient it is the purpose
decision); minor (< 18, for automated-marketing purposes: MINOR 24, ALG 18),
and ``eligible`` when all pass. A selection is then one join in DuckDB.

The table records the ledger head it was computed at; every consent change, objection or
non-personalized choice appends to the ledger, so a table whose ledger head is no longer
the current one is stale and is rebuilt before use. Exports always rebuild it.

Rows are written in the wide table's row order with its ``rowid`` (``_rid``), so a count
can use DuckDB's ``POSITIONAL JOIN`` (a scan, no hash join on string ids: ~10× faster at
1M users) and check ``_rid`` against the wide table's ``rowid`` — if an erasure deleted
snapshot rows in between, the check fails and the count falls back to a join on user id.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass
from typing import TYPE_CHECKING

import duckdb
import pyarrow as pa

from profileguard.apply.guards import MINOR_AGE, automated_marketing
from profileguard.manifest.model import Manifest
from profileguard.model.snapshot import SnapshotInfo

if TYPE_CHECKING:
    from profileguard.pipeline.services import Services

PREFIX = "pg_audguard_"  # every table of this module: erasure deletes from them too
META = f"{PREFIX}meta"
FORMAT = 2  # part of the table name: a new layout never reads an old table


@dataclass(frozen=True)
class GuardTable:
    name: str
    purpose: str
    recipient: str
    snapshot: int
    ledger_seq: int
    day: dt.date
    minors_excluded: bool


def birth_column(m: Manifest) -> tuple[str, str, str] | None:
    """(source, user column, birth-date column) of the undisguised date of birth, if any."""
    for name, src in m.sources.items():
        for col, decl in m.fields.get(name, {}).items():
            if (decl.category == "user.demographic.date_of_birth" and decl.transform == "none"
                    and src.user):
                return name, src.user, col
    return None


def _ledger_seq(svc: Services) -> int:
    head = svc.ledger.head()
    return int(head.seq) if head is not None else 0


def _table_name(purpose: str, recipient: str, snapshot: int) -> str:
    key = f"{FORMAT}\x1f{purpose}\x1f{recipient}\x1f{snapshot}"
    digest = hashlib.sha256(key.encode()).hexdigest()
    return f"{PREFIX}{digest[:16]}"


def _decisions(svc: Services, purpose: str, recipient: str | None,
               births: pa.Table | None, users: list[str] | None = None) -> pa.Table:
    cats: list[str] = []
    rec = svc.manifest.recipient(recipient) if recipient else None
    for ref in rec.fields if rec else []:
        src, _, col = ref.partition(".")
        decl = svc.manifest.field(src, col)
        if decl is not None and decl.category not in cats:
            cats.append(decl.category)
    table = svc.book.decisions(purpose, categories=cats, recipient=recipient,
                               birth_dates=births, users=users)
    return table.select(["user_pid", "allowed", "reason"])


def guard_table(svc: Services, snap: SnapshotInfo, purpose: str, recipient: str | None,
                *, refresh: bool = False, at: dt.date | None = None) -> GuardTable:
    """The guard table for this purpose × recipient × snapshot, rebuilt when stale."""
    eng = svc.engine
    day = at or dt.date.today()
    rname = recipient or ""
    name = _table_name(purpose, rname, snap.id)
    seq = _ledger_seq(svc)
    try:
        rows = eng.query_rows(f"SELECT ledger_seq, day, minors, (SELECT count(*) FROM {name}) "
                              f"FROM {META} WHERE name = ?", [name])
    except duckdb.Error:  # no meta table or no guard table yet
        rows = []
    if rows and not refresh and int(rows[0][0]) == seq and rows[0][1] == day:
        return GuardTable(name, purpose, rname, snap.id, seq, day, bool(rows[0][2]))
    eng.execute(f"CREATE TABLE IF NOT EXISTS {META} (name VARCHAR PRIMARY KEY, purpose "
                "VARCHAR, recipient VARCHAR, snapshot BIGINT, ledger_seq BIGINT, day DATE, "
                "minors BOOLEAN, built_at TIMESTAMP)")
    minors = automated_marketing(svc.manifest, purpose)
    # the birth dates as one table: the minors' rules are then decided per group of people,
    # not by asking the policy's lookup person by person
    births = svc.birth_dates() if svc.book.policy.birth_date_of else None
    general = _decisions(svc, purpose, None, births)
    eng.load_arrow("pg_audguard_purpose", general, mode="replace")
    # the recipient's decisions for the same people (every known user, read once)
    eng.load_arrow("pg_audguard_recipient", _decisions(
        svc, purpose, recipient, births, general.column("user_pid").to_pylist())
        if recipient else general, mode="replace")
    objectors = pa.table({"user_pid": pa.array(sorted(svc.book.objectors()), pa.string())})
    eng.load_arrow("pg_audguard_objectors", objectors, mode="replace")
    birth = birth_column(svc.manifest)
    if birth is not None and minors:
        src, ucol, bcol = birth
        minor_sql = (f'(SELECT "{ucol}" AS user_id FROM "{src}" WHERE "{bcol}" > '
                     f"(?::DATE - INTERVAL {MINOR_AGE} YEAR))")
        params: list[object] = [day]
    else:
        minor_sql = "(SELECT NULL::VARCHAR AS user_id WHERE false)"
        params = []
    eng.execute(f"""
        CREATE OR REPLACE TABLE {name} AS
        SELECT *, NOT objected AND consent AND recipient_consent AND NOT minor AS eligible
        FROM (SELECT w.rowid AS _rid, w.user_id,
               o.user_pid IS NOT NULL AS objected,
               coalesce(p.allowed, false) OR coalesce(r.allowed, false) AS consent,
               coalesce(r.reason, 'no consent record') AS consent_reason,
               coalesce(r.allowed, false) AS recipient_consent,
               m.user_id IS NOT NULL AS minor
        FROM "{snap.wide}" w
        LEFT JOIN pg_audguard_objectors o ON o.user_pid = w.user_id
        LEFT JOIN pg_audguard_purpose p ON p.user_pid = w.user_id
        LEFT JOIN pg_audguard_recipient r ON r.user_pid = w.user_id
        LEFT JOIN (SELECT DISTINCT user_id FROM {minor_sql}) m ON m.user_id = w.user_id)
        ORDER BY _rid
    """, params)
    for t in ("pg_audguard_purpose", "pg_audguard_recipient", "pg_audguard_objectors"):
        eng.execute(f"DROP TABLE IF EXISTS {t}")
    _drop_orphans(svc)
    eng.execute(f"DELETE FROM {META} WHERE name = ?", [name])
    eng.execute(f"INSERT INTO {META} VALUES (?, ?, ?, ?, ?, ?, ?, now())",
                [name, purpose, rname, snap.id, seq, day, minors])
    return GuardTable(name, purpose, rname, snap.id, seq, day, minors)


def _drop_orphans(svc: Services) -> None:
    """Drop guard tables of snapshots that were pruned (their users may be erased)."""
    eng = svc.engine
    for (old,) in eng.query_rows(f"SELECT name FROM {META} WHERE snapshot NOT IN "
                                 "(SELECT id FROM pg_snapshots)"):
        eng.execute(f'DROP TABLE IF EXISTS "{old}"')
        eng.execute(f"DELETE FROM {META} WHERE name = ?", [old])
