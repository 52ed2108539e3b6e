"""The Spark engine behind the Engine protocol: the statements the build issues, written in
DuckDB SQL, behave on Spark as they do on DuckDB."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest

from profileguard.errors import ProfileguardError
from profileguard.store.engine import DuckDBEngine, Engine

pytestmark = pytest.mark.spark


def test_spark_engine_satisfies_the_engine_protocol(spark_engine: Any) -> None:
    assert isinstance(spark_engine, Engine)


def test_registry_statements_of_a_snapshot_switch_work_as_on_duckdb(spark_engine: Any) -> None:
    for engine in (spark_engine, DuckDBEngine()):
        engine.execute("CREATE TABLE IF NOT EXISTS pg_snapshots (id BIGINT PRIMARY KEY, "
                       "as_of TIMESTAMP, counts VARCHAR)")
        engine.execute("CREATE TABLE IF NOT EXISTS pg_snapshots (id BIGINT)")  # a no-op
        with engine.transaction():
            engine.execute("INSERT INTO pg_snapshots VALUES (?, ?, ?)",
                           [1, dt.datetime(2026, 11, 1), "it's a \\ quote"])
            engine.execute("INSERT INTO pg_snapshots VALUES (?, ?, ?)", [2, None, "{}"])
        engine.execute("DELETE FROM pg_snapshots WHERE id = ?", [2])
        assert engine.query_rows("SELECT id, as_of, counts FROM pg_snapshots") == [
            (1, dt.datetime(2026, 11, 1), "it's a \\ quote")]
        assert engine.column_types("pg_snapshots") == {
            "id": "BIGINT", "as_of": "TIMESTAMP", "counts": "VARCHAR"}


def test_failed_transaction_leaves_every_table_as_it_was(spark_engine: Any) -> None:
    spark_engine.execute("CREATE TABLE pg_current (id BIGINT)")
    spark_engine.execute("INSERT INTO pg_current VALUES (?)", [1])
    with pytest.raises(RuntimeError), spark_engine.transaction():
        spark_engine.execute("DELETE FROM pg_current")
        spark_engine.execute("INSERT INTO pg_current VALUES (?)", [2])
        spark_engine.execute("CREATE OR REPLACE TABLE other AS SELECT 1 AS x")
        assert spark_engine.query_rows("SELECT id FROM pg_current") == [(2,)]
        raise RuntimeError("crash before commit")
    assert spark_engine.query_rows("SELECT id FROM pg_current") == [(1,)]
    assert not spark_engine.table_exists("other")


def test_create_or_replace_reading_itself_and_a_second_engine_sees_the_switch(
        spark_engine: Any, spark_session: Any, tmp_path: Path) -> None:
    from profileguard.store.spark import SparkEngine

    spark_engine.execute("CREATE OR REPLACE TABLE _b_wide AS SELECT 'u1' AS user_id, 2 AS n")
    reader = SparkEngine(spark_engine.catalog.root, session=spark_session)
    assert reader.query_rows("SELECT n FROM _b_wide") == [(2,)]
    spark_engine.execute("CREATE OR REPLACE TABLE _b_wide AS SELECT w.*, w.n * 10 AS m "
                         "FROM _b_wide w")
    assert reader.query_rows("SELECT user_id, n, m FROM _b_wide") == [("u1", 2, 20)]
    reader.close()


def test_load_arrow_replace_append_and_create(spark_engine: Any) -> None:
    data = pa.table({"user_pid": ["a", "b"],
                     "created_at": pa.array([dt.datetime(2026, 1, 1)] * 2, pa.timestamp("us"))})
    assert spark_engine.load_arrow("_d_overrides", data, mode="replace") == 2
    assert spark_engine.load_arrow("_d_overrides", data.select(["user_pid"])) == 2
    rows = spark_engine.query_rows("SELECT user_pid, created_at FROM _d_overrides "
                                   "ORDER BY user_pid, created_at NULLS LAST")
    assert rows == [("a", dt.datetime(2026, 1, 1)), ("a", None),
                    ("b", dt.datetime(2026, 1, 1)), ("b", None)]
    assert spark_engine.column_types("_d_overrides")["created_at"] == "TIMESTAMP"
    empty = pa.table({"user_pid": pa.array([], pa.string())})
    assert spark_engine.load_arrow("_d_objectors", empty, mode="replace") == 0
    assert spark_engine.query_rows("SELECT count(*) FROM _d_objectors") == [(0,)]
    with pytest.raises(ProfileguardError, match="already exists"):
        spark_engine.load_arrow("_d_objectors", empty, mode="create")


def test_streamed_reader_is_loaded_in_chunks(spark_engine: Any,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    import profileguard.store.spark as spark_module

    monkeypatch.setattr(spark_module, "LOAD_CHUNK_ROWS", 3)
    batches = [pa.record_batch({"n": list(range(i, i + 2))}) for i in range(0, 8, 2)]
    reader = pa.RecordBatchReader.from_batches(batches[0].schema, iter(batches))
    assert spark_engine.load_arrow("numbers", reader, mode="replace") == 8
    assert spark_engine.query_rows("SELECT sum(n), count(*) FROM numbers") == [(28, 8)]


def test_arrow_results_use_duckdb_types(spark_engine: Any) -> None:
    table = spark_engine.query_arrow(
        "SELECT 'x' AS s, CAST(1.5 AS DECIMAL(18,2)) AS d, TIMESTAMP '2026-11-01 00:00:00' AS t")
    assert table.schema.field("s").type == pa.string()
    assert table.schema.field("t").type == pa.timestamp("us")
    assert table.column("d").to_pylist()[0] == pytest.approx(1.5)


def test_unsupported_statement_and_unknown_table_are_user_errors(spark_engine: Any) -> None:
    spark_engine.execute("CHECKPOINT")  # every write is already durable: accepted
    with pytest.raises(ProfileguardError, match="not supported"):
        spark_engine.execute("CREATE SEQUENCE s")
    with pytest.raises(ProfileguardError, match="does not exist"):
        spark_engine.execute("DELETE FROM nowhere WHERE x = 1")
    with pytest.raises(ProfileguardError, match="placeholders"):
        spark_engine.execute("SELECT ?", [])


def test_a_view_lives_in_the_engines_session_only_and_is_dropped(spark_engine: Any) -> None:
    """How ingestion stages a file: named, queried, dropped — never in the catalog."""
    spark_engine.execute("CREATE TEMP VIEW staged AS SELECT 1 AS x UNION ALL SELECT 2")
    assert spark_engine.query_rows("SELECT sum(x) FROM staged") == [(3,)]
    assert not spark_engine.table_exists("staged")
    spark_engine.execute("DROP VIEW IF EXISTS staged")
    with pytest.raises(ProfileguardError, match="staged"):
        spark_engine.query_rows("SELECT * FROM staged")
