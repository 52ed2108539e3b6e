"""Bring a snapshot built on Spark into the DuckDB warehouse, where it is served.

Spark computes; the DuckDB warehouse stays the system of record that the server, the
profile and audience commands and the rights handlers (erasure, tag deletion) read and
rewrite. After a Spark build the current Spark snapshot's Parquet files are read by
DuckDB (``read_parquet``) into ``snap_<id>_wide/long/corr/cards`` under DuckDB's next
snapshot id (the long one stays a table: Spark cannot store it as a view, and the rights
handlers edit whichever form a snapshot has) and registered there with the same atomic switch as a DuckDB build
(``snapshot.register``). The Spark side then keeps only its current snapshot (the
predictive step reads its model cards for stable segment labels).
"""

from __future__ import annotations

from dataclasses import replace

from profileguard.errors import ProfileguardError
from profileguard.model import snapshot
from profileguard.store.engine import DuckDBEngine, quote_ident
from profileguard.store.spark import SparkEngine


def publish_snapshot(spark: SparkEngine, duck: DuckDBEngine, keep: int
                     ) -> snapshot.SnapshotInfo:
    """Copy Spark's current snapshot into ``duck`` and make it current there."""
    built = snapshot.current(spark)
    if built is None:
        raise ProfileguardError("Spark warehouse has no current snapshot to publish; "
                                "run `profileguard build --engine spark` first")
    snapshot.drop_orphans(duck)
    published = replace(built, id=snapshot.next_id(duck))
    for source, target in ((built.wide, published.wide), (built.long, published.long),
                           (built.corrections, published.corrections),
                           (built.cards, published.cards)):
        entry = spark.catalog.get(source)
        if entry is None:
            raise ProfileguardError(f"Spark warehouse: snapshot table {source} is missing")
        files = str(spark.catalog.location(entry) / "*.parquet").replace("'", "''")
        duck.execute(f"CREATE TABLE {quote_ident(target)} AS SELECT * "
                     f"FROM read_parquet('{files}')")
    snapshot.register(duck, published, keep)
    snapshot.prune(spark, 1)
    return published
