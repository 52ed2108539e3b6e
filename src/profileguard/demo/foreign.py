"""``events_foreign.csv``: a small clickstream extract from a second tracking system.

The same kind of behaviour in a foreign schema — ``uid, evt, item, happened_at, cat`` with
epoch seconds (UTC) and the second system's event names — so the manifest's ``columns:``
and value mappings can be shown to ingest it without editing the file. The extract holds
browsing sessions of a sample of people and the sessions behind a few of their orders
(the second system sees those purchases too), cut to the first ``rows`` events in time.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from profileguard.demo.catalog import Catalog
from profileguard.demo.clock import SHANGHAI_OFFSET
from profileguard.demo.orders import Purchases
from profileguard.demo.population import Population
from profileguard.demo.sessions import (
    EVENT_TYPES,
    SessionPlan,
    browse_sessions,
    clickstream,
    purchase_sessions,
)
from profileguard.demo.text_columns import pick, with_nulls
from profileguard.demo.vocabulary import CATEGORY_KEYS

FOREIGN_EVENT_NAMES: dict[str, str] = {
    "view": "pv",
    "search": "srch",
    "add_to_cart": "cart_add",
    "remove_from_cart": "cart_del",
    "checkout": "order_submit",
    "purchase": "pay",
}
"""Canonical event type → the second system's name."""


def foreign_rows(users: int) -> int:
    """Rows of the extract for a shop of ``users`` people (500 to 5,000)."""
    return int(min(5_000, max(500, users // 4)))


def make_foreign_events(
    rng: np.random.Generator,
    pop: Population,
    purchases: Purchases,
    catalog: Catalog,
    now: int,
    rows: int,
) -> pa.Table:
    """The extract: up to ``rows`` events, oldest first."""
    people = np.sort(rng.choice(pop.size, size=min(pop.size, max(20, rows // 14)), replace=False))
    browse = browse_sessions(rng, pop, catalog, now, people.astype(np.int64), per_activity=2.0)
    bought = np.flatnonzero(np.isin(purchases.user, people) & (rng.random(purchases.size) < 0.5))
    orders = purchase_sessions(rng, _subset(purchases, bought), catalog, pop.register)
    plan = SessionPlan.join(browse, orders)
    stream = clickstream(rng, plan, catalog, now)
    keep = slice(0, min(rows, stream.size))
    names = [FOREIGN_EVENT_NAMES[k] for k in EVENT_TYPES]
    item = pc.take(catalog.item_id, pa.array(np.maximum(stream.item[keep], 0)))
    return pa.table(
        {
            "uid": pc.take(pop.user_id, pa.array(plan.user[stream.session[keep]])),
            "evt": pick(names, stream.kind[keep]),
            "item": with_nulls(item, stream.item[keep] < 0),
            "happened_at": pa.array(stream.ts[keep] - SHANGHAI_OFFSET, type=pa.int64()),
            "cat": pick(CATEGORY_KEYS, stream.category[keep]),
        }
    )


def _subset(purchases: Purchases, rows: np.ndarray) -> Purchases:
    index = pa.array(rows)
    return Purchases(
        user=purchases.user[rows],
        item=purchases.item[rows],
        time=purchases.time[rows],
        quantity=purchases.quantity[rows],
        coupon_cents=purchases.coupon_cents[rows],
        paid_cents=purchases.paid_cents[rows],
        channel=purchases.channel[rows],
        refunded=purchases.refunded[rows],
        refund_time=purchases.refund_time[rows],
        consignee_name=pc.take(purchases.consignee_name, index),
        consignee_phone=pc.take(purchases.consignee_phone, index),
        consignee_address=pc.take(purchases.consignee_address, index),
    )
