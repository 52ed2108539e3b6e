"""Ingestion on Spark: the same gate as DuckDB's, differentially tested on the demo data.

The small demo shop is written with every source as Parquet (the CSV sources converted
with the project's own CSV reader, so text stays text) plus one order whose amount is not
a number. The same files are ingested once on DuckDB and once on Spark local[2]; every
source table, the quarantine (row, column, reason, detail, the row as read) and the
consent hold must be identical — as multisets, so a duplicated or missing row fails.
"""

from __future__ import annotations

import datetime as dt
import re
import shutil
from collections import Counter
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.csv as pcsv
import pyarrow.parquet as pq
import pytest

from profileguard.collect.ingest import HELD, INGEST_FILES, QUARANTINE, IngestReport
from profileguard.collect.readers import ROW, open_source
from profileguard.errors import ProfileguardError
from profileguard.manifest import load_manifest
from profileguard.pipeline.ingest import ingest_workspace
from profileguard.pipeline.services import open_services

pytestmark = pytest.mark.spark

NOW = dt.datetime(2026, 11, 1)
BAD_ORDER = "O-NOT-A-NUMBER"


def _to_parquet(root: Path) -> None:
    """Rewrite every CSV source of the workspace as Parquet (text columns) and declare it."""
    manifest = root / "profileguard.yaml"
    m = load_manifest(manifest).manifest
    text = manifest.read_text("utf-8")
    for name, src in m.sources.items():
        if src.format != "csv":
            continue
        assert src.path
        [sf] = open_source(src, name, root)
        table = pa.Table.from_batches(list(sf.batches)).drop_columns([ROW])
        if name == "orders":  # one row the gate must quarantine as bad_type
            row = {c: table.column(c)[0].as_py() for c in table.column_names}
            row.update(order_id=BAD_ORDER, paid_amount="12,5 yuan")
            table = pa.concat_tables([table, pa.Table.from_pylist([row], table.schema)])
        pq.write_table(table, root / Path(src.path).with_suffix(".parquet"))
        text = text.replace(src.path, str(Path(src.path).with_suffix(".parquet")))
    text = re.sub(r"format: csv\b", "format: parquet", text)
    manifest.write_text(text, "utf-8")


@pytest.fixture(scope="module")
def parquet_shop(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The 300-user demo shop with Parquet sources, not ingested, consents imported."""
    from profileguard.demo.generate import generate
    from profileguard.demo.run import write_manifests

    root = tmp_path_factory.mktemp("parquet-shop")
    generate(root / "data", users=300, seed=11, as_of=NOW)
    write_manifests(root)
    _to_parquet(root)
    with open_services(root / "profileguard.yaml") as svc:
        svc.book.import_arrow(pcsv.read_csv(
            root / "data" / "consents.csv",
            convert_options=pcsv.ConvertOptions(strings_can_be_null=True)))
    return root


def _rows(engine: Any, sql: str) -> Counter[tuple[Any, ...]]:
    return Counter(tuple(r) for r in engine.query_rows(sql))


def _ingested(root: Path, engine: str) -> dict[str, Any]:
    """Ingest a copy of ``root`` on ``engine``; every table it wrote, as multisets."""
    ws = root.parent / f"{root.name}-{engine}"
    shutil.copytree(root, ws)
    out: dict[str, Any] = {}
    with open_services(ws / "profileguard.yaml", engine=engine) as svc:
        report = ingest_workspace(svc, now=NOW)
        store = svc.build_engine
        for name in svc.manifest.sources:
            cols = ", ".join(f'"{c}"' for c in store.columns(name) if c != "_file_id")
            out[name] = _rows(store, f'SELECT {cols} FROM "{name}"')
        out[QUARANTINE] = _rows(store, f"SELECT source, regexp_replace(file, '.*/', ''), "
                                f"\"row\", \"column\", reason, detail, raw, user_pid "
                                f"FROM {QUARANTINE}")
        out[HELD] = _rows(store, f"SELECT source, \"row\", user_pid, raw FROM {HELD}")
        out[INGEST_FILES] = _rows(store, f"SELECT source, rows_in, loaded, quarantined, held "
                                  f"FROM {INGEST_FILES}")
        out["identities"] = svc.store.user_id_for
        out["report"] = report
        out["again"] = ingest_workspace(svc, now=NOW)
    out["ws"] = ws
    return out


@pytest.fixture(scope="module")
def both(spark_session: Any, parquet_shop: Path) -> dict[str, dict[str, Any]]:
    return {name: _ingested(parquet_shop, name) for name in ("duckdb", "spark")}


def test_spark_loads_the_same_rows_as_duckdb_in_every_source_table(
        both: dict[str, dict[str, Any]]) -> None:
    duck, spark = both["duckdb"], both["spark"]
    sources = [s for s in duck if s not in {QUARANTINE, HELD, INGEST_FILES, "identities",
                                            "report", "again", "ws"}]
    assert {"users", "orders", "events", "events_foreign", "items", "quotes"} <= set(sources)
    for name in sources:
        assert sum(duck[name].values()) > 0, name
        assert spark[name] - duck[name] == Counter(), f"{name}: rows only Spark loaded"
        assert duck[name] - spark[name] == Counter(), f"{name}: rows only DuckDB loaded"


def test_spark_quarantines_and_holds_the_same_rows_for_the_same_reasons(
        both: dict[str, dict[str, Any]]) -> None:
    duck, spark = both["duckdb"], both["spark"]
    reasons = {r[4] for r in duck[QUARANTINE]}
    assert "bad_type" in reasons and len(reasons) >= 2
    assert spark[QUARANTINE] == duck[QUARANTINE]
    assert spark[HELD] == duck[HELD]
    assert spark[INGEST_FILES] == duck[INGEST_FILES]


def test_a_bad_parquet_value_is_quarantined_on_spark_with_column_and_reason(
        both: dict[str, dict[str, Any]]) -> None:
    bad = [r for r in both["spark"][QUARANTINE] if BAD_ORDER in (r[6] or "")]
    assert len(bad) == 1
    source, file, _, column, reason, detail, _, user = bad[0]
    assert (source, file, column, reason, detail) == (
        "orders", "orders.parquet", "paid_amount", "bad_type", "not a valid decimal")
    assert user and user.startswith("p_")  # the pseudonym, never the raw id


def test_spark_ingest_reconciles_and_a_second_ingest_loads_nothing(
        both: dict[str, dict[str, Any]]) -> None:
    report: IngestReport = both["spark"]["report"]
    assert report.reconciles and report.loaded > 0
    assert report.rows_in == report.loaded + sum(report.quarantined.values()) + report.held
    assert report.as_dict() == both["duckdb"]["report"].as_dict() | {
        "files": report.as_dict()["files"]}
    again: IngestReport = both["spark"]["again"]
    assert again.loaded == 0 and again.files
    assert all(f.skipped_already_ingested for f in again.files)


def test_a_non_parquet_source_on_spark_is_refused_naming_it(demo_ws: Path) -> None:
    with open_services(demo_ws, engine="spark") as svc, pytest.raises(
            ProfileguardError, match=r"Parquet sources only; not Parquet: .*users \(csv\)"):
        ingest_workspace(svc, now=NOW)


def test_a_source_keeps_the_engine_of_its_first_ingest(
        both: dict[str, dict[str, Any]], demo_ws: Path) -> None:
    with open_services(both["spark"]["ws"] / "profileguard.yaml") as svc, pytest.raises(
            ProfileguardError, match="ingested with --engine spark"):
        ingest_workspace(svc, sources=["events"], now=NOW)
    with open_services(demo_ws, engine="spark") as svc, pytest.raises(
            ProfileguardError, match="ingested with --engine duckdb"):
        ingest_workspace(svc, sources=["events"], now=NOW)


def test_a_spark_build_reads_the_spark_ingested_tables_in_place(
        both: dict[str, dict[str, Any]]) -> None:
    """No export from DuckDB (it has no such tables): the source versions stay those the
    ingest wrote, the minors' checks still see birth dates, and the tags equal a DuckDB
    build over DuckDB's own ingest of the same files."""
    from profileguard.pipeline.profiles import build_profiles

    with open_services(both["duckdb"]["ws"] / "profileguard.yaml") as svc:
        duck = build_profiles(svc, NOW)
        someone = str(svc.engine.query_rows("SELECT min(user_id) FROM users")[0][0])
    with open_services(both["spark"]["ws"] / "profileguard.yaml", engine="spark") as svc:
        assert not svc.engine.table_exists("users")
        assert svc.birth_date_of(someone) is not None  # read from the Spark warehouse
        engine = svc.build_engine
        catalog = engine.catalog  # type: ignore[attr-defined]
        before = {s: catalog.get(s).version for s in svc.manifest.sources}
        spark = build_profiles(svc, NOW)
        assert {s: catalog.get(s).version for s in svc.manifest.sources} == before
    assert spark.users == duck.users > 0
    assert spark.coverage == duck.coverage


TIME_TEXT = ["1730419200", "1730419200.5", "1730419200123", "2026-1-5 3:04:05",
             "2026-01-05 03:04:05.25", "05/01/2026 10:00", "2026-13-01 00:00:00", "", "abc"]


TIME_FORMATS = ["epoch_s", "epoch_ms", "%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M:%S.%f",
                "%d/%m/%Y %H:%M"]


def test_the_gates_time_parsing_gives_duckdbs_timestamps_on_spark(spark_engine: Any) -> None:
    """Every ``time_format`` through the gate's own ``typed_expr``, one Spark job."""
    from profileguard.collect.gate import typed_expr
    from profileguard.manifest.model import FieldDecl, Source
    from profileguard.store.engine import DuckDBEngine

    decl = FieldDecl(category="non_personal", type="timestamp")
    exprs = [typed_expr("ts", decl, Source(format="parquet", path="x", time="ts",
                                           time_format=f)) for f in TIME_FORMATS]
    sample = pa.table({"i": list(range(len(TIME_TEXT))), "ts": TIME_TEXT})
    sql = (f"SELECT i, {', '.join(f'{e} AS t{n}' for n, e in enumerate(exprs))} "
           "FROM sample ORDER BY i")
    spark_engine.load_arrow("sample", sample, mode="replace")
    duck = DuckDBEngine()
    duck.load_arrow("sample", sample, mode="replace")

    def micros(table: pa.Table) -> dict[str, list[int | None]]:  # year 56804: no datetime
        return {f: table.column(f"t{n}").cast(pa.int64()).to_pylist()
                for n, f in enumerate(TIME_FORMATS)}

    expected = micros(duck.query_arrow(sql))
    duck.close()
    assert all(None in v and any(t is not None for t in v) for v in expected.values())
    assert micros(spark_engine.query_arrow(sql)) == expected
