"""Releasing rows held back for want of consent, once the person consents.

The gate holds back (``pg_held``) the rows of people who have not consented to any purpose
of a consent-based source (PIPL 13/14: no basis, no processing). They are not dropped:
``release_held`` moves the rows of people who have since consented into the source's
table, through the same gate, and leaves the rest held.
"""

from __future__ import annotations

from datetime import datetime

from profileguard.collect.gate import GateSpec, classify_sql, lit
from profileguard.collect.ingest import (
    HELD,
    QUARANTINE,
    TOMBSTONES,
    ensure_system_tables,
    ensure_target,
    stored_fields,
)
from profileguard.manifest.model import Manifest
from profileguard.store.engine import Engine
from profileguard.store.engine import quote_ident as q


def release_held(engine: Engine, manifest: Manifest, source_name: str, consented: str,
                 *, now: datetime) -> int:
    """Move held rows of people now in ``consented`` (user_pid) into the source table."""
    ensure_system_tables(engine)
    source = manifest.sources[source_name]
    fields = stored_fields(manifest, source_name)
    ensure_target(engine, source_name, fields)
    cols = ", ".join(f"json_extract_string(raw, {lit('$.' + c)}) AS {q(c)}" for c in fields)
    stage = f"_release_{source_name}"
    engine.execute(
        f"CREATE OR REPLACE TEMP TABLE {q(stage)} AS SELECT \"row\" AS __row, file_id AS __file, "
        f"{cols} FROM {HELD} WHERE source = ? AND user_pid IN (SELECT user_pid FROM "
        f"{q(consented)})", [source_name])
    n = int(engine.query_rows(f"SELECT count(*) FROM {q(stage)}")[0][0])
    if not n:
        engine.execute(f"DROP TABLE IF EXISTS {q(stage)}")
        return 0
    spec = GateSpec(source_name, source, fields, source_name, TOMBSTONES, now)
    classified = f"_released_{source_name}"
    engine.execute(f"CREATE OR REPLACE TEMP TABLE {q(classified)} AS "
                   f"{classify_sql(spec, stage)}")
    names = ", ".join(q(c) for c in fields)
    ts = now.strftime("%Y-%m-%d %H:%M:%S")
    try:
        with engine.transaction():
            engine.execute(f"INSERT INTO {q(source_name)} ({names}, _file_id) SELECT {names}, NULL "
                           f"FROM {q(classified)} WHERE __reason IS NULL")
            engine.execute(
                f"INSERT INTO {QUARANTINE} SELECT {lit(source_name)}, 'released from hold', __row, "
                f"__column, __reason, __detail, __raw, NULL, NULL, TIMESTAMP {lit(ts)} "
                f"FROM {q(classified)} WHERE __reason IS NOT NULL")
            engine.execute(f"DELETE FROM {HELD} WHERE source = ? AND user_pid IN "
                           f"(SELECT user_pid FROM {q(consented)})", [source_name])
    finally:
        engine.execute(f"DROP TABLE IF EXISTS {q(stage)}")
        engine.execute(f"DROP TABLE IF EXISTS {q(classified)}")
    return n
