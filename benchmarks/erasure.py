"""Erasure time per user on a generated workspace (issue 5: rights at scale).

Builds (or reuses from benchmarks/data/) a demo workspace of N users — generated, consents
imported, ingested, profiles built — then erases a few users one by one through the rights
desk, timing each and its parts: the warehouse transaction, the rewrite of the warehouse
file (so no deleted bytes remain) and the verification scan. Every erasure must verify
clean (no residuals), or the run fails.

    python benchmarks/erasure.py --users 100000 --erasures 3
"""

from __future__ import annotations

import argparse
import datetime as dt
import shutil
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import DATA, RESULTS, ResultTable

AS_OF = dt.datetime(2026, 11, 1)


def workspace(users: int) -> Path:
    root = DATA / f"erasure-{users}"
    manifest = root / "profileguard.yaml"
    if (root / ".ready").exists():
        return manifest
    shutil.rmtree(root, ignore_errors=True)
    import pyarrow.csv as pcsv

    from profileguard.demo.generate import generate
    from profileguard.demo.run import write_manifests
    from profileguard.pipeline.ingest import ingest_workspace
    from profileguard.pipeline.profiles import build_profiles
    from profileguard.pipeline.services import open_services

    generate(root / "data", users=users, seed=5, as_of=AS_OF)
    write_manifests(root)
    with open_services(manifest) as svc:
        svc.book.import_arrow(pcsv.read_csv(root / "data" / "consents.csv",
                                            convert_options=pcsv.ConvertOptions(
                                                strings_can_be_null=True)))
        ingest_workspace(svc, now=AS_OF)
        build_profiles(svc, AS_OF)
    (root / ".ready").touch()
    return manifest


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=20_000)
    parser.add_argument("--erasures", type=int, default=3)
    parser.add_argument("--quick", action="store_true", help="2,000 users")
    parser.add_argument("--results", type=Path, default=RESULTS)
    parser.add_argument("--workspace", type=Path, default=None,
                        help="erase from an existing workspace (its profileguard.yaml) instead, "
                             "e.g. the 1M-user one benchmarks/build.py leaves in benchmarks/data")
    args = parser.parse_args()
    users = 2_000 if args.quick else args.users
    started = time.perf_counter()
    manifest = args.workspace or workspace(users)
    prepare = time.perf_counter() - started
    import csv

    import profileguard.rights.erasure as erasure
    from profileguard.pipeline.rights import handle
    from profileguard.pipeline.services import open_services

    if args.workspace is not None:
        with open_services(manifest) as svc:
            people = [str(r[0]) for r in svc.engine.query_rows(
                "SELECT user_id FROM users ORDER BY user_id LIMIT 10000")]
            users = int(svc.engine.query_rows("SELECT count(*) FROM users")[0][0])
    else:
        with (manifest.parent / "data" / "users.csv").open(encoding="utf-8") as fh:
            people = [r["user_id"] for r in csv.DictReader(fh)]
    table = ResultTable(title=f"Erasure per user ({users:,} users)",
                        command=" ".join(sys.argv),
                        headers=["user", "total s", "compaction s", "verification s",
                                 "rows deleted", "residuals"])
    timings: dict[str, float] = {}
    for i in range(args.erasures):
        user = people[(i * 7919) % len(people)]
        with open_services(manifest) as svc:
            compact, verify = svc.ws.compact_warehouse, erasure.verify_erased

            def timed_compact(fn=compact) -> None:  # type: ignore[no-untyped-def]
                t0 = time.perf_counter()
                fn()
                timings["compact"] = time.perf_counter() - t0

            def timed_verify(*a, fn=verify):  # type: ignore[no-untyped-def]
                t0 = time.perf_counter()
                out = fn(*a)
                timings["verify"] = time.perf_counter() - t0
                return out

            svc.ws.compact_warehouse = timed_compact  # type: ignore[method-assign]
            erasure.verify_erased = timed_verify
            t0 = time.perf_counter()
            req = handle(svc, user, "delete", actor="benchmark")
            total = time.perf_counter() - t0
            erasure.verify_erased = verify
        result = req.result or {}
        deleted = sum(v for v in result.get("deleted", {}).values() if isinstance(v, int))
        table.add(f"#{i + 1}", total, timings.get("compact", float("nan")),
                  timings.get("verify", float("nan")), deleted, len(result.get("residuals", [])))
        if result.get("residuals"):
            table.notes.append(f"residuals for #{i + 1}: {result['residuals']}")
    table.notes.append(f"workspace preparation (generate, consents, ingest, build; cached): "
                       f"{prepare:,.0f} s")
    table.notes.append("compaction rewrites the whole warehouse file so deleted values leave "
                       "no bytes on disk; its cost grows with the warehouse, not the person")
    table.emit(args.results)
    if any("residuals for" in n for n in table.notes):
        sys.exit(1)


if __name__ == "__main__":
    main()
