"""Benchmark: recommendations per second and audience selection latency at 1M users.

- **recommendations**: a demo shop of ``--users`` people is generated, ingested, its
  consent log imported and its profiles built (in a temporary folder); then
  ``Recommender.recommend`` is called for every user whose personalization consent is in
  force (personalized: consent check + one behaviour read + scoring) and for the same users
  non-personalized (consent-free popularity list). The item model build is timed apart.
- **audience selection**: a SYNTHETIC wide snapshot of ``--audience-users`` rows (the
  demo's tag columns with random values drawn in DuckDB) is registered as the current
  snapshot of that workspace, with a synthetic guard table of the same size (random
  objection / consent / recipient-consent / minor flags) marked fresh. ``select_audience``
  — expression validation, criterion guards, freshness check and the one counting query —
  is timed (median of ``--repeat``), for three expressions. Refreshing the guard table
  from the ConsentBook is a separate cost (bulk decisions; see the rights benchmark) and
  is timed here only at the shop's real size.

    .venv/bin/python benchmarks/apply.py [--users 3000] [--audience-users 1000000]

Target: selection over 1M users under 100 ms.
"""

from __future__ import annotations

import argparse
import datetime as dt
import statistics
import sys
import tempfile
import time
from pathlib import Path

import pyarrow.csv as pcsv

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import RESULTS, ResultTable
from profileguard.apply.audience import AudienceSpec, select_audience
from profileguard.apply.audience_guards import META, guard_table
from profileguard.apply.recommend import Recommender
from profileguard.demo.generate import generate
from profileguard.demo.run import write_manifests
from profileguard.model.snapshot import SnapshotInfo, current, register
from profileguard.pipeline.ingest import ingest_workspace
from profileguard.pipeline.profiles import build_profiles
from profileguard.pipeline.services import Services, open_services

AS_OF = dt.datetime(2026, 11, 1)
EXPRESSIONS = (
    ("one tag", "preferred_category = 'beauty'"),
    ("two tags", "preferred_category IN ('beauty', 'apparel') AND age_band = '26-30'"),
    ("two tags + input, OR", "(age_band = '31-40' AND preferred_category = 'electronics') "
                             "OR (preferred_category = 'beauty' AND age_band__age "
                             "BETWEEN 20 AND 35)"),
)


def shop(root: Path, users: int) -> None:
    generate(root / "data", users=users, seed=7, as_of=AS_OF)
    write_manifests(root)
    with open_services(root / "profileguard.yaml") as svc:
        ingest_workspace(svc, now=AS_OF)
        consents = pcsv.read_csv(root / "data" / "consents.csv",
                                 convert_options=pcsv.ConvertOptions(strings_can_be_null=True))
        svc.book.import_arrow(consents)
        build_profiles(svc, AS_OF)


def bench_recommend(svc: Services, table: ResultTable) -> None:
    rec = Recommender(svc)
    t0 = time.perf_counter()
    users = rec.model_users()
    model = rec.model
    table.add("item model build", f"{model.users_in_model:,} users, "
              f"{len(model.neighbours):,} items", time.perf_counter() - t0, "–")
    for mode in ("personalized", "non_personalized"):
        t0 = time.perf_counter()
        served = [rec.recommend(u, 10, mode).mode for u in users]  # type: ignore[arg-type]
        took = time.perf_counter() - t0
        table.add(f"recommend ({mode})", f"{len(users):,} calls "
                  f"({served.count('personalized'):,} personalized)", took,
                  len(users) / took)


def synthetic_snapshot(svc: Services, n: int) -> None:
    eng = svc.engine
    real = current(eng)
    assert real is not None
    sid = real.id + 1000
    eng.execute(f"""CREATE OR REPLACE TABLE snap_{sid}_wide AS
        SELECT 'p_' || lpad(CAST(i AS VARCHAR), 26, '0') AS user_id,
               ['男', '女'][1 + CAST(hash(i) % 2 AS BIGINT)] AS gender,
               ['18-25', '26-30', '31-40', '41-50', '51+'][1 + CAST(hash(i + 1) % 5 AS BIGINT)]
                   AS age_band,
               18 + CAST(hash(i + 4) % 50 AS BIGINT) AS age_band__age,
               ['beauty', 'apparel', 'electronics', 'home', 'groceries', 'health',
                'baby_mother', 'sports', 'adult'][1 + CAST(hash(i + 2) % 9 AS BIGINT)]
                   AS preferred_category,
               ['champions', 'loyal', 'about_to_sleep', 'at_risk', 'new'][
                   1 + CAST(hash(i + 3) % 5 AS BIGINT)] AS rfm_segment
        FROM range({n}) t(i)""")
    register(eng, SnapshotInfo(sid, AS_OF, dt.datetime.now(), real.manifest_sha256, n, {}),
             keep=5)
    snap = current(eng)
    assert snap is not None and snap.id == sid
    real_guard = guard_table(svc, snap, "advertising", "AdNet Ltd")  # names + meta row
    eng.execute(f"""CREATE OR REPLACE TABLE {real_guard.name} AS
        SELECT *, NOT objected AND recipient_consent AND NOT minor AS eligible FROM (
          SELECT rowid AS _rid, user_id, hash(user_id) % 50 = 0 AS objected,
                 hash(user_id) % 10 < 7 AS consent, 'synthetic' AS consent_reason,
                 hash(user_id) % 10 < 5 AS recipient_consent,
                 hash(user_id || 'm') % 20 = 0 AS minor
          FROM snap_{sid}_wide) ORDER BY _rid""")
    rows = eng.query_rows(f"SELECT ledger_seq FROM {META} WHERE name = ?", [real_guard.name])
    assert rows, "guard meta row missing"


def bench_audience(svc: Services, n: int, repeat: int, table: ResultTable) -> None:
    snap = current(svc.engine)
    assert snap is not None
    t0 = time.perf_counter()
    guard_table(svc, snap, "advertising", "AdNet Ltd", refresh=True)
    table.add("guard table refresh (real consents)", f"{snap.users:,} users",
              time.perf_counter() - t0, "–")
    synthetic_snapshot(svc, n)
    for label, expr in EXPRESSIONS:
        spec = AudienceSpec(expr, "advertising", "AdNet Ltd", min_size=1)
        times, size = [], 0
        for _ in range(repeat):
            t0 = time.perf_counter()
            res = select_audience(svc, spec)
            times.append(time.perf_counter() - t0)
            size = res.size
        med = statistics.median(times)
        table.add(f"select_audience: {label} (synthetic)", f"{n:,} users → {size:,}",
                  med, 1 / med)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=3_000)
    parser.add_argument("--audience-users", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=15)
    parser.add_argument("--no-results", action="store_true", help="do not append RESULTS.md")
    args = parser.parse_args()
    command = "python benchmarks/apply.py " + " ".join(sys.argv[1:])
    table = ResultTable("apply — recommendations and audience selection", command.strip(),
                        ["operation", "size", "seconds", "per second"])
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        t0 = time.perf_counter()
        shop(root, args.users)
        table.notes.append(f"demo shop of {args.users:,} users generated, ingested and built "
                           f"in {time.perf_counter() - t0:.1f} s (not part of the results)")
        with open_services(root / "profileguard.yaml") as svc:
            bench_recommend(svc, table)
            bench_audience(svc, args.audience_users, args.repeat, table)
    table.notes.append("select_audience rows: median of "
                       f"{args.repeat} runs; 'per second' = selections per second; the "
                       "wide snapshot and guard table at that size are synthetic (random "
                       "tag values and guard flags generated in DuckDB), not a real build")
    table.emit(None if args.no_results else RESULTS)


if __name__ == "__main__":
    main()
