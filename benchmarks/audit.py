"""Audit time on a demo workspace of N users (target: < 30 s at 1,000,000 users).

The workspace (generated, ingested with the compliant manifest, consent log imported) is
cached under ``benchmarks/data/audit-<users>/`` and reused; no profile build is run (the
audit reads the warehouse tables, the operational store and the ledger). Both manifests
are audited on it (naive.yaml reads the same stores), with the time of each fact group,
the rules and the reports, wall and CPU seconds.

Side by side in the same run: the consent facts' queries as they were before
``consents_current`` (the record in force found by a GROUP BY over the whole consent log,
known users by a UNION over it) against the aggregates over ``consents_current``. A store
made before migration 4 is migrated on first open; that one-time backfill is timed too.

    .venv/bin/python benchmarks/audit.py --users 100000
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import DATA, RESULTS, ResultTable, fmt_ratio

AS_OF = dt.datetime(2026, 11, 1)


def workspace(users: int, consent_load: str = "book", sources: list[str] | None = None
              ) -> tuple[Path, float]:
    """The cached workspace (built once): returns its folder and the build seconds (0 if reused).

    Stages, each resumable by its marker file: generate, ingest (the real gate; every
    source, or only ``sources``), consent log (``book``: ``ConsentBook.import_arrow``;
    ``bulk``: :func:`bulk_load_consents`). The markers say how it was made (:func:`made`).
    """
    root = DATA / f"audit-{users}"
    done = root / ".ready"
    if done.exists():
        return root, 0.0
    print(f"building the {users:,}-user workspace in {root} (once; resumable)…", flush=True)
    start = time.perf_counter()
    generate_stage(root, users)
    ingest_stage(root, sources)
    consent_stage(root, consent_load)
    done.write_text("ok\n")
    return root, time.perf_counter() - start


def generate_stage(root: Path, users: int) -> None:
    from profileguard.demo.generate import generate
    from profileguard.demo.run import write_manifests

    if not (root / ".generated").exists():
        generate(root / "data", users=users, seed=11, as_of=AS_OF)
        write_manifests(root)
        (root / ".generated").write_text("ok\n")


def ingest_stage(root: Path, sources: list[str] | None = None) -> None:
    from profileguard.collect.ingest import ingest
    from profileguard.pipeline.services import open_services

    if not (root / ".ingested").exists():
        for name in ("warehouse.duckdb", "warehouse.duckdb.wal"):
            (root / ".profileguard" / name).unlink(missing_ok=True)
        with open_services(root / "profileguard.yaml") as svc:
            ingest(svc.engine, svc.manifest, svc.ws.root, svc.ws.key, now=AS_OF,
                   sources=sources)
        (root / ".ingested").write_text((",".join(sources) if sources else "all") + "\n")


def made(root: Path) -> str:
    """How the workspace was made, from its stage markers."""
    def marker(name: str, default: str) -> str:
        path = root / name
        text = path.read_text().strip() if path.exists() else ""
        return default if text in ("", "ok") else text

    ingested = marker(".ingested", "all")
    loaded = marker(".consents", "book")
    return ("ingested through the gate: " + ("every source" if ingested == "all" else
                                             f"only {ingested} (the other sources not)")
            + "; consent log " + ("imported by ConsentBook.import_arrow" if loaded == "book"
                                  else "loaded inside SQLite by bulk_load_consents (same "
                                       "rows; see benchmarks/audit.py)"))


def consent_stage(root: Path, mode: str) -> None:
    import pyarrow.csv as pcsv

    from profileguard.errors import ProfileguardError
    from profileguard.pipeline.services import open_services

    marker = root / ".consents"
    if marker.exists():
        return
    if mode == "bulk":  # keeps an identity map already registered by an interrupted run
        with open_services(root / "profileguard.yaml") as svc:
            bulk_load_consents(svc, root / "data" / "consents.csv")
        marker.write_text(f"{mode}\n")
        return
    for name in ("state.db", "state.db-wal", "state.db-shm"):
        (root / ".profileguard" / name).unlink(missing_ok=True)
    consents = pcsv.read_csv(root / "data" / "consents.csv",
                             convert_options=pcsv.ConvertOptions(strings_can_be_null=True))
    # the ledger's raw-identifier check can mistake a batch digest for a resident ID (a run
    # of 18 digits in the hex); another batch size gives other digests
    for batch in (20_000, 30_011, 47_017):
        try:
            with open_services(root / "profileguard.yaml") as svc:
                svc.book.import_arrow(consents, batch_size=batch)
            break
        except ProfileguardError as exc:
            print(f"consent load with batch {batch:,} refused ({exc}); retrying", flush=True)
            (root / ".profileguard" / "state.db").unlink(missing_ok=True)
    else:
        raise SystemExit("consent load failed with every batch size")
    marker.write_text(f"{mode}\n")


def bulk_load_consents(svc: Any, csv_path: Path) -> None:
    """The same log rows ``import_arrow`` writes, loaded inside SQLite for big workspaces.

    ``ConsentBook.import_arrow`` validates and converts row by row in Python (~1,600 rows/s
    on the loaded shared machine: ~100 min for the 1M-user log of ~9.4M rows). Here the
    ``sqlite3`` shell's ``.import`` stages the CSV as text and one ``INSERT … SELECT``
    writes identical ``consents`` rows (pseudonyms from the identity map, which
    ``register_identities`` filled with the store's key; UTC times in SQLite's text form).
    The ledger gets one ``consent.import`` entry with the SHA-256 of the CSV file (the
    importer's is per batch, over canonical JSON); then ``consents_current`` is derived with
    :func:`consents_current.rebuild`, which is what migration 4 does for an existing store.
    """
    import base64
    import hashlib
    import subprocess

    import pyarrow as pa
    import pyarrow.csv as pcsv
    import sqlalchemy as sa

    from profileguard.store import consents_current
    from profileguard.store import tables as t
    from profileguard.store.operational import utcnow

    store = svc.store
    database = store.engine.url.database
    if store.dialect != "sqlite" or not database:
        raise SystemExit("the bulk consent load writes a SQLite file only")
    with store.read() as conn:
        if conn.exec_driver_sql("SELECT count(*) FROM consents").scalar_one():
            raise SystemExit(f"{database} already holds consent records; delete it first")
    ids = pcsv.read_csv(csv_path, convert_options=pcsv.ConvertOptions(
        include_columns=["user_id"], column_types={"user_id": pa.string()}))["user_id"]
    store.register_identities(dict.fromkeys(ids.to_pylist()))
    with store.read() as conn:  # .import commits all or nothing: a staged CSV is whole
        is_staged = sa.inspect(conn).has_table("consents_staging")
    if not is_staged:
        subprocess.run(["sqlite3", database, ".mode csv",
                        f".import '{csv_path}' consents_staging"], check=True)
    recorded = utcnow().strftime("%Y-%m-%d %H:%M:%S.%f")
    with store.write() as conn:
        # the log's two indexes are built once after the insert (a sort) instead of taking
        # ~9M random inserts each through a small page cache
        conn.exec_driver_sql("PRAGMA cache_size = -1048576")  # KiB: 1 GiB for this load
        for index in t.consents.indexes:
            index.drop(conn, checkfirst=True)
        bad = conn.exec_driver_sql(
            "SELECT count(*) FROM consents_staging WHERE status NOT IN ('granted', 'refused', "
            "'withdrawn') OR consent_type NOT IN ('general', 'separate', 'explicit', "
            "'guardian') OR length(ts) != 19 OR purpose = ''").scalar_one()
        if bad:
            raise SystemExit(f"{csv_path}: {bad} rows need the importer's checks; use "
                             "--consent-load book")
        inserted = conn.exec_driver_sql(
            "INSERT INTO consents (user_pid, purpose, recipient, status, consent_type, "
            "notice_version, surface, pre_ticked, bundled, clicks_to_give, clicks_to_withdraw, "
            "source, given_at, recorded_at) SELECT m.user_pid, s.purpose, s.recipient, "
            "s.status, s.consent_type, nullif(s.notice_version, ''), nullif(s.surface, ''), "
            "lower(s.pre_ticked) IN ('true', '1', 'yes', 'y', 't'), "
            "lower(s.bundled) IN ('true', '1', 'yes', 'y', 't'), "
            "CAST(nullif(s.clicks_to_give, '') AS INTEGER), "
            "CAST(nullif(s.clicks_to_withdraw, '') AS INTEGER), 'import', "
            "s.ts || '.000000', ? FROM consents_staging s JOIN identity_map m "
            "ON m.user_id = s.user_id ORDER BY s.rowid", (recorded,)).rowcount
        staged = conn.exec_driver_sql("SELECT count(*) FROM consents_staging").scalar_one()
        if inserted != staged:
            raise SystemExit(f"{staged - inserted} staged rows found no pseudonym")
        # base64, not hex: a run of 18 hex digits can look like a resident ID to the ledger
        digest = base64.b64encode(hashlib.sha256(csv_path.read_bytes()).digest()).decode()
        svc.book.ledger.append("consent.import", "benchmark", None,
                               {"rows": int(inserted), "sha256_file_b64": digest,
                                "source": "benchmark sqlite import"}, conn=conn)
        conn.exec_driver_sql("DROP TABLE consents_staging")
        for index in t.consents.indexes:
            index.create(conn)
    with store.write() as conn:
        conn.exec_driver_sql("PRAGMA cache_size = -1048576")
        consents_current.rebuild(conn)


def migrate_if_old(root: Path) -> dict[str, float] | None:
    """Apply pending migrations (4 backfills consents_current from the log), timed."""
    from profileguard.store.operational import OperationalStore, default_url

    store = OperationalStore(default_url(root), migrate=False)
    try:
        before = store.schema_version()
        if before >= 4:
            return None
        wall, cpu = time.perf_counter(), time.process_time()
        store.migrate()
        return {"from": before, "wall": time.perf_counter() - wall,
                "cpu": time.process_time() - cpu}
    finally:
        store.close()


def timed_audit(root: Path, manifest: str) -> dict[str, Any]:
    from profileguard.audit import facts
    from profileguard.audit.api import render
    from profileguard.audit.engine import run_audit
    from profileguard.manifest import load_manifest
    from profileguard.pipeline.services import open_services

    timings: dict[str, float] = {}
    start, cpu = time.perf_counter(), time.process_time()
    loaded = load_manifest(root / manifest)
    with open_services(root / "profileguard.yaml") as svc:
        opened = time.perf_counter()
        ctx = facts.gather_context(svc, AS_OF.date(), loaded=loaded, timings=timings)
        gathered = time.perf_counter()
        result = run_audit(ctx, sha256=loaded.sha256)
        ruled = time.perf_counter()
        render(result, "html")
        render(result, "sarif", root)
    end = time.perf_counter()
    return {**timings, "open": opened - start, "rules": ruled - gathered,
            "reports": end - ruled, "total": end - start, "cpu": time.process_time() - cpu,
            "findings": len(result.findings), "score": result.score,
            "keys": sum(c.users for c in ctx.consent.in_force) if ctx.consent else 0}


def consent_queries(root: Path, source: str) -> dict[str, Any]:
    """The consent facts' two big queries, from the log (before) or consents_current."""
    import sqlalchemy as sa

    from profileguard.audit import facts
    from profileguard.store.operational import OperationalStore, default_url

    store = OperationalStore(default_url(root))
    wall, cpu = time.perf_counter(), time.process_time()
    with store.read() as conn:
        if source == "log":
            rows = conn.execute(sa.text(
                "SELECT purpose, recipient, status, consent_type, pre_ticked, bundled, "
                "notice_version, count(*) FROM (SELECT user_pid, purpose, recipient, status, "
                "consent_type, pre_ticked, bundled, notice_version, max(given_at) AS latest_ "
                "FROM consents NOT INDEXED GROUP BY user_pid, purpose, recipient) "
                "GROUP BY 1, 2, 3, 4, 5, 6, 7")).all()
            known = conn.execute(sa.text(
                "SELECT count(*) FROM (SELECT user_pid FROM identity_map UNION "
                "SELECT user_pid FROM consents UNION SELECT user_pid FROM preferences)")).scalar()
        else:
            cc = sa.table("consents_current", *(sa.column(n) for n in (
                "purpose", "recipient", "status", "consent_type", "pre_ticked", "bundled",
                "notice_version")))
            keys = list(cc.c)
            rows = conn.execute(sa.select(*keys, sa.func.count()).group_by(*keys)).all()
            known = facts._users_known(conn)
    out = {"wall": time.perf_counter() - wall, "cpu": time.process_time() - cpu,
           "keys": sum(int(r[-1]) for r in rows), "known": int(known or 0)}
    with store.read() as conn:
        out["log_rows"] = int(conn.execute(sa.text("SELECT count(*) FROM consents")).scalar_one())
    store.close()
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--users", type=int, default=1_000_000)
    parser.add_argument("--no-baseline", action="store_true",
                        help="skip the before/after comparison of the consent queries")
    parser.add_argument("--consent-load", choices=("book", "bulk"), default="book",
                        help="how a new workspace gets its consent log (bulk: SQLite, "
                             "column-wise, for 1M users)")
    parser.add_argument("--sources", help="comma-separated sources to ingest into a new "
                                          "workspace (default: all)")
    parser.add_argument("--results", type=Path, default=RESULTS)
    args = parser.parse_args()
    root, built = workspace(args.users, args.consent_load,
                            args.sources.split(",") if args.sources else None)
    migrated = migrate_if_old(root)
    rows = [(name, timed_audit(root, name)) for name in ("profileguard.yaml", "naive.yaml")]
    command = " ".join(["python benchmarks/audit.py", f"--users {args.users}"]
                       + ([f"--consent-load {args.consent_load}"]
                          if args.consent_load != "book" else [])
                       + ([f"--sources {args.sources}"] if args.sources else [])
                       + (["--no-baseline"] if args.no_baseline else []))
    table = ResultTable(
        f"audit (manifest audit over a workspace), {args.users:,} users", command,
        ["manifest", "open s", "warehouse s", "consent s", "rights s", "ledger s",
         "incidents s", "rules s", "reports s", "total s", "CPU s", "findings", "score"])
    for name, r in rows:
        table.add(name, r["open"], r["warehouse"], r["consent"], r["rights"], r["ledger"],
                  r["incidents"], r["rules"], r["reports"], r["total"], r["cpu"],
                  r["findings"], r["score"])
    worst = max(float(r["total"]) for _, r in rows)
    table.notes += [
        f"target < 30 s per audit: {'met' if worst < 30 else 'NOT met'} (slowest {worst:.1f} s)"
        + ("" if args.users == 1_000_000 else
           f"; run at {args.users:,} users, not the 1,000,000-user target size"),
        "total = open (manifest, services) + facts + rules + reports (HTML and SARIF); wall "
        "seconds on a shared 2-core machine, CPU s = this process's CPU time (DuckDB's threads "
        "included)",
        f"{rows[0][1]['keys']:,} user × purpose × recipient keys in force",
        (f"workspace built in {built:.0f} s (generate + ingest + consent log), not included"
         if built else "cached workspace reused") + "; " + made(root),
    ]
    if migrated:
        table.notes.append(
            f"the store was at schema version {migrated['from']:.0f}; migration 4 (create and "
            f"backfill consents_current from the log) took {migrated['wall']:.1f} s wall, "
            f"{migrated['cpu']:.1f} s CPU, once, before the audits")
    table.emit(args.results)
    if args.no_baseline:
        return
    after = consent_queries(root, "current")
    before = consent_queries(root, "log")
    assert (before["keys"], before["known"]) == (after["keys"], after["known"]), (before, after)
    compare = ResultTable(
        f"audit consent facts: log scan vs consents_current, {args.users:,} users", command,
        ["consent facts read from", "rows read", "wall s", "CPU s", "× current (wall)",
         "× current (CPU)"])
    compare.add("consent log (before: GROUP BY over every record + UNION of user ids)",
                before["log_rows"], before["wall"], before["cpu"],
                fmt_ratio(before["wall"] / after["wall"]), fmt_ratio(before["cpu"] / after["cpu"]))
    compare.add("consents_current (aggregate over one row per key)", after["keys"],
                after["wall"], after["cpu"], fmt_ratio(1.0), fmt_ratio(1.0))
    compare.notes.append(
        f"both give the same {after['keys']:,} keys in force and {after['known']:,} known "
        "users (checked); SQLite operational store; the guardian-consent check of under-14s "
        "is not part of either row")
    compare.emit(args.results)


if __name__ == "__main__":
    main()
