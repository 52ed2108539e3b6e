"""The stores of one workspace opened together: warehouse, operational store, consent book."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

import pyarrow as pa

from profileguard.consent.book import ConsentBook
from profileguard.manifest.model import Manifest
from profileguard.model.catalog import Catalog, build_catalog
from profileguard.pipeline.policy import consent_policy
from profileguard.store.engine import DuckDBEngine, Engine
from profileguard.store.keys import pseudonym
from profileguard.store.ledger import Ledger
from profileguard.store.operational import OperationalStore
from profileguard.store.workspace import Workspace, open_workspace


@dataclass
class Services:
    ws: Workspace
    _birth: dict[str, dt.date] | None = field(default=None, repr=False)

    @property
    def manifest(self) -> Manifest:
        m: Manifest = self.ws.manifest
        return m

    @property
    def engine(self) -> DuckDBEngine:
        return self.ws.engine()

    @property
    def build_engine(self) -> Engine:
        """Where profile builds run: the DuckDB warehouse or Spark (``--engine spark``)."""
        return self.ws.build_engine()

    @cached_property
    def store(self) -> OperationalStore:
        key = self.ws.key
        return OperationalStore(self.ws.state_url, pseudonymize=lambda v: pseudonym(key, v))

    @cached_property
    def ledger(self) -> Ledger:
        return Ledger(self.store)

    @cached_property
    def book(self) -> ConsentBook:
        return ConsentBook(self.store, consent_policy(self.manifest, self.birth_date_of),
                           self.ledger)

    @cached_property
    def catalog(self) -> Catalog:
        return build_catalog(self.manifest)

    def pid(self, user: str) -> str:
        return self.ws.pid(user)

    def birth_date_of(self, user_pid: str) -> dt.date | None:
        if self._birth is None:
            table = self.birth_dates()
            self._birth = dict(zip(table.column("user_pid").to_pylist(),
                                   table.column("birth_date").to_pylist(), strict=True))
        return self._birth.get(user_pid)

    def birth_dates(self) -> pa.Table:
        """Each person's birth date (``user_pid``, ``birth_date``; :data:`bulk.BIRTH_SCHEMA`)
        from the first source that collects it untransformed, read by DuckDB as one Arrow
        table — what :meth:`birth_date_of`, the consent policy's lookup, answers, and what
        bulk consent decisions take instead of asking it person by person."""
        from profileguard.consent import bulk

        m = self.manifest
        for name, src in m.sources.items():
            decl = m.fields.get(name, {})
            col = next((c for c, d in decl.items()
                        if d.category == "user.demographic.date_of_birth"
                        and d.transform == "none"), None)
            relation = self.source_relation(name) if col and src.user else None
            if relation:
                table = self.engine.query_arrow(
                    f'SELECT CAST("{src.user}" AS VARCHAR) AS user_pid, '
                    f'CAST(max("{col}") AS DATE) AS birth_date FROM {relation} GROUP BY 1 '
                    f'HAVING max("{col}") IS NOT NULL')
                return table.cast(bulk.BIRTH_SCHEMA)
        return bulk.BIRTH_SCHEMA.empty_table()

    def source_relation(self, name: str) -> str | None:
        """DuckDB SQL reading a source's gated table: the warehouse table, or for a source
        ingested on Spark the Parquet files of its current version (the minors' checks of
        every consent decision need the birth dates wherever they were loaded)."""
        if self.engine.table_exists(name):
            return f'"{name}"'
        from profileguard.collect.spark_ingest import spark_sources
        from profileguard.store.spark_catalog import current_folder

        folder = (current_folder(self.ws.spark_warehouse_path, name)
                  if name in spark_sources(self.engine) else None)
        if folder is None:
            return None
        return "read_parquet('" + str(folder / "*.parquet").replace("'", "''") + "')"

    def close(self) -> None:
        if "store" in self.__dict__:
            self.store.engine.dispose()
        self.ws.close()

    def __enter__(self) -> Services:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def open_services(manifest: str | Path | None = None, *, state_url: str | None = None,
                  engine: str = "duckdb", spark_master: str | None = None) -> Services:
    return Services(open_workspace(manifest, state_url=state_url, engine=engine,
                                   spark_master=spark_master))
