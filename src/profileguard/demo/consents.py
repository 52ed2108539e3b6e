"""``consents.csv``: what each person decided, purpose by purpose, as an append-only log.

The mix the demo plants (shares of people in scope):

- account, fulfilment and payment are asked of everyone at sign-up or checkout; payment
  data (a financial account) needs ``separate`` consent, and sharing the address with
  ``LogisticsCo`` is a separate consent row of its own;
- about 80% of adults granted ``personalization``, ~10% were never asked for some purposes
  (no row at all), ~9% of grants are later withdrawn (a later ``withdrawn`` row, in
  settings, usually with more clicks than it took to give);
- ``advertising`` names ``AdNet Ltd``: ~40% gave ``separate`` consent, ~15% only a bundled
  ``general`` one (the naive shop's mistake), the rest refused;
- some marketing opt-ins at checkout are pre-ticked, some sign-up consents are bundled;
- under-14s: ~85% have their consents given as ``guardian`` consent, the rest do not;
- rows before 2025-02-15 were given to notice ``2024.1`` (~15% of rows); a share of those
  people re-consented to ``2025.2`` later.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

from profileguard.demo.clock import DAY, NOTICE_2025_2, seconds
from profileguard.demo.population import Population
from profileguard.demo.text_columns import pick, timestamps, with_nulls

IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]

STATUSES = ("granted", "withdrawn", "refused")
TYPES = ("general", "separate", "guardian", "explicit")
SURFACES = ("app_signup", "settings", "checkout", "popup")
RECIPIENTS = ("", "AdNet Ltd", "LogisticsCo")
NOTICES = ("2024.1", "2025.2")
GUARDIAN_SHARE = 0.85
RECONSENT_SHARE = 0.35


@dataclass(frozen=True)
class PurposeAsk:
    """How the demo shop asks for one purpose."""

    purpose: str
    asked: float
    granted: float
    consent_type: int
    surface: int
    later_days: float  # 0: at sign-up; else mean days after sign-up
    recipient: int = 0
    weak_share: float = 0.0  # share of grants that are only bundled 'general'
    bundled: float = 0.0
    pre_ticked: float = 0.0
    withdraw: float = 0.0


ASKS: tuple[PurposeAsk, ...] = (
    PurposeAsk("account", 1.0, 1.0, 0, 0, 0.0),
    PurposeAsk("fulfilment", 1.0, 1.0, 0, 0, 0.0),
    PurposeAsk("fulfilment", 0.97, 0.97, 1, 2, 6.0, recipient=2),
    PurposeAsk("payment", 0.95, 0.98, 1, 2, 6.0),
    PurposeAsk("personalization", 0.9, 0.89, 0, 0, 0.0, bundled=0.3, pre_ticked=0.1, withdraw=0.09),
    PurposeAsk("personalized_search", 0.88, 0.8, 0, 3, 12.0, withdraw=0.08),
    PurposeAsk("advertising", 0.9, 0.61, 1, 3, 20.0, recipient=1, weak_share=0.27, withdraw=0.09),
    PurposeAsk("marketing_communications", 0.9, 0.55, 0, 2, 10.0, pre_ticked=0.35, withdraw=0.1),
    PurposeAsk("analytics", 0.92, 0.78, 0, 0, 0.0, bundled=0.5, withdraw=0.04),
    PurposeAsk("tiered_operations", 0.75, 0.65, 0, 3, 30.0, withdraw=0.05),
    PurposeAsk("pricing", 0.6, 0.35, 0, 3, 40.0, withdraw=0.05),
)


@dataclass
class _Rows:
    user: list[IntArray]
    purpose: list[IntArray]
    recipient: list[IntArray]
    status: list[IntArray]
    kind: list[IntArray]
    surface: list[IntArray]
    pre_ticked: list[BoolArray]
    bundled: list[BoolArray]
    ts: list[IntArray]

    def add(self, **columns: npt.NDArray[np.generic]) -> None:
        for name, values in columns.items():
            getattr(self, name).append(values)

    def column(self, name: str) -> npt.NDArray[np.generic]:
        return np.concatenate(getattr(self, name))


def _full(n: int, value: int) -> IntArray:
    return np.full(n, value, dtype=np.int64)


def make_consents(rng: np.random.Generator, pop: Population, now: int) -> pa.Table:
    """The consent log of one block, ordered by time."""
    rows = _Rows([], [], [], [], [], [], [], [], [])
    purposes: list[str] = []
    guardian = (pop.band == 0) & (rng.random(pop.size) < GUARDIAN_SHARE)
    notice_change = seconds(NOTICE_2025_2)
    for ask in ASKS:
        if ask.purpose not in purposes:
            purposes.append(ask.purpose)
        p = purposes.index(ask.purpose)
        who = np.flatnonzero(rng.random(pop.size) < ask.asked)
        delay = rng.integers(3, 300, size=len(who))
        if ask.later_days:
            delay += (rng.exponential(ask.later_days, size=len(who)) * DAY).astype(np.int64)
        when = pop.register[who] + delay
        who, when = who[when <= now], when[when <= now]
        n = len(who)
        yes = rng.random(n) < ask.granted
        kind = np.where(yes & (rng.random(n) < ask.weak_share), 0, ask.consent_type)
        kind = np.where(guardian[who], TYPES.index("guardian"), kind)
        bundled = (rng.random(n) < ask.bundled) | (yes & (kind == 0) & (ask.weak_share > 0))
        rows.add(
            user=who,
            purpose=_full(n, p),
            recipient=_full(n, ask.recipient),
            status=np.where(yes, 0, 2).astype(np.int64),
            kind=kind.astype(np.int64),
            surface=_full(n, ask.surface),
            pre_ticked=rng.random(n) < ask.pre_ticked,
            bundled=bundled,
            ts=when,
        )
        later = when + (rng.random(n) * (now - when)).astype(np.int64)
        withdrawn = yes & (rng.random(n) < ask.withdraw) & (later > when)
        reconsent = (
            yes
            & ~withdrawn
            & (when < notice_change)
            & (later > notice_change)
            & (rng.random(n) < RECONSENT_SHARE / max(ask.asked, 0.5))
        )
        for mask, status, surface in ((withdrawn, 1, 1), (reconsent, 0, 3)):
            m = int(mask.sum())
            rows.add(
                user=who[mask],
                purpose=_full(m, p),
                recipient=_full(m, ask.recipient),
                status=_full(m, status),
                kind=kind[mask].astype(np.int64),
                surface=_full(m, surface),
                pre_ticked=np.zeros(m, dtype=np.bool_),
                bundled=np.zeros(m, dtype=np.bool_),
                ts=np.maximum(later[mask], notice_change + 1) if status == 0 else later[mask],
            )
    return _table(rng, rows, pop, purposes, notice_change)


def _table(
    rng: np.random.Generator, rows: _Rows, pop: Population, purposes: list[str], notice_change: int
) -> pa.Table:
    user = rows.column("user").astype(np.int64)
    ts = rows.column("ts").astype(np.int64)
    purpose = rows.column("purpose").astype(np.int64)
    order = np.lexsort((purpose, user, ts))
    n = len(order)
    pre_ticked = rows.column("pre_ticked").astype(np.bool_)[order]
    bundled = rows.column("bundled").astype(np.bool_)[order]
    recipient = rows.column("recipient").astype(np.int64)[order]
    easy = pre_ticked | bundled
    clicks_give = np.where(easy, 1, rng.integers(1, 3, size=n))
    clicks_withdraw = np.where(
        rng.random(n) < 0.15, rng.integers(6, 10, size=n), rng.integers(2, 5, size=n)
    )
    return pa.table(
        {
            "user_id": pc.take(pop.user_id, pa.array(user[order])),
            "purpose": pick(purposes, purpose[order]),
            "recipient": with_nulls(pick(RECIPIENTS, recipient), recipient == 0),
            "status": pick(STATUSES, rows.column("status").astype(np.int64)[order]),
            "consent_type": pick(TYPES, rows.column("kind").astype(np.int64)[order]),
            "notice_version": pick(NOTICES, (ts[order] >= notice_change).astype(np.int64)),
            "surface": pick(SURFACES, rows.column("surface").astype(np.int64)[order]),
            "pre_ticked": pa.array(pre_ticked),
            "bundled": pa.array(bundled),
            "clicks_to_give": pa.array(clicks_give.astype(np.int32)),
            "clicks_to_withdraw": pa.array(clicks_withdraw.astype(np.int32)),
            "ts": timestamps(ts[order]),
        }
    )
