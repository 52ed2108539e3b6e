"""Ingestion: sources → gate → warehouse tables, with quarantine and reconciliation.

For every file of every declared source: the file is staged in DuckDB
(:mod:`profileguard.collect.stage`: columns renamed (``columns:``), columns the manifest does
not declare refused (not loaded, reported), the person's id and ``pseudonymize`` fields
turned into keyed pseudonyms and the other transforms applied, once per distinct value),
the gate classifies each row (columns it only carries may be classified as read while their
transforms finish), and in ONE transaction clean rows go to the source's table (those columns'
stored values joined in), the rest to ``pg_quarantine`` with source, file, row, column, reason
and the row as staged, and the file's digest to ``pg_ingest_files``. Input rows = loaded +
quarantined, always. A file already ingested (same digest) loads nothing the second time.

On DuckDB, whose staged relation is cheap to read again (``Staged.rescan``), the gate keeps
only the rows that fail — reading only the columns it checks — and the clean rows load
straight from the staged relation: the file is not copied into a table first. The first file
of a source is hashed on a thread while it is staged (no earlier file can have its digest).
"""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Callable, Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from profileguard.collect.gate import SQL_TYPES, GateSpec, classify_sql, lit, raw_json, typed_expr
from profileguard.collect.pii_gate import findings as pii_findings
from profileguard.collect.readers import Malformed, SourceFile, open_source
from profileguard.collect.stage import Progress as Progress  # re-exported for the pipeline
from profileguard.collect.stage import Stager, stage_file
from profileguard.errors import ProfileguardError
from profileguard.manifest.model import FieldDecl, Manifest, Source
from profileguard.store.engine import DuckDBEngine, Engine
from profileguard.store.engine import quote_ident as q

QUARANTINE = "pg_quarantine"
INGEST_FILES = "pg_ingest_files"
TOMBSTONES = "pg_tombstones"
HELD = "pg_held"
HOLD_REASON = "held_no_consent"

#: receives the raw ids of the people seen in a file (the identity map lives in the
#: operational store; the warehouse only ever sees their pseudonyms)
Identities = Callable[[Iterable[str]], object]


@dataclass
class FileResult:
    source: str
    file: str
    rows_in: int = 0
    loaded: int = 0
    quarantined: Counter[str] = field(default_factory=Counter)
    already_loaded: int = 0
    held: int = 0
    skipped_already_ingested: bool = False
    findings: list[dict[str, object]] = field(default_factory=list)

    @property
    def quarantined_total(self) -> int:
        return sum(self.quarantined.values())

    @property
    def reconciles(self) -> bool:
        return self.rows_in == (self.loaded + self.quarantined_total + self.already_loaded
                                + self.held)


@dataclass
class IngestReport:
    files: list[FileResult] = field(default_factory=list)
    refused_columns: dict[str, list[str]] = field(default_factory=dict)  # source -> columns
    findings: list[dict[str, object]] = field(default_factory=list)  # PI found where undeclared
    released: dict[str, int] = field(default_factory=dict)  # held rows released on consent

    @property
    def rows_in(self) -> int:
        return sum(f.rows_in for f in self.files)

    @property
    def loaded(self) -> int:
        return sum(f.loaded for f in self.files)

    @property
    def quarantined(self) -> Counter[str]:
        total: Counter[str] = Counter()
        for f in self.files:
            total.update(f.quarantined)
        return total

    @property
    def already_loaded(self) -> int:
        return sum(f.already_loaded for f in self.files)

    @property
    def held(self) -> int:
        return sum(f.held for f in self.files)

    @property
    def reconciles(self) -> bool:
        return all(f.reconciles for f in self.files)

    def as_dict(self) -> dict[str, object]:
        return {
            "rows_in": self.rows_in,
            "loaded": self.loaded,
            "quarantined": sum(self.quarantined.values()),
            "quarantine_reasons": dict(sorted(self.quarantined.items())),
            "already_loaded": self.already_loaded,
            "held_no_consent": self.held,
            "reconciles": self.reconciles,
            "refused_columns": self.refused_columns,
            "findings": self.findings,
            "released_from_hold": self.released,
            "files": [
                {"source": f.source, "file": f.file, "rows_in": f.rows_in, "loaded": f.loaded,
                 "quarantined": dict(f.quarantined), "held_no_consent": f.held,
                 "already_ingested": f.skipped_already_ingested}
                for f in self.files
            ],
        }


def ensure_system_tables(engine: Engine) -> None:
    engine.execute(
        f"CREATE TABLE IF NOT EXISTS {QUARANTINE} (source VARCHAR, file VARCHAR, "
        "\"row\" BIGINT, \"column\" VARCHAR, reason VARCHAR, detail VARCHAR, raw VARCHAR, "
        "user_pid VARCHAR, file_id BIGINT, quarantined_at TIMESTAMP)")
    engine.execute(
        f"CREATE TABLE IF NOT EXISTS {INGEST_FILES} (file_id BIGINT, source VARCHAR, "
        "file VARCHAR, sha256 VARCHAR, rows_in BIGINT, loaded BIGINT, quarantined BIGINT, "
        "ingested_at TIMESTAMP, held BIGINT DEFAULT 0, already_loaded BIGINT DEFAULT 0)")
    engine.execute(f"CREATE TABLE IF NOT EXISTS {TOMBSTONES} (user_pid VARCHAR, erased_at TIMESTAMP)")
    engine.execute(f"CREATE TABLE IF NOT EXISTS {HELD} (source VARCHAR, file VARCHAR, "
                   "\"row\" BIGINT, user_pid VARCHAR, raw VARCHAR, file_id BIGINT, "
                   "held_at TIMESTAMP)")


def stored_fields(manifest: Manifest, source_name: str) -> dict[str, FieldDecl]:
    """Declared fields that are stored (``transform: drop`` ones are collected, not kept)."""
    return {c: d for c, d in manifest.fields.get(source_name, {}).items() if d.transform != "drop"}


def ensure_target(engine: Engine, table: str, fields: dict[str, FieldDecl]) -> None:
    cols = ", ".join(f"{q(c)} {SQL_TYPES[d.type]}" for c, d in fields.items())
    engine.execute(f"CREATE TABLE IF NOT EXISTS {q(table)} ({cols}, _file_id BIGINT)")


def file_digest(path: str) -> str:
    h = hashlib.sha256()
    p = Path(path)
    if not p.is_file():
        return hashlib.sha256(path.encode()).hexdigest()
    with p.open("rb") as fh:
        while chunk := fh.read(1 << 20):
            h.update(chunk)
    return h.hexdigest()


def _digest_beside(path: str) -> Future[str]:
    """:func:`file_digest` of ``path`` on a thread of its own (reading and hashing release
    the GIL), while the caller stages the file."""
    pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="pg-ingest-digest")
    try:
        return pool.submit(file_digest, path)
    finally:
        pool.shutdown(wait=False)


def ingest_file(
    engine: Engine, manifest: Manifest, source_name: str, sf: SourceFile, key: bytes,
    *, now: datetime, refused: set[str], progress: Progress | None = None,
    force: bool = False, identities: Identities | None = None, consented: str | None = None,
    stage: Stager = stage_file,
) -> FileResult:
    source = manifest.sources[source_name]
    declared = manifest.fields.get(source_name, {})
    fields = stored_fields(manifest, source_name)
    result = FileResult(source_name, sf.path)
    digest, pending, seen = "", None, 0
    if engine.query_rows(f"SELECT count(*) FROM {INGEST_FILES} WHERE source = ?",
                         [source_name])[0][0]:
        digest = file_digest(sf.path)
        seen = int(engine.query_rows(
            f"SELECT count(*) FROM {INGEST_FILES} WHERE source = ? AND sha256 = ?",
            [source_name, digest])[0][0])
        if seen and not force:
            result.skipped_already_ingested = True
            return result
    else:
        # nothing of this source is in the ledger, so neither is this file: its digest (for
        # the ledger) is computed while the file is staged: a CSV file is parsed on one
        # core, and hashing it first cost ~0.13 s of wall time per 136 MB (demo events)
        pending = _digest_beside(sf.path)
    ensure_target(engine, source_name, fields)
    staged = stage(engine, sf, source, declared, key, refused, progress=progress,
                        label=source_name, want_users=identities is not None)
    classified = f"_classified_{source_name}"
    try:
        spec = GateSpec(source_name, source, fields, source_name,
                        TOMBSTONES if engine.table_exists(TOMBSTONES) else None, now,
                        reprocess=bool(seen), consented=consented,
                        staged_types=staged.types,
                        keys=staged.keys(source.key),
                        duplicates=staged.duplicates,
                        raw_json=not staged.rescan)
        gate = classify_sql(spec, staged.relation)
        if staged.rescan:
            # only the rows that fail (few): DuckDB then reads only the columns the gate
            # checks, instead of copying the whole file into a table the load reads again
            gate = (f"SELECT __row, __reason, __column, __detail, __raw FROM ({gate}) "
                    "WHERE __reason IS NOT NULL")
        engine.execute(f"CREATE OR REPLACE TEMP TABLE {q(classified)} AS {gate}")
        late = staged.finish()
        if pending is not None:
            digest = pending.result()
        _load(engine, source_name, source, sf, fields, classified, staged.rows, digest, now,
              result, (late.relation if late else staged.relation) if staged.rescan else None,
              staged.types)
    finally:
        engine.execute(f"DROP TABLE IF EXISTS {q(classified)}")
        staged.drop(engine)
    if identities is not None and staged.users:
        identities(staged.users)
    result.findings = pii_findings(source_name, staged.scans, declared)
    return result


def _load(engine: Engine, source_name: str, source: Source, sf: SourceFile,
          fields: dict[str, FieldDecl], classified: str, rows: int, digest: str,
          now: datetime, result: FileResult, whole: str | None = None,
          types: dict[str, str] | None = None) -> None:
    """In one transaction: the clean rows of the ``classified`` file into the source's table,
    the failed ones into the quarantine, the held ones into ``pg_held``, and the file into
    the ingest ledger.

    With ``whole`` (the staged relation with every transform joined, cheap to read again)
    ``classified`` holds only the rows that fail: the clean rows are the others of
    ``whole``, typed on the way in as the gate types them (``types``: the staged ones)."""
    file_id = int(engine.query_rows(f"SELECT coalesce(max(file_id), 0) + 1 FROM {INGEST_FILES}")[0][0])
    cols = ", ".join(q(c) for c in fields)
    user = f"CAST(json_extract_string(__raw, {lit('$.' + source.user)}) AS VARCHAR)" if (
        source.user and source.user in fields) else "NULL"
    ts = now.strftime("%Y-%m-%d %H:%M:%S")
    for reason, n in engine.query_rows(
            f"SELECT __reason, count(*) FROM {q(classified)} GROUP BY __reason"):
        if reason is None:
            result.loaded = int(n)
        elif reason == "already_loaded":
            result.already_loaded = int(n)
        elif reason == HOLD_REASON:
            result.held = int(n)
        else:
            result.quarantined[str(reason)] += int(n)
    stored, joined, where = cols, q(classified), "WHERE __reason IS NULL"
    if whole is not None:
        result.loaded = rows - result.already_loaded - result.held - result.quarantined_total
        stored = ", ".join(typed_expr(c, d, source, (types or {}).get(c))
                           for c, d in fields.items())
        joined, where = q(whole), ""
        if result.loaded < rows:
            joined += f" ANTI JOIN {q(classified)} USING (__row)"
        if result.quarantined or result.held:
            _fill_raw(engine, fields, classified, whole)
    with engine.transaction():
        insert = (f"INSERT INTO {q(source_name)} ({cols}, _file_id) SELECT {stored}, "
                  f"{file_id} FROM {joined} {where}")
        if isinstance(engine, DuckDBEngine):  # DuckDB answers the rows inserted: counted
            inserted = int(engine.query_rows(insert)[0][0])
            if inserted != result.loaded:  # rolled back with the rest of the file
                raise ProfileguardError(
                    f"{sf.path}: {inserted:,} rows inserted into {source_name}, but the gate "
                    f"passed {result.loaded:,}: nothing of this file is loaded (a bug: please "
                    "report it with the file)")
        else:
            engine.execute(insert)
        if result.quarantined:  # the rows that failed the gate (few): only when there are any
            engine.execute(
                f"INSERT INTO {QUARANTINE} SELECT {lit(source_name)}, {lit(sf.path)}, __row, "
                f"__column, __reason, __detail, __raw, {user}, {file_id}, TIMESTAMP {lit(ts)} "
                f"FROM {q(classified)} WHERE __reason IS NOT NULL "
                f"AND __reason NOT IN ('already_loaded', '{HOLD_REASON}')")
        if result.held:
            engine.execute(
                f"INSERT INTO {HELD} SELECT {lit(source_name)}, {lit(sf.path)}, __row, {user}, "
                f"__raw, {file_id}, TIMESTAMP {lit(ts)} FROM {q(classified)} "
                f"WHERE __reason = '{HOLD_REASON}'")
        for bad in sf.malformed:
            _quarantine_malformed(engine, source_name, bad, file_id, ts)
        if sf.malformed:
            result.quarantined["malformed_row"] += len(sf.malformed)
        result.rows_in = rows + len(sf.malformed)
        engine.execute(
            f"INSERT INTO {INGEST_FILES} VALUES (?, ?, ?, ?, ?, ?, ?, TIMESTAMP {lit(ts)}, ?, ?)",
            [file_id, source_name, sf.path, digest, result.rows_in, result.loaded,
             result.quarantined_total, result.held, result.already_loaded])


def _fill_raw(engine: Engine, fields: dict[str, FieldDecl], classified: str, whole: str
              ) -> None:
    """The row as staged (every transform joined, from ``whole``) as ``__raw`` of the rows
    of ``classified`` that failed the gate."""
    engine.execute(
        f"UPDATE {q(classified)} SET __raw = r.__raw FROM (SELECT __row, "
        f"{raw_json(fields, q)} AS __raw FROM {q(whole)} WHERE __row IN "
        f"(SELECT __row FROM {q(classified)} WHERE __reason IS NOT NULL)) r "
        f"WHERE {q(classified)}.__row = r.__row")


def _quarantine_malformed(engine: Engine, source: str, bad: Malformed, file_id: int,
                          ts: str) -> None:
    row = (bad.line - 1) if bad.line else None
    engine.execute(
        f"INSERT INTO {QUARANTINE} VALUES (?, ?, ?, NULL, 'malformed_row', ?, NULL, NULL, ?, "
        f"TIMESTAMP {lit(ts)})",
        [source, bad.file, row, f"{bad.reason} (line {bad.line})", file_id])


def ingest(
    engine: Engine, manifest: Manifest, root: Path, key: bytes, *,
    sources: list[str] | None = None, now: datetime | None = None,
    progress: Progress | None = None, force: bool = False,
    identities: Identities | None = None, consented: dict[str, str] | None = None,
    stage: Stager = stage_file,
) -> IngestReport:
    """Ingest every declared source (or the named ones) into the warehouse.

    ``stage`` stages one file in ``engine`` (DuckDB's by default; the Spark engine's from
    :mod:`profileguard.collect.spark_ingest`): everything after it is engine-neutral SQL."""
    from profileguard.errors import ProfileguardError

    ensure_system_tables(engine)
    now = now or datetime.now()
    report = IngestReport()
    names = sources or list(manifest.sources)
    for name in names:
        if name not in manifest.sources:
            raise ProfileguardError(f"unknown source {name!r}; declared: {sorted(manifest.sources)}")
        refused: set[str] = set()
        for sf in open_source(manifest.sources[name], name, root):
            report.files.append(done := ingest_file(engine, manifest, name, sf, key, now=now,
                                            refused=refused, progress=progress, force=force,
                                            identities=identities,
                                            consented=(consented or {}).get(name),
                                            stage=stage))
            report.findings.extend(done.findings)
        if refused:
            report.refused_columns[name] = sorted(refused)
    return report
