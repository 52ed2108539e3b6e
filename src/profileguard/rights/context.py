"""What the rights handlers work on: the stores and declarations of one workspace."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from profileguard.consent.book import ConsentBook
from profileguard.manifest.model import Manifest
from profileguard.model.catalog import Catalog
from profileguard.store.engine import DuckDBEngine
from profileguard.store.operational import OperationalStore


@dataclass
class RightsContext:
    engine: Callable[[], DuckDBEngine]  # the warehouse (reopened after compaction)
    manifest: Manifest
    root: Path  # the workspace root (source paths are relative to it)
    exports_dir: Path
    book: ConsentBook
    store: OperationalStore
    key: bytes
    catalog: Catalog
    #: rewrite the warehouse file so deleted values leave no bytes behind
    compact: Callable[[], None]
