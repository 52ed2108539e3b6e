"""The table catalog of the Spark warehouse: versioned Parquet folders and one pointer file.

Spark SQL without a table format (Delta, Iceberg) has no atomic ``CREATE OR REPLACE TABLE``
over Parquet and no transactions, so the Spark engine keeps its own small catalog::

    <warehouse>/_catalog.json            {"tables": {"orders": {"name", "version", "schema"}}}
    <warehouse>/<table>/<version>/       the table's Parquet files, never modified once written
    <warehouse>/.temp/<pid>-<id>/        temporary tables of one engine (CREATE TEMP TABLE)

A write puts a new table version in a fresh folder, then switches the pointer by
rewriting ``_catalog.json`` through a temporary file, ``fsync`` and ``os.replace`` — one
atomic rename on a POSIX filesystem. A reader sees either the old or the new version,
never a half-written one. Inside :meth:`SparkCatalog.transaction` the pointer changes of
all statements are buffered and written by ONE rename at commit, so several tables
switch together (e.g. registering a snapshot in ``pg_snapshots`` and moving
``pg_current``). Folders no pointer refers to (replaced versions, writes of a failed or
killed process, temporary tables of a process that is gone) are deleted after each
commit and when the catalog is opened.

What this does not give: isolation between concurrent writers (one writing process per
warehouse — the build — is assumed; readers in other processes are safe), and atomicity
on object stores without an atomic rename (S3): put the warehouse on a POSIX filesystem
shared by the driver and the executors (NFS, a cluster filesystem mount).

No Spark imports here: schemas are kept as the opaque JSON Spark produces.
"""

from __future__ import annotations

import json
import os
import shutil
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

CATALOG_FILE = "_catalog.json"
TEMP_DIR = ".temp"  # not a valid unquoted table name, so no table folder can clash


@dataclass(frozen=True)
class TableEntry:
    """One table's current version: its name as created, the folder, the Spark schema JSON;
    ``temporary`` tables live only as long as the catalog object (``CREATE TEMP TABLE``)."""

    name: str
    version: str
    schema: dict[str, Any]
    temporary: bool = False


def current_folder(root: str | Path, name: str) -> Path | None:
    """The folder of ``name``'s current version, read from the pointer file alone (no
    Spark, no clean-up): how DuckDB-side readers find a table a Spark ingest wrote."""
    path = Path(root) / CATALOG_FILE
    if not path.is_file():
        return None
    entry = json.loads(path.read_text(encoding="utf-8")).get("tables", {}).get(name.lower())
    return Path(root) / name.lower() / str(entry["version"]) if entry else None


class SparkCatalog:
    """Pointers from table names (case-insensitive, as in SQL) to immutable Parquet folders."""

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)
        self.root.mkdir(parents=True, exist_ok=True)
        self._lock = threading.RLock()
        self._committed: dict[str, TableEntry] = {}
        self._staged: dict[str, TableEntry | None] | None = None
        self._written: list[Path] = []
        self._stamp: tuple[int, int, int] | None = None
        self._temp: dict[str, TableEntry] = {}
        self._temp_root = self.root / TEMP_DIR / f"{os.getpid()}-{uuid.uuid4().hex[:8]}"
        self._load()
        self.collect_garbage()

    # -- reading -------------------------------------------------------------------------
    @property
    def path(self) -> Path:
        return self.root / CATALOG_FILE

    def _file_stamp(self) -> tuple[int, int, int] | None:
        try:
            st = self.path.stat()
        except FileNotFoundError:
            return None
        return (st.st_ino, st.st_mtime_ns, st.st_size)

    def _load(self) -> None:
        self._stamp = self._file_stamp()
        if self._stamp is None:
            self._committed = {}
            return
        data = json.loads(self.path.read_text(encoding="utf-8"))
        self._committed = {key: TableEntry(str(v["name"]), str(v["version"]), dict(v["schema"]))
                           for key, v in data.get("tables", {}).items()}

    def refresh(self) -> bool:
        """Re-read the pointer file if another process switched it; True when it changed."""
        with self._lock:
            if self._staged is not None or self._file_stamp() == self._stamp:
                return False
            self._load()
            return True

    def _view(self) -> dict[str, TableEntry]:
        view = dict(self._committed)
        view.update(self._temp)  # a temporary table hides a permanent one of the same name
        for key, entry in (self._staged or {}).items():
            if entry is None:
                view.pop(key, None)
            else:
                view[key] = entry
        return view

    def get(self, name: str) -> TableEntry | None:
        """The entry of ``name`` as this session sees it (its own staged writes included)."""
        with self._lock:
            return self._view().get(name.lower())

    def names(self) -> list[str]:
        with self._lock:
            return sorted(e.name for e in self._view().values())

    def location(self, entry: TableEntry) -> Path:
        base = self._temp_root if entry.temporary else self.root
        return base / entry.name.lower() / entry.version

    # -- writing -------------------------------------------------------------------------
    def new_location(self, name: str, *, temporary: bool = False) -> tuple[str, Path]:
        """A fresh, unused version folder for ``name`` (not yet created)."""
        version = f"v{uuid.uuid4().hex}"
        path = (self._temp_root if temporary else self.root) / name.lower() / version
        with self._lock:
            if not temporary:
                self._written.append(path)
        return version, path

    def put(self, name: str, version: str, schema: dict[str, Any], *,
            temporary: bool = False) -> None:
        """Point ``name`` at ``version`` (now, or at commit inside a transaction).

        A temporary table is switched at once, in memory only: no other process sees it."""
        if temporary:
            with self._lock:
                old = self._temp.get(name.lower())
                self._temp[name.lower()] = TableEntry(name, version, schema, temporary=True)
                if old is not None:
                    shutil.rmtree(self.location(old), ignore_errors=True)
            return
        self._change(name.lower(), TableEntry(name, version, schema))

    def drop(self, name: str) -> None:
        with self._lock:
            old = self._temp.pop(name.lower(), None)
            if old is not None:
                shutil.rmtree(self.location(old).parent, ignore_errors=True)
                return
        self._change(name.lower(), None)

    def close(self) -> None:
        """Drop this catalog's temporary tables."""
        with self._lock:
            self._temp.clear()
            shutil.rmtree(self._temp_root, ignore_errors=True)

    def _change(self, key: str, entry: TableEntry | None) -> None:
        with self._lock:
            if self._staged is not None:
                self._staged[key] = entry
                return
            self._publish({key: entry})

    def _publish(self, changes: dict[str, TableEntry | None]) -> None:
        """Write the pointer file with ``changes`` applied: one atomic rename."""
        tables = dict(self._committed)
        for key, entry in changes.items():
            if entry is None:
                tables.pop(key, None)
            else:
                tables[key] = entry
        body = {"tables": {k: {"name": e.name, "version": e.version, "schema": e.schema}
                           for k, e in sorted(tables.items())}}
        tmp = self.root / f"{CATALOG_FILE}.{os.getpid()}.{uuid.uuid4().hex[:8]}.tmp"
        with tmp.open("w", encoding="utf-8") as fh:
            json.dump(body, fh, ensure_ascii=False)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, self.path)
        _fsync_dir(self.root)
        self._committed = tables
        self._stamp = self._file_stamp()
        self._written.clear()
        self.collect_garbage(only={k for k in changes})

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """Buffer pointer changes; publish them together at the end, or not at all.

        Nested use joins the outer transaction (as one unit)."""
        with self._lock:
            if self._staged is not None:
                yield
                return
            self._staged = {}
            try:
                yield
            except BaseException:
                self._staged = None
                self._discard_written()
                raise
            staged, self._staged = self._staged, None
            if staged:
                self._publish(staged)

    def _discard_written(self) -> None:
        for path in self._written:
            shutil.rmtree(path, ignore_errors=True)
            if path.parent.is_dir() and not any(path.parent.iterdir()):
                path.parent.rmdir()
        self._written.clear()

    def collect_garbage(self, only: set[str] | None = None) -> list[Path]:
        """Delete version folders no committed pointer refers to (of ``only`` tables)."""
        with self._lock:
            if self._staged is not None:
                return []
            live = {self.location(e) for e in self._committed.values()}
            removed: list[Path] = []
            self._remove_dead_temp()
            for table_dir in sorted(p for p in self.root.iterdir()
                                    if p.is_dir() and p.name != TEMP_DIR):
                if only is not None and table_dir.name not in only:
                    continue
                for version_dir in table_dir.iterdir():
                    if version_dir not in live and version_dir not in self._written:
                        shutil.rmtree(version_dir, ignore_errors=True)
                        removed.append(version_dir)
                if not any(table_dir.iterdir()):
                    table_dir.rmdir()
            for tmp in self.root.glob(f"{CATALOG_FILE}.*.tmp"):
                tmp.unlink(missing_ok=True)
            return removed


    def _remove_dead_temp(self) -> None:
        """Temporary tables of processes that ended without closing (killed)."""
        temp = self.root / TEMP_DIR
        if not temp.is_dir():
            return
        for session in temp.iterdir():
            pid = session.name.split("-", 1)[0]
            if pid.isdigit() and not _alive(int(pid)):
                shutil.rmtree(session, ignore_errors=True)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
