"""Hand the source tables from the DuckDB warehouse to the Spark warehouse as Parquet.

Ingestion (the collection gate, PI scanning, pseudonymization) runs on DuckDB; a Spark
build reads the gated, pseudonymous source tables from Parquet. ``export_to_parquet``
writes each table with DuckDB's own ``COPY ... (FORMAT parquet)`` into a fresh version
folder of the Spark warehouse and switches all of them in one catalog transaction, so
a build never sees one refreshed source beside a stale one.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from profileguard.store.engine import DuckDBEngine, quote_ident
from profileguard.store.spark import SparkEngine

#: rows per Parquet row group; Spark splits its scan tasks at row-group boundaries
ROW_GROUP_ROWS = 122_880


def export_to_parquet(duck: DuckDBEngine, spark: SparkEngine, tables: Iterable[str]
                      ) -> dict[str, int]:
    """Copy ``tables`` (those that exist in DuckDB) to ``spark``; returns rows per table."""
    rows: dict[str, int] = {}
    with spark.transaction():
        for table in tables:
            if not duck.table_exists(table):
                continue

            def write(folder: Path, table: str = table) -> None:
                target = str(folder / "part-00000-duckdb.parquet").replace("'", "''")
                duck.execute(f"COPY (SELECT * FROM {quote_ident(table)}) TO '{target}' "
                             f"(FORMAT parquet, ROW_GROUP_SIZE {ROW_GROUP_ROWS})")

            spark.adopt_parquet(table, write)
            rows[table] = int(duck.query_rows(f"SELECT count(*) FROM {quote_ident(table)}")[0][0])
    return rows
