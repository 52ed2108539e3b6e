"""The workspace: the folder beside the manifest and everything profileguard keeps there.

```
profileguard.yaml
.profileguard/warehouse.duckdb     analytical store (pseudonymous ids only)
.profileguard/spark-warehouse/     Parquet warehouse of `--engine spark` builds
.profileguard/state.db             operational store (SQLite default; or --state-url)
.profileguard/exports/             files handed out (audiences, subject exports)
.profileguard-secrets/             pseudonymization key (outside the data)
```
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

from profileguard.errors import ProfileguardError
from profileguard.manifest import LoadedManifest, find_manifest, load_manifest
from profileguard.store.engine import DuckDBEngine, Engine
from profileguard.store.keys import load_or_create_key, pseudonym

STATE_URL_ENV = "PROFILEGUARD_STATE_URL"
STATE_DIR = ".profileguard"
SECRETS_DIR = ".profileguard-secrets"


@dataclass
class Workspace:
    loaded: LoadedManifest
    state_url_override: str | None = None
    engine_name: str = "duckdb"
    spark_master_override: str | None = None
    _engine: Any = field(default=None, repr=False)
    _build_engine: Any = field(default=None, repr=False)

    # -- locations --------------------------------------------------------------------
    @property
    def root(self) -> Path:
        return self.loaded.root

    @property
    def manifest(self) -> Any:
        return self.loaded.manifest

    @property
    def state_dir(self) -> Path:
        d = self.root / STATE_DIR
        d.mkdir(parents=True, exist_ok=True)
        return d

    @property
    def warehouse_path(self) -> Path:
        return self.state_dir / "warehouse.duckdb"

    @property
    def spark_warehouse_path(self) -> Path:
        return self.state_dir / "spark-warehouse"

    @property
    def exports_dir(self) -> Path:
        d = self.state_dir / "exports"
        d.mkdir(parents=True, exist_ok=True)
        return d

    @property
    def key_file(self) -> Path:
        return self.root / SECRETS_DIR / "pseudonym.key"

    @property
    def state_url(self) -> str:
        return (
            self.state_url_override
            or os.environ.get(STATE_URL_ENV)
            or f"sqlite:///{self.state_dir / 'state.db'}"
        )

    # -- handles ----------------------------------------------------------------------
    @cached_property
    def key(self) -> bytes:
        return load_or_create_key(self.key_file)

    def pid(self, user: str) -> str:
        """The pseudonymous id of a user named by their own id (or already a pseudonym)."""
        from profileguard.store.keys import is_pseudonym

        return user if is_pseudonym(user) else pseudonym(self.key, user)

    def engine(self, *, read_only: bool = False) -> DuckDBEngine:
        if self._engine is None:
            self._engine = DuckDBEngine(self.warehouse_path, read_only=read_only)
        engine: DuckDBEngine = self._engine
        return engine

    def build_engine(self) -> Engine:
        """The engine profile builds run on: the DuckDB warehouse, or (``engine_name``
        ``spark``) a Spark session over ``spark-warehouse/``."""
        if self.engine_name == "duckdb":
            return self.engine()
        if self.engine_name != "spark":
            raise ProfileguardError(f"--engine {self.engine_name!r}: allowed: duckdb, spark")
        if self._build_engine is None:
            from profileguard.store.spark import SparkEngine

            self._build_engine = SparkEngine(self.spark_warehouse_path,
                                             master=self.spark_master_override)
        built: Engine = self._build_engine
        return built

    def compact_warehouse(self) -> None:
        """Rewrite the warehouse into a fresh file and swap it in atomically.

        DuckDB leaves deleted values in free blocks until they are reused; after an
        erasure the file is rewritten so none of the person's bytes remain on disk.
        """
        import duckdb

        self.close()
        path = self.warehouse_path
        fresh = path.with_name(path.name + ".compact")
        fresh.unlink(missing_ok=True)
        con = duckdb.connect()
        try:
            con.execute(f"ATTACH '{path}' AS src (READ_ONLY)")
            con.execute(f"ATTACH '{fresh}' AS dst")
            con.execute("COPY FROM DATABASE src TO dst")
            con.execute("DETACH src")
            con.execute("DETACH dst")
        finally:
            con.close()
        os.replace(fresh, path)
        Path(str(path) + ".wal").unlink(missing_ok=True)

    def resolve_source_path(self, pattern: str) -> Path:
        p = Path(pattern)
        return p if p.is_absolute() else self.root / p

    def close(self) -> None:
        if self._build_engine is not None:
            self._build_engine.close()
            self._build_engine = None
        if self._engine is not None:
            self._engine.close()
            self._engine = None


def open_workspace(
    manifest: str | Path | None = None,
    *,
    state_url: str | None = None,
    engine: str = "duckdb",
    spark_master: str | None = None,
) -> Workspace:
    """Open the workspace of ``manifest``, or of ``profileguard.yaml`` here or in a parent."""
    path = Path(manifest) if manifest else find_manifest()
    if path is None:
        raise ProfileguardError(
            f"no profileguard.yaml in {Path.cwd()} or any parent; pass --manifest PATH "
            "or create one with `profileguard init DIR`")
    return Workspace(load_manifest(path), state_url_override=state_url, engine_name=engine,
                     spark_master_override=spark_master)
