"""The price guard: the online counterpart of the pricing audit (PIPL 24, ALG 21, 大数据杀熟).

:class:`PriceGuard` wraps a pricing function. Quotes for the same item in the same time
bucket (default one hour) with the same *declared legitimate factors* (coupon, membership
price, A/B bucket, channel … — ``applications.pricing.legitimate_factors``) must agree
within a tolerance; a quote that differs from the first one of its group is, by choice,

* ``refused`` — the caller gets the group's reference price instead (default), or
* ``review`` — the caller gets the quote, and it is flagged for a person to look at
  (the law gives no threshold, so this is not called a violation).

Factors that are not declared legitimate are passed to the pricing function but do not
form groups, so a price difference they cause is caught. Every quote the guard sees is
logged (``apply_price_quotes``: offered, let-through price, reference, verdict, reason)
for the pricing audit.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import sqlalchemy as sa

from profileguard.apply import records
from profileguard.store.operational import OperationalStore, as_utc, utcnow

Verdict = Literal["accepted", "review", "refused"]


@dataclass(frozen=True)
class QuoteRequest:
    user_pid: str
    item_id: str
    at: dt.datetime
    factors: Mapping[str, Any] = field(default_factory=dict)


PricingFunction = Callable[[QuoteRequest], float]


@dataclass(frozen=True)
class GuardedQuote:
    request: QuoteRequest
    offered: float
    price: float
    verdict: Verdict
    reference: float | None = None
    reason: str = ""


def bucket_of(at: dt.datetime, minutes: int) -> str:
    at = as_utc(at)
    start = at.replace(second=0, microsecond=0) - dt.timedelta(
        minutes=(at.hour * 60 + at.minute) % minutes)
    return start.strftime("%Y-%m-%dT%H:%M")


class PriceGuard:
    """Wraps ``pricing``; see the module docstring."""

    def __init__(self, store: OperationalStore, pricing: PricingFunction, *,
                 legitimate_factors: Sequence[str] = ("coupon", "member_price", "ab_bucket",
                                                      "channel"),
                 bucket_minutes: int = 60, tolerance: float = 0.005,
                 on_violation: Literal["refuse", "review"] = "refuse") -> None:
        self.store = store
        self.pricing = pricing
        self.legitimate = tuple(sorted(legitimate_factors))
        self.bucket_minutes = bucket_minutes
        self.tolerance = tolerance
        self.on_violation = on_violation
        records.ensure_tables(store)

    def factor_key(self, factors: Mapping[str, Any]) -> str:
        return json.dumps({k: factors.get(k) for k in self.legitimate}, sort_keys=True,
                          default=str, ensure_ascii=False)

    def _reference(self, conn: sa.Connection, item: str, bucket: str, key: str
                   ) -> float | None:
        c = records.price_quotes.c
        row = conn.execute(sa.select(c.price).where(
            c.item_id == item, c.bucket == bucket, c.factor_key == key,
            c.verdict != "refused").order_by(c.id).limit(1)).first()
        return None if row is None else float(row[0])

    def quote(self, user_pid: str, item_id: str, at: dt.datetime | None = None,
              **factors: Any) -> GuardedQuote:
        request = QuoteRequest(user_pid, item_id, as_utc(at) if at else utcnow(), factors)
        offered = float(self.pricing(request))
        bucket = bucket_of(request.at, self.bucket_minutes)
        key = self.factor_key(factors)
        undeclared = sorted(set(factors) - set(self.legitimate))
        with self.store.write() as conn:
            ref = self._reference(conn, item_id, bucket, key)
            verdict: Verdict = "accepted"
            price, reason = offered, ""
            if ref is not None and abs(offered - ref) > self.tolerance * max(abs(ref), 1e-9):
                reason = (f"quote {offered:.2f} differs from {ref:.2f} for the same item, hour "
                          f"and legitimate factors ({key})")
                if undeclared:
                    reason += f"; undeclared factors {', '.join(undeclared)} do not explain it"
                reason += " (PIPL 24, ALG 21)"
                if self.on_violation == "refuse":
                    verdict, price = "refused", ref
                else:
                    verdict = "review"
            conn.execute(records.price_quotes.insert().values(
                user_pid=user_pid, item_id=item_id, quoted_at=request.at, bucket=bucket,
                factor_key=key, factors=json.dumps(dict(factors), sort_keys=True, default=str,
                                                   ensure_ascii=False),
                offered=offered, price=price, reference=ref, verdict=verdict, reason=reason))
        return GuardedQuote(request, offered, price, verdict, ref, reason)

    def log(self, item_id: str | None = None) -> list[dict[str, Any]]:
        """The quote log (for the pricing audit), oldest first."""
        t = records.price_quotes
        stmt = sa.select(t).order_by(t.c.id)
        if item_id is not None:
            stmt = stmt.where(t.c.item_id == item_id)
        with self.store.read() as conn:
            return [dict(r._mapping) for r in conn.execute(stmt)]


def price_guard_for(store: OperationalStore, pricing: PricingFunction,
                    legitimate_factors: Sequence[str] | None, **options: Any) -> PriceGuard:
    """A guard using the manifest's declared legitimate factors (when it declares them)."""
    if legitimate_factors is None:
        return PriceGuard(store, pricing, **options)
    return PriceGuard(store, pricing, legitimate_factors=legitimate_factors, **options)
