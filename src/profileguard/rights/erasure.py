"""Erasure that reaches derived data, then proves it (PIPL 47, GDPR 17, ECL 24).

``erase(ctx, pid)`` removes the person from every place profileguard keeps data:

* each warehouse source table (rows of sources under a legal hold — ECL 31: transaction
  records ≥ 3 years — are moved to ``pg_legal_hold_<source>``: kept, never processed);
* the quarantine, the consent hold-back table and every snapshot's tags (wide,
  corrections, and long where it is stored rather than a view);
* the operational store: identity map, consents, preferences, tag corrections and export
  memberships (the export files handed out are listed so recipients can be told);
* the Spark warehouse folder, if a Spark build left one (derived data, rebuilt next time);
* then a tombstone keeps late-arriving rows out (the gate quarantines them as
  ``erased_user``), the warehouse file is rewritten so deleted bytes are gone, and a
  verification scans every store for the person's identifiers — id, pseudonymous id,
  phone, e-mail, ID number and their keyed pseudonyms — and reports residuals.

Kept by design, and said so in the result: the hash-chained ledger and the erasure's own
request record hold the pseudonymous id only (the chain must stay verifiable, and the
controller must be able to show the request was honoured).

profileguard never edits its inputs: the upstream files still holding the person are
listed so they can be erased where they come from.
"""

from __future__ import annotations

import datetime as dt
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow.compute as pc
import sqlalchemy as sa

from profileguard.apply.audience_guards import PREFIX as GUARD_PREFIX
from profileguard.collect.ingest import QUARANTINE, TOMBSTONES, ensure_system_tables
from profileguard.collect.readers import open_source
from profileguard.model import snapshot
from profileguard.rights.context import RightsContext
from profileguard.store import tables as t
from profileguard.store.engine import DuckDBEngine
from profileguard.store.engine import quote_ident as q
from profileguard.store.keys import pseudonym
from profileguard.taxonomy import covers

HELD = "pg_held"
IDENTIFYING = ("user.contact.phone_number", "user.contact.email", "user.government_id",
               "user.name", "user.financial", "user.account.username")


@dataclass
class ErasureResult:
    user_pid: str
    deleted: dict[str, int] = field(default_factory=dict)
    restricted: dict[str, dict[str, Any]] = field(default_factory=dict)
    upstream_files: list[str] = field(default_factory=list)
    exports_to_recall: list[str] = field(default_factory=list)
    residuals: list[str] = field(default_factory=list)
    shared_with_other_accounts: list[str] = field(default_factory=list)
    retained_by_design: list[str] = field(default_factory=list)
    identifiers_checked: int = 0

    def as_dict(self) -> dict[str, Any]:
        return {
            "user_pid": self.user_pid, "deleted": self.deleted, "restricted": self.restricted,
            "upstream_files": self.upstream_files, "exports_to_recall": self.exports_to_recall,
            "residuals": self.residuals,
            "shared_with_other_accounts": self.shared_with_other_accounts,
            "retained_by_design": self.retained_by_design,
            "identifiers_checked": self.identifiers_checked, "verified": not self.residuals,
        }


def upstream_identifiers(ctx: RightsContext, raw_id: str | None) -> tuple[set[str], list[str]]:
    """Identifying values of the person in the source files, and the files holding them."""
    values: set[str] = set()
    files: list[str] = []
    if not raw_id:
        return values, files
    m = ctx.manifest
    for name, src in m.sources.items():
        if not src.user:
            continue
        inverse = {v: k for k, v in src.columns.items()}
        user_col = inverse.get(src.user, src.user)
        ident_cols = [inverse.get(c, c) for c, d in m.fields.get(name, {}).items()
                      if any(covers(p, d.category) for p in IDENTIFYING)]
        for sf in open_source(src, name, ctx.root):
            hit = False
            for batch in sf.batches:
                names = batch.schema.names
                if user_col not in names:
                    break
                mask = pc.equal(batch.column(names.index(user_col)).cast("string"), raw_id)
                rows = batch.filter(pc.fill_null(mask, False))
                if rows.num_rows:
                    hit = True
                    for c in ident_cols:
                        if c in names:
                            values.update(str(v) for v in rows.column(names.index(c)).to_pylist()
                                          if v not in (None, ""))
            if hit:
                files.append(sf.path)
    return values, files


def _user_tables(engine: DuckDBEngine, ctx: RightsContext) -> list[tuple[str, str]]:
    out = []
    for name, src in ctx.manifest.sources.items():
        if src.user and engine.table_exists(name):
            out.append((name, src.user))
    return out


def erase(ctx: RightsContext, pid: str, *, raw_id: str | None = None,
          identifiers: set[str] | None = None, request_id: int | None = None,
          now: dt.datetime | None = None) -> ErasureResult:
    now = now or dt.datetime.now()
    result = ErasureResult(pid)
    raw_id = raw_id or ctx.store.user_id_for(pid)
    found, files = upstream_identifiers(ctx, raw_id)
    result.upstream_files = files
    idents = {v for v in (found | (identifiers or set())) if v}
    if raw_id:
        idents.add(raw_id)
    probes = idents | {pseudonym(ctx.key, v) for v in idents} | {pid}
    engine = ctx.engine()
    ensure_system_tables(engine)
    with engine.transaction():
        for name, user_col in _user_tables(engine, ctx):
            src = ctx.manifest.sources[name]
            where = f"{q(user_col)} = ?"
            if src.legal_hold is not None:
                hold = f"pg_legal_hold_{name}"
                until = now + (src.legal_hold.duration.as_timedelta() or dt.timedelta(0))
                engine.execute(f"CREATE TABLE IF NOT EXISTS {q(hold)} AS SELECT *, "
                               f"CAST(NULL AS TIMESTAMP) AS hold_until, CAST(NULL AS VARCHAR) "
                               f"AS hold_basis FROM {q(name)} WHERE FALSE")
                n = engine.query_rows(f"SELECT count(*) FROM {q(name)} WHERE {where}", [pid])[0][0]
                engine.execute(f"INSERT INTO {q(hold)} SELECT *, ?, ? FROM {q(name)} WHERE {where}",
                               [until, src.legal_hold.basis, pid])
                result.restricted[name] = {"rows": int(n), "until": until.isoformat(),
                                           "basis": src.legal_hold.basis}
            n = engine.query_rows(f"SELECT count(*) FROM {q(name)} WHERE {where}", [pid])[0][0]
            engine.execute(f"DELETE FROM {q(name)} WHERE {where}", [pid])
            result.deleted[name] = int(n)
        n = engine.query_rows(f"SELECT count(*) FROM {QUARANTINE} WHERE user_pid = ? "
                              "OR contains(coalesce(raw, ''), ?)", [pid, pid])[0][0]
        engine.execute(f"DELETE FROM {QUARANTINE} WHERE user_pid = ? "
                       "OR contains(coalesce(raw, ''), ?)", [pid, pid])
        result.deleted[QUARANTINE] = int(n)
        if engine.table_exists(HELD):
            n = engine.query_rows(f"SELECT count(*) FROM {HELD} WHERE user_pid = ?", [pid])[0][0]
            engine.execute(f"DELETE FROM {HELD} WHERE user_pid = ?", [pid])
            result.deleted[HELD] = int(n)
        views = snapshot.view_names(engine)  # a long view shows the wide table's rows
        for table in engine.tables():
            if table.startswith("snap_") and table.endswith(("_wide", "_long", "_corr")) and (
                    table not in views):
                n = engine.query_rows(f"SELECT count(*) FROM {q(table)} WHERE user_id = ?",
                                      [pid])[0][0]
                engine.execute(f"DELETE FROM {q(table)} WHERE user_id = ?", [pid])
                result.deleted["snapshots"] = result.deleted.get("snapshots", 0) + int(n)
            elif table.startswith(GUARD_PREFIX) and "user_id" in engine.columns(table):
                # audience guard verdicts: a cache of one snapshot's users, keyed like it
                n = engine.query_rows(f"SELECT count(*) FROM {q(table)} WHERE user_id = ?",
                                      [pid])[0][0]
                engine.execute(f"DELETE FROM {q(table)} WHERE user_id = ?", [pid])
                result.deleted["audience guards"] = (result.deleted.get("audience guards", 0)
                                                     + int(n))
        engine.execute(f"INSERT INTO {TOMBSTONES} VALUES (?, ?)", [pid, now])
    _erase_operational(ctx, pid, request_id, now, result)
    spark = ctx.root / ".profileguard" / "spark-warehouse"
    if spark.exists():  # derived copies of the sources and snapshots: rebuilt by the next
        shutil.rmtree(spark)  # Spark build, so removed rather than edited
        result.deleted["spark-warehouse"] = 1
    ctx.compact()
    result.residuals, result.shared_with_other_accounts = verify_erased(ctx, probes, pid)
    result.identifiers_checked = len(probes)
    result.retained_by_design = [
        "ledger: hash-chained entries hold the pseudonymous id only (the chain must verify)",
        "rights_requests: this erasure request's record (pseudonymous id), to show it was done",
        "tombstones: the pseudonymous id, to keep late-arriving rows out",
    ]
    ctx.book.ledger.append("rights.erasure", "rights", pid, {
        "deleted": result.deleted, "restricted": {k: v["rows"] for k, v in result.restricted.items()},
        "upstream_files": len(files), "residuals": len(result.residuals),
        "shared_with_other_accounts": len(result.shared_with_other_accounts),
    })
    return result


def _erase_operational(ctx: RightsContext, pid: str, request_id: int | None, now: dt.datetime,
                       result: ErasureResult) -> None:
    with ctx.store.write() as conn:
        exports = conn.execute(
            sa.select(t.exports.c.path, t.exports.c.recipient).join(
                t.export_members, t.export_members.c.export_id == t.exports.c.id)
            .where(t.export_members.c.user_pid == pid)).fetchall()
        result.exports_to_recall = sorted({f"{r.recipient or 'subject'}: {r.path}" for r in exports})
        for table in (t.identity_map, t.consents, t.consents_current, t.preferences,
                      t.tag_overrides, t.export_members, t.complaints, t.apply_campaign_sends,
                      t.apply_price_quotes):
            n = conn.execute(sa.delete(table).where(table.c.user_pid == pid)).rowcount
            result.deleted[f"state.{table.name}"] = int(n or 0)
        exists = conn.execute(sa.select(t.tombstones.c.user_pid).where(
            t.tombstones.c.user_pid == pid)).first()
        if exists is None:
            conn.execute(t.tombstones.insert().values(user_pid=pid, erased_at=now,
                                                      request_id=request_id))
    if ctx.store.dialect == "sqlite":
        with ctx.store.engine.connect() as conn:
            conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")


def verify_erased(ctx: RightsContext, probes: set[str], pid: str) -> tuple[list[str], list[str]]:
    """Where any of ``probes`` still appears (warehouse, operational store, exports).

    Returns ``(residuals, shared)``. A hit in a row of a source table that belongs to
    another account (its user column holds another pseudonym) is not this person's
    leftover but another account holding the same identifier — a shared family phone, or
    a second account of the same person. Erasure must not delete another account's rows
    on a guess, so those are reported apart, naming the account, for a person to review
    (and erase by its own request if it is the requester's); every other hit is a
    residual and the erasure is not verified.
    """
    residuals: list[str] = []
    shared: list[str] = []
    engine = ctx.engine()
    owners = dict(_user_tables(engine, ctx))
    for table in engine.tables():
        if table == TOMBSTONES or table.startswith("pg_legal_hold_"):
            continue
        cols = [str(r[0]) for r in engine.query_rows(
            "SELECT column_name FROM information_schema.columns WHERE table_name = ? "
            "AND data_type IN ('VARCHAR', 'JSON')", [table])]
        if not cols:
            continue
        # one scan per table: a count per column of rows holding any probe, per owner
        holds = [" OR ".join(f"contains(CAST({q(c)} AS VARCHAR), ?)" for _ in probes)
                 for c in cols]
        sums = ", ".join(f"sum(CASE WHEN {h} THEN 1 ELSE 0 END)" for h in holds)
        params = [p for _ in cols for p in probes]
        owner = owners.get(table)
        if owner is None:
            counts = engine.query_rows(f"SELECT {sums} FROM {q(table)}", params)[0]
            residuals += [f"warehouse {table}.{col}: {n} row(s)"
                          for col, n in zip(cols, counts, strict=True) if n]
            continue
        other = f"{q(owner)} IS NOT NULL AND {q(owner)} <> ?"
        rows = engine.query_rows(
            f"SELECT CASE WHEN {other} THEN {q(owner)} END AS account, {sums} "
            f"FROM {q(table)} WHERE {' OR '.join(f'({h})' for h in holds)} GROUP BY account "
            "ORDER BY account NULLS FIRST", [pid, *params, *params])
        for account, *per_col in rows:
            for col, n in zip(cols, per_col, strict=True):
                if not n:
                    continue
                if account is None:
                    residuals.append(f"warehouse {table}.{col}: {n} row(s)")
                else:
                    shared.append(f"warehouse {table}.{col}: {n} row(s) of account {account} "
                                  "hold the same identifier (another person's, or a second "
                                  "account of this person: review, and erase it by its own "
                                  "request if it is theirs)")
    keep = {"ledger", "rights_requests", "tombstones", "schema_version"}
    with ctx.store.read() as conn:
        for op_table in t.metadata.sorted_tables:
            if op_table.name in keep:
                continue
            text_cols = [c for c in op_table.columns
                         if isinstance(c.type, sa.String | sa.Text | sa.JSON)]
            if not text_cols:
                continue
            # one scan per table (the consent log is the largest: ~10 rows per person): per
            # text column, the rows holding any probe
            hits = conn.execute(sa.select(*(
                sa.func.sum(sa.case((sa.or_(*(sa.cast(c, sa.Text).contains(p, autoescape=True)
                                              for p in sorted(probes))), 1), else_=0))
                for c in text_cols)).select_from(op_table)).one()
            for c, hit in zip(text_cols, hits, strict=True):
                if hit:
                    residuals.append(f"state {op_table.name}.{c.name}: {hit} row(s)")
    residuals += _scan_files(ctx.exports_dir, probes - {pid})
    return residuals, shared


def _scan_files(folder: Path, probes: set[str]) -> list[str]:
    out: list[str] = []
    if not folder.exists():
        return out
    encoded = [p.encode("utf-8") for p in probes]
    for path in folder.rglob("*"):
        if path.is_file():
            data = path.read_bytes()
            if any(p in data for p in encoded):
                out.append(f"export file {path}")
    return out
