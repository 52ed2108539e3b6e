"""``generate()``: the whole demo shop, deterministic by seed, in blocks of users.

Writes, into one folder (column names are the contract the demo manifests use):

============================  ==========================================================
``users.csv``                 people; ``remark`` hides phone numbers, ``wechat_id`` is
                              undeclared on purpose
``items.csv``                 catalogue of ~20 shops
``orders.csv``                BG/NBD repeat purchases, ~5% refunds, planted dirt
``events.parquet``            sessions of views, searches, carts, checkouts, purchases
``events_foreign.csv``        the same kind of events in a second system's schema
``consents.csv``              the consent log; ``permissions.csv`` app permissions
``quotes.parquet`` / ``.csv`` offered prices with planted effects (see ``pricing``)
============================  ==========================================================

``formats`` picks CSV and/or Parquet for users, items, orders, consents and permissions,
and adds ``events.jsonl`` with ``"jsonl"``. Events are always Parquet, quotes always both.

Speed and memory: Faker only fills string pools; numpy samples everything vectorised and
Arrow writes it. Users are made in blocks of :data:`BLOCK_USERS`, each from its own
random streams (``default_rng([seed, block, stage])``), so memory is bounded by a block
and a million users stream to disk. Same seed, users and ``as_of`` → byte-identical files
(with the same Faker, numpy and pyarrow versions).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from profileguard.demo.catalog import catalog_size, make_catalog
from profileguard.demo.clock import check_as_of
from profileguard.demo.consents import make_consents
from profileguard.demo.events import EventIds, event_table
from profileguard.demo.foreign import foreign_rows, make_foreign_events
from profileguard.demo.geography import city_columns
from profileguard.demo.identity import AGE_BANDS
from profileguard.demo.order_dirt import DIRT_KINDS, FIRST_ORDER_NUMBER, order_rows
from profileguard.demo.orders import make_purchases
from profileguard.demo.permissions import make_permissions
from profileguard.demo.pools import build_pools
from profileguard.demo.population import make_population
from profileguard.demo.pricing import LOYAL_MIN_ORDERS, make_quotes, planted_effects
from profileguard.demo.sessions import SessionPlan, browse_sessions, clickstream, purchase_sessions
from profileguard.demo.sinks import TableSink
from profileguard.errors import ProfileguardError

BLOCK_USERS = 10_000
FORMATS = ("csv", "parquet", "jsonl")
TABULAR = ("users", "items", "orders", "consents", "permissions")
OUTPUT_FILES = (
    *(f"{name}.{ext}" for name in TABULAR for ext in ("csv", "parquet")),
    "events.parquet",
    "events.jsonl",
    "events_foreign.csv",
    "quotes.parquet",
    "quotes.csv",
)
"""Every file ``generate`` may write; those a run does not write are removed from the folder."""
Progress = Callable[[int, int], None]
"""Called after each block with (users done, users in total)."""

_STAGES = {
    "population": 1,
    "purchases": 2,
    "orders": 3,
    "permissions": 4,
    "sessions": 5,
    "events": 6,
    "consents": 7,
    "quotes": 8,
    "foreign": 9,
}


@dataclass
class GenerateSummary:
    """What was written: rows per file, the planted dirt (counts and rows) and effects."""

    out_dir: Path
    users: int
    seed: int
    as_of: datetime
    files: dict[str, int] = field(default_factory=dict)
    dirt: dict[str, dict[str, int]] = field(default_factory=dict)
    dirty_rows: dict[str, dict[str, list[int]]] = field(default_factory=dict)
    planted: dict[str, object] = field(default_factory=dict)
    seconds: float = 0.0

    def to_dict(self, *, rows: bool = False) -> dict[str, object]:
        """JSON-ready summary; ``rows`` adds the 1-based row number of every dirty row."""
        out: dict[str, object] = {
            "out_dir": str(self.out_dir),
            "users": self.users,
            "seed": self.seed,
            "as_of": self.as_of.strftime("%Y-%m-%d %H:%M:%S"),
            "files": dict(self.files),
            "dirt": {f: dict(kinds) for f, kinds in self.dirt.items()},
            "planted": self.planted,
            "seconds": round(self.seconds, 3),
        }
        if rows:
            out["dirty_rows"] = self.dirty_rows
        return out


def _check_formats(formats: Iterable[str]) -> set[str]:
    chosen = {f.strip().lower() for f in formats}
    unknown = chosen - set(FORMATS)
    if unknown or not chosen & {"csv", "parquet"}:
        raise ProfileguardError(
            f"unknown or insufficient data formats {sorted(chosen)}; allowed: "
            f"{', '.join(FORMATS)}, with at least one of csv or parquet"
        )
    return chosen


def generate(
    out_dir: Path,
    *,
    users: int = 20_000,
    seed: int = 7,
    formats: Iterable[str] = ("csv",),
    as_of: datetime = datetime(2026, 11, 1),
    progress: Progress | None = None,
) -> GenerateSummary:
    """Write the demo shop for ``users`` people into ``out_dir`` and summarise it."""
    started = time.perf_counter()
    if users < 1:
        raise ProfileguardError(f"--users {users}: the demo needs at least 1 user")
    chosen = _check_formats(formats)
    now = check_as_of(as_of)
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ProfileguardError(
            f"--out {out_dir}: cannot create the folder ({exc.strerror}); pass a writable folder"
        ) from None
    summary = GenerateSummary(out_dir=out_dir, users=users, seed=seed, as_of=as_of)
    pools = build_pools(seed)
    cities = city_columns()
    catalog = make_catalog(np.random.default_rng([seed, 0, 0]), pools, catalog_size(users))
    sink = TableSink(out_dir)
    tabular = [ext for ext in ("csv", "parquet") if ext in chosen]

    def put(name: str, table: pa.Table) -> None:
        for ext in tabular if name in TABULAR else ():
            sink.write(f"{name}.{ext}", table)

    put("items", catalog.table)
    ids = EventIds(last_event=0, last_session=0)
    last_order, last_quote = FIRST_ORDER_NUMBER, 0
    dirty_rows: dict[str, list[int]] = {kind: [] for kind in DIRT_KINDS}
    counters = {"loyal_users": 0, "expecting_users": 0, "health_buyers": 0, "remarks_with_phone": 0}
    bands = np.zeros(len(AGE_BANDS), dtype=np.int64)
    try:
        for block, first in enumerate(range(0, users, BLOCK_USERS)):

            def rng(stage: str, block: int = block) -> np.random.Generator:
                return np.random.default_rng([seed, block + 1, _STAGES[stage]])

            size = min(BLOCK_USERS, users - first)
            pop = make_population(rng("population"), pools, cities, first, size, as_of)
            put("users", pop.table)
            purchases = make_purchases(rng("purchases"), pop, catalog, pools, cities, as_of)
            orders = order_rows(rng("orders"), purchases, pop, catalog, last_order, now)
            written = sink.rows.get(f"orders.{tabular[0]}", 0)
            for kind, rows in orders.dirty.items():
                dirty_rows[kind] += [written + r + 1 for r in rows]
            put("orders", orders.table)
            last_order = orders.last_order_number
            permissions, location = make_permissions(rng("permissions"), pop, now)
            put("permissions", permissions)
            srng = rng("sessions")
            plan = SessionPlan.join(
                purchase_sessions(srng, purchases, catalog, pop.register),
                browse_sessions(srng, pop, catalog, now, np.arange(pop.size, dtype=np.int64)),
            )
            stream = clickstream(srng, plan, catalog, now)
            events, ids = event_table(
                rng("events"), stream, plan.user, pop, catalog, pools, cities, location, ids
            )
            sink.write("events.parquet", events)
            if "jsonl" in chosen:
                sink.write("events.jsonl", events)
            del events, stream, plan
            put("consents", make_consents(rng("consents"), pop, now))
            counts = purchases.counts(pop.size)
            quotes, last_quote = make_quotes(rng("quotes"), pop, catalog, counts, now, last_quote)
            sink.write("quotes.parquet", quotes)
            sink.write("quotes.csv", quotes)
            if block == 0:
                foreign = make_foreign_events(
                    rng("foreign"), pop, purchases, catalog, now, foreign_rows(users)
                )
                sink.write("events_foreign.csv", foreign)
            counters["loyal_users"] += int((counts >= LOYAL_MIN_ORDERS).sum())
            counters["expecting_users"] += int(pop.expecting.sum())
            counters["health_buyers"] += int(pop.health_buyer.sum())
            phone_in_remark = pc.match_substring_regex(pop.table["remark"], r"1[3-9]\d{9}")
            counters["remarks_with_phone"] += int(
                pc.sum(pc.fill_null(phone_in_remark, False)).as_py() or 0
            )
            bands += np.bincount(pop.band, minlength=len(AGE_BANDS))
            if progress is not None:
                progress(first + size, users)
    finally:
        sink.close()
    for stale in set(OUTPUT_FILES) - set(sink.rows):
        (out_dir / stale).unlink(missing_ok=True)
    summary.files = dict(sink.rows)
    order_files = [f"orders.{ext}" for ext in tabular]
    summary.dirt = {f: {k: len(v) for k, v in dirty_rows.items()} for f in order_files}
    summary.dirty_rows = {f: {k: list(v) for k, v in dirty_rows.items()} for f in order_files}
    summary.planted = {
        "pricing": planted_effects(),
        "population": {
            **{f"age_{name}": int(bands[i]) for i, (name, _) in enumerate(AGE_BANDS)},
            **counters,
        },
        "undeclared_columns": {f"users.{ext}": ["wechat_id"] for ext in tabular},
    }
    summary.seconds = time.perf_counter() - started
    return summary
