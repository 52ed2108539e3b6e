"""The Spark warehouse catalog: pointer switches are atomic, transactions all-or-nothing,
and folders no pointer refers to (crash leftovers, replaced versions) are removed."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from profileguard.store.spark_catalog import CATALOG_FILE, SparkCatalog

SCHEMA = {"type": "struct", "fields": []}


def write_version(catalog: SparkCatalog, name: str) -> str:
    version, path = catalog.new_location(name)
    path.mkdir(parents=True)
    (path / "part-0.parquet").write_bytes(b"data")
    return version


def test_put_switches_the_pointer_and_removes_the_replaced_version(tmp_path: Path) -> None:
    catalog = SparkCatalog(tmp_path)
    first = write_version(catalog, "Orders")
    catalog.put("Orders", first, SCHEMA)
    second = write_version(catalog, "orders")
    catalog.put("orders", second, SCHEMA)
    on_disk = json.loads((tmp_path / CATALOG_FILE).read_text())
    assert on_disk["tables"]["orders"]["version"] == second
    assert [p.name for p in (tmp_path / "orders").iterdir()] == [second]
    assert catalog.get("ORDERS") is not None and catalog.names() == ["orders"]


def test_failed_transaction_publishes_nothing_and_deletes_its_writes(tmp_path: Path) -> None:
    catalog = SparkCatalog(tmp_path)
    catalog.put("pg_current", write_version(catalog, "pg_current"), SCHEMA)
    before = (tmp_path / CATALOG_FILE).read_text()
    with pytest.raises(RuntimeError), catalog.transaction():
        catalog.put("pg_current", write_version(catalog, "pg_current"), SCHEMA)
        catalog.put("pg_snapshots", write_version(catalog, "pg_snapshots"), SCHEMA)
        assert catalog.get("pg_snapshots") is not None  # the session sees its own writes
        raise RuntimeError("killed between the two writes")
    assert (tmp_path / CATALOG_FILE).read_text() == before
    assert catalog.get("pg_snapshots") is None
    assert not (tmp_path / "pg_snapshots").exists()
    assert len(list((tmp_path / "pg_current").iterdir())) == 1


def test_transaction_switches_all_pointers_in_one_write(tmp_path: Path) -> None:
    catalog = SparkCatalog(tmp_path)
    reader = SparkCatalog(tmp_path)
    with catalog.transaction():
        catalog.put("a", write_version(catalog, "a"), SCHEMA)
        catalog.put("b", write_version(catalog, "b"), SCHEMA)
        assert not reader.refresh() and reader.names() == []  # nothing published yet
    assert reader.refresh()
    assert reader.names() == ["a", "b"]


def test_opening_removes_versions_of_a_killed_writer(tmp_path: Path) -> None:
    catalog = SparkCatalog(tmp_path)
    live = write_version(catalog, "snap_1_wide")
    catalog.put("snap_1_wide", live, SCHEMA)
    orphan = write_version(catalog, "snap_2_wide")  # written, never registered: a crash
    (tmp_path / f"{CATALOG_FILE}.123.abcd.tmp").write_text("{")  # a half-written pointer file
    reopened = SparkCatalog(tmp_path)
    assert reopened.names() == ["snap_1_wide"]
    assert not (tmp_path / "snap_2_wide" / orphan).exists()
    assert (tmp_path / "snap_1_wide" / live).exists()
    assert not list(tmp_path.glob("*.tmp"))


def test_drop_removes_pointer_and_files(tmp_path: Path) -> None:
    catalog = SparkCatalog(tmp_path)
    catalog.put("_b_0", write_version(catalog, "_b_0"), SCHEMA)
    catalog.drop("_b_0")
    assert catalog.get("_b_0") is None
    assert not (tmp_path / "_b_0").exists()


def test_temporary_table_is_private_and_gone_after_close(tmp_path: Path) -> None:
    catalog = SparkCatalog(tmp_path)
    version, path = catalog.new_location("_b_wide", temporary=True)
    path.mkdir(parents=True)
    catalog.put("_b_wide", version, SCHEMA, temporary=True)
    assert catalog.get("_b_wide") is not None
    assert SparkCatalog(tmp_path).get("_b_wide") is None  # not in the pointer file
    catalog.close()
    assert catalog.get("_b_wide") is None and not path.exists()


def test_opening_removes_temporary_tables_of_a_dead_process(tmp_path: Path) -> None:
    leftover = tmp_path / ".temp" / "999999999-deadbeef" / "_b_0" / "v1"
    leftover.mkdir(parents=True)
    SparkCatalog(tmp_path)
    assert not leftover.exists()
