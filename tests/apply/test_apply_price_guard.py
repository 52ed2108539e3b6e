"""The price guard: same item, hour and legitimate factors must get the same price."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from profileguard.apply.price_guard import PriceGuard, QuoteRequest
from profileguard.store.operational import OperationalStore

AT = dt.datetime(2026, 11, 2, 10, 5, tzinfo=dt.UTC)


def _store(tmp_path: Path) -> OperationalStore:
    return OperationalStore(f"sqlite:///{tmp_path / 'state.db'}")


def _pricing(req: QuoteRequest) -> float:
    price = 100.0 - float(req.factors.get("coupon", 0))
    if req.user_pid == "p_loyal":  # charges a loyal customer more: 大数据杀熟
        price *= 1.2
    return price


def test_quote_differing_for_the_same_item_and_hour_is_refused_with_the_reference_price(
        tmp_path: Path) -> None:
    guard = PriceGuard(_store(tmp_path), _pricing)
    first = guard.quote("p_new", "I1", AT, coupon=0)
    second = guard.quote("p_loyal", "I1", AT + dt.timedelta(minutes=20), coupon=0)
    assert first.verdict == "accepted" and first.price == 100.0
    assert second.verdict == "refused" and second.offered == 120.0 and second.price == 100.0
    assert "PIPL 24" in second.reason
    log = guard.log("I1")
    assert [(q["verdict"], q["offered"], q["price"]) for q in log] == [
        ("accepted", 100.0, 100.0), ("refused", 120.0, 100.0)]


def test_legitimate_factors_and_other_hours_explain_price_differences(tmp_path: Path) -> None:
    guard = PriceGuard(_store(tmp_path), _pricing)
    guard.quote("p_new", "I1", AT, coupon=0)
    with_coupon = guard.quote("p_other", "I1", AT, coupon=10)
    next_hour = guard.quote("p_loyal", "I1", AT + dt.timedelta(hours=1), coupon=0)
    assert with_coupon.verdict == "accepted" and with_coupon.price == 90.0
    assert next_hour.verdict == "accepted"


def test_review_mode_lets_the_quote_through_but_flags_it_and_logs_every_quote(
        tmp_path: Path) -> None:
    guard = PriceGuard(_store(tmp_path), _pricing, on_violation="review")
    guard.quote("p_new", "I2", AT, coupon=0)
    flagged = guard.quote("p_loyal", "I2", AT, coupon=0, segment="vip")
    assert flagged.verdict == "review" and flagged.price == 120.0
    assert "undeclared factors segment" in flagged.reason
    assert len(guard.log()) == 2
