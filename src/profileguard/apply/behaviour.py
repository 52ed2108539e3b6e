"""Where recommendations read behaviour from: the warehouse's events, orders and items.

Personalized results read one person's views, carts and purchases through a
:class:`UserDataReader`; the recommender receives it as an object so the guard's promise
— a user who switched personalization off is not read at all — is something a test can
check by recording the reader's calls. Item data (titles, categories) and population-wide
aggregates come from :class:`Catalogue`, which never reads one person's rows.
Users appear by pseudonymous id only (DESIGN: ``apply`` never reads identified tables).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from profileguard.errors import ProfileguardError
from profileguard.manifest.model import Manifest
from profileguard.store.engine import DuckDBEngine

#: interaction weights: a purchase says more than a cart, a cart more than a view
WEIGHTS = {"view": 1.0, "add_to_cart": 2.0, "purchase": 3.0}
VERBS = {"view": "viewed", "add_to_cart": "added to cart", "purchase": "bought"}


@dataclass(frozen=True)
class Interaction:
    item_id: str
    kind: str  # view | add_to_cart | purchase
    ts: dt.datetime


@dataclass(frozen=True)
class BehaviourSources:
    """Table and column names of the behaviour sources, taken from the manifest."""

    events: str = "events"
    event_user: str = "user_id"
    event_time: str = "ts"
    orders: str | None = "orders"
    order_user: str = "user_id"
    order_time: str = "order_time"
    items: str = "items"
    item_key: str = "item_id"

    @classmethod
    def from_manifest(cls, m: Manifest) -> BehaviourSources:
        events = m.sources.get("events")
        items = m.sources.get("items")
        if events is None or items is None or not events.user or not events.time:
            raise ProfileguardError(
                "recommendations need an `events` source (with user and time columns, and "
                "item_id / event_type fields) and an `items` source (item_id, title, "
                "category) in the manifest's sources")
        orders = m.sources.get("orders")
        return cls(events="events", event_user=events.user, event_time=events.time,
                   orders="orders" if orders and orders.user and orders.time else None,
                   order_user=orders.user or "user_id" if orders else "user_id",
                   order_time=orders.time or "order_time" if orders else "order_time",
                   items="items", item_key=items.key or "item_id")

    @property
    def parts(self) -> int:
        return 2 if self.orders else 1

    def interactions_sql(self, one_user: bool = False) -> str:
        """All (u, item, kind, ts) rows; with ``one_user`` each part takes a ``?`` user id."""
        kinds = ", ".join(f"'{k}'" for k in WEIGHTS)
        ev = f' AND "{self.event_user}" = ?' if one_user else ""
        parts = [f'SELECT "{self.event_user}" AS u, item_id AS item, event_type AS kind, '
                 f'"{self.event_time}" AS ts FROM "{self.events}" '
                 f"WHERE event_type IN ({kinds}) AND item_id IS NOT NULL{ev}"]
        if self.orders:
            od = f' AND "{self.order_user}" = ?' if one_user else ""
            parts.append(f'SELECT "{self.order_user}" AS u, item_id AS item, '
                         f"'purchase' AS kind, \"{self.order_time}\" AS ts "
                         f'FROM "{self.orders}" WHERE item_id IS NOT NULL{od}')
        return " UNION ALL ".join(parts)


class UserDataReader(Protocol):
    """Reads one person's data; only called once the guard allowed personalization."""

    def interactions(self, user_pid: str, until: dt.datetime) -> list[Interaction]: ...


class WarehouseReader:
    """:class:`UserDataReader` over the DuckDB warehouse."""

    def __init__(self, engine: DuckDBEngine, sources: BehaviourSources) -> None:
        self.engine = engine
        self.sources = sources

    def interactions(self, user_pid: str, until: dt.datetime) -> list[Interaction]:
        sql = (f"SELECT item, kind, ts FROM ({self.sources.interactions_sql(True)}) "
               "WHERE ts <= ? ORDER BY ts")
        params = [user_pid] * self.sources.parts + [until]
        rows: Sequence[Any] = self.engine.query_rows(sql, params)
        return [Interaction(str(i), str(k), t) for i, k, t in rows]


@dataclass(frozen=True)
class Item:
    item_id: str
    title: str
    category: str


class Catalogue:
    """Items (non-personal) by id."""

    def __init__(self, engine: DuckDBEngine, sources: BehaviourSources) -> None:
        rows = engine.query_rows(
            f'SELECT "{sources.item_key}", title, category FROM "{sources.items}"')
        self.items = {str(i): Item(str(i), str(t or i), str(c or "")) for i, t, c in rows}

    def get(self, item_id: str) -> Item:
        return self.items.get(item_id) or Item(item_id, item_id, "")

    def __len__(self) -> int:
        return len(self.items)
