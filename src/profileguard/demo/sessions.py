"""Shopping sessions and the clickstream inside them, vectorised over all sessions at once.

A session is ``[search] view… [add_to_cart] [remove_from_cart] [checkout] [purchase]``.
Every order gets a *purchase session* that ends in its ``purchase`` event at the order's
time, so checkouts and purchases match orders; *browsing sessions* (heavy-tailed count per
person, by browsing activity) view items of one preferred category, put some in the cart,
remove some, and abandon some at checkout. The last view is the session's target item —
the one carted, checked out or bought. Dwell times are log-normal by event type and the
timestamps are the running sum of dwell times.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from profileguard.demo.catalog import Catalog
from profileguard.demo.clock import DAY, at_shopping_hour, day_start
from profileguard.demo.orders import Purchases
from profileguard.demo.population import Population

IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]

EVENT_TYPES: tuple[str, ...] = (
    "view",
    "search",
    "add_to_cart",
    "remove_from_cart",
    "checkout",
    "purchase",
)
VIEW, SEARCH, CART, REMOVE, CHECKOUT, PURCHASE = range(6)
_TAIL = np.array([CART, REMOVE, CHECKOUT, PURCHASE], dtype=np.int64)
# Log-normal dwell per event type: median milliseconds and sigma.
_DWELL_MEDIAN = np.array([16_000, 7_000, 2_500, 1_500, 20_000, 4_000], dtype=np.float64)
_DWELL_SIGMA = np.array([0.9, 0.5, 0.5, 0.5, 0.6, 0.4], dtype=np.float64)
BROWSE_SESSIONS_PER_ACTIVITY = 5.5


@dataclass(frozen=True)
class SessionPlan:
    """What each session contains; ``anchor`` is its start, or its end when ``ends_at``.

    ``floor`` is the earliest allowed start (the person's registration).
    """

    user: IntArray
    category: IntArray
    target: IntArray
    search: BoolArray
    views: IntArray
    tail: npt.NDArray[np.bool_]  # (sessions, 4): cart, remove, checkout, purchase
    anchor: IntArray
    ends_at: BoolArray
    floor: IntArray

    @property
    def size(self) -> int:
        return len(self.user)

    @staticmethod
    def join(a: SessionPlan, b: SessionPlan) -> SessionPlan:
        """Both plans as one."""
        return SessionPlan(
            *(np.concatenate([getattr(a, f), getattr(b, f)]) for f in SessionPlan._fields())
        )

    @staticmethod
    def _fields() -> tuple[str, ...]:
        return (
            "user",
            "category",
            "target",
            "search",
            "views",
            "tail",
            "anchor",
            "ends_at",
            "floor",
        )


@dataclass(frozen=True)
class Clickstream:
    """Events of a plan, sorted by time; ``item`` is -1 for searches."""

    session: IntArray
    kind: IntArray
    item: IntArray
    category: IntArray
    ts: IntArray
    dwell_ms: IntArray

    @property
    def size(self) -> int:
        return len(self.session)


def purchase_sessions(
    rng: np.random.Generator, purchases: Purchases, catalog: Catalog, register: IntArray
) -> SessionPlan:
    """One session per order, ending in its purchase at the order time.

    ``register`` holds the registration time of every user of the block.
    """
    n = purchases.size
    tail = np.zeros((n, 4), dtype=np.bool_)
    tail[:, [0, 2, 3]] = True
    return SessionPlan(
        user=purchases.user,
        category=catalog.category[purchases.item],
        target=purchases.item,
        search=rng.random(n) < 0.35,
        views=rng.geometric(0.45, size=n).astype(np.int64),
        tail=tail,
        anchor=purchases.time,
        ends_at=np.ones(n, dtype=np.bool_),
        floor=register[purchases.user],
    )


def browse_sessions(
    rng: np.random.Generator,
    pop: Population,
    catalog: Catalog,
    now: int,
    users: IntArray,
    per_activity: float = BROWSE_SESSIONS_PER_ACTIVITY,
) -> SessionPlan:
    """Browsing sessions of ``users`` (indexes into ``pop``) between registration and now."""
    counts = rng.poisson(pop.activity[users] * per_activity)
    user = np.repeat(users, counts).astype(np.int64)
    n = len(user)
    cumulative = np.cumsum(pop.preference[user], axis=1)
    category = (rng.random(n)[:, None] > cumulative[:, :-1]).sum(axis=1).astype(np.int64)
    span = np.maximum(now - pop.register[user] - DAY, DAY)
    day = day_start(pop.register[user] + (rng.random(n) * span).astype(np.int64))
    cart = rng.random(n) < 0.2
    remove = cart & (rng.random(n) < 0.3)
    checkout = cart & ~remove & (rng.random(n) < 0.2)
    tail = np.stack([cart, remove, checkout, np.zeros(n, dtype=np.bool_)], axis=1)
    return SessionPlan(
        user=user,
        category=category,
        target=catalog.sample(rng, category),
        search=rng.random(n) < 0.4,
        views=rng.geometric(0.22, size=n).astype(np.int64),
        tail=tail,
        anchor=at_shopping_hour(rng, day),
        ends_at=np.zeros(n, dtype=np.bool_),
        floor=pop.register[user],
    )


def clickstream(
    rng: np.random.Generator, plan: SessionPlan, catalog: Catalog, now: int
) -> Clickstream:
    """Expand a plan into events with items, dwell times and timestamps (≤ ``now``)."""
    tail_count = plan.tail.sum(axis=1)
    counts = plan.search.astype(np.int64) + plan.views + tail_count
    total = int(counts.sum())
    first = np.cumsum(counts) - counts
    session = np.repeat(np.arange(plan.size, dtype=np.int64), counts)
    pos = np.arange(total, dtype=np.int64) - first[session]
    searched = plan.search.astype(np.int64)[session]
    views = plan.views[session]

    rank = np.cumsum(plan.tail, axis=1) - 1
    tail_kind = np.full((plan.size, 4), -1, dtype=np.int64)
    rows, cols = np.nonzero(plan.tail)
    tail_kind[rows, rank[rows, cols]] = _TAIL[cols]
    tail_pos = np.clip(pos - searched - views, 0, 3)
    kind = np.where(
        pos < searched, SEARCH, np.where(pos < searched + views, VIEW, tail_kind[session, tail_pos])
    ).astype(np.int64)

    category = plan.category[session]
    item = plan.target[session].copy()
    browsing = (kind == VIEW) & (pos < searched + views - 1)
    item[browsing] = catalog.sample(rng, category[browsing])
    item[kind == SEARCH] = -1

    dwell = np.exp(np.log(_DWELL_MEDIAN[kind]) + _DWELL_SIGMA[kind] * rng.standard_normal(total))
    dwell_ms = np.clip(dwell, 300, 900_000).astype(np.int64)
    elapsed_ms = np.cumsum(dwell_ms) - dwell_ms
    elapsed_ms -= elapsed_ms[first][session]
    duration = elapsed_ms[first + counts - 1] // 1000
    start = np.maximum(np.where(plan.ends_at, plan.anchor - duration, plan.anchor), plan.floor)
    start = np.minimum(start, now - duration - 1)
    ts = start[session] + elapsed_ms // 1000
    order = np.lexsort((pos, ts))
    return Clickstream(
        session=session[order],
        kind=kind[order],
        item=item[order],
        category=category[order],
        ts=ts[order],
        dwell_ms=dwell_ms[order],
    )
