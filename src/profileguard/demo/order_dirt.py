"""``orders.csv`` rows, with dirt planted on purpose for the collection gate to catch.

About 0.2% of rows each (at least one per kind) get exactly one defect, on disjoint rows:

``bad_paid_amount``      ``paid_amount`` is ``'abc'`` (fails typing)
``missing_user_id``      ``user_id`` is empty (misses a key)
``duplicate_order_id``   ``order_id`` repeats an earlier clean row's (duplicate primary key)
``future_order_time``    ``order_time`` after ``as_of`` (timestamp in the future)
``before_shop_start``    ``order_time`` before the shop's declared start 2024-01-01

The row numbers of each kind (1-based data rows, header not counted) go into the summary
so tests and the ingestion reconciliation can check every quarantined row by reason.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

from profileguard.demo.catalog import Catalog
from profileguard.demo.clock import DAY, HOUR, SHOP_START, seconds
from profileguard.demo.orders import PAYMENT_CHANNELS, Purchases
from profileguard.demo.population import Population
from profileguard.demo.text_columns import money, pick, prefixed_ids, timestamps, with_nulls

IntArray = npt.NDArray[np.int64]

DIRT_KINDS: tuple[str, ...] = (
    "bad_paid_amount",
    "missing_user_id",
    "duplicate_order_id",
    "future_order_time",
    "before_shop_start",
)
DIRT_SHARE = 0.002
FIRST_ORDER_NUMBER = 2_400_000_000


@dataclass(frozen=True)
class OrderRows:
    """The published rows of one block and where the dirt is (0-based rows of the block)."""

    table: pa.Table
    dirty: dict[str, list[int]]
    last_order_number: int


def _choose_dirty_rows(rng: np.random.Generator, n: int) -> dict[str, IntArray]:
    per_kind = max(1, round(DIRT_SHARE * n)) if n >= 2 * len(DIRT_KINDS) + 2 else 0
    # Row 0 never gets dirt, so every duplicate has an earlier clean row to copy.
    rows = rng.permutation(np.arange(1, n, dtype=np.int64))[: per_kind * len(DIRT_KINDS)]
    return {
        kind: np.sort(rows[i * per_kind : (i + 1) * per_kind]) for i, kind in enumerate(DIRT_KINDS)
    }


def order_rows(
    rng: np.random.Generator,
    purchases: Purchases,
    pop: Population,
    catalog: Catalog,
    previous_order_number: int,
    now: int,
) -> OrderRows:
    """Order rows for a block; order numbers continue after ``previous_order_number``."""
    n = purchases.size
    number = previous_order_number + np.cumsum(rng.integers(1, 40, size=n))
    last = int(number[-1]) if n else previous_order_number
    time = purchases.time.copy()
    refunded = purchases.refunded.copy()
    dirty = _choose_dirty_rows(rng, n)
    user_id = pc.take(pop.user_id, pa.array(purchases.user))
    paid = money(purchases.paid_cents)

    dirty_mask = np.zeros(n, dtype=np.bool_)
    for rows in dirty.values():
        dirty_mask[rows] = True
    clean = np.flatnonzero(~dirty_mask)
    for row in dirty["duplicate_order_id"]:
        earlier = clean[clean < row]
        number[row] = number[earlier[rng.integers(len(earlier))]]
    future = dirty["future_order_time"]
    time[future] = now + rng.integers(HOUR, 60 * DAY, size=len(future))
    early = dirty["before_shop_start"]
    time[early] = seconds(SHOP_START) - rng.integers(DAY, 200 * DAY, size=len(early))
    refunded[future] = False
    refunded[early] = False
    bad_paid = np.zeros(n, dtype=np.bool_)
    bad_paid[dirty["bad_paid_amount"]] = True
    paid = pc.if_else(pa.array(bad_paid), "abc", paid)
    no_user = np.zeros(n, dtype=np.bool_)
    no_user[dirty["missing_user_id"]] = True
    user_id = with_nulls(user_id, no_user)

    table = pa.table(
        {
            "order_id": prefixed_ids("O", number, 10),
            "user_id": user_id,
            "item_id": pc.take(catalog.item_id, pa.array(purchases.item)),
            "shop_id": pc.take(catalog.shop_id, pa.array(purchases.item)),
            "order_time": timestamps(time),
            "quantity": pa.array(purchases.quantity, type=pa.int32()),
            "paid_amount": paid,
            "coupon_amount": money(purchases.coupon_cents),
            "payment_channel": pick(PAYMENT_CHANNELS, purchases.channel),
            "status": pick(("paid", "refunded"), refunded.astype(np.int64)),
            "refund_time": with_nulls(timestamps(purchases.refund_time), ~refunded),
            "consignee_name": purchases.consignee_name,
            "consignee_phone": purchases.consignee_phone,
            "consignee_address": purchases.consignee_address,
        }
    )
    return OrderRows(table, {k: [int(r) for r in v] for k, v in dirty.items()}, last)
