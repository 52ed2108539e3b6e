"""Profile builds: consent and rights decide who gets which tag; refused tags are findings."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from profileguard.manifest import parse_manifest
from profileguard.model import snapshot
from profileguard.model.catalog import build_catalog
from profileguard.pipeline.profiles import build_profiles
from profileguard.pipeline.services import Services, open_services

AS_OF = dt.datetime(2026, 11, 1)


def tags_of(svc: Services, pid: str) -> dict[str, str]:
    snap = snapshot.current(svc.engine)
    assert snap is not None
    return {t: v for t, v in svc.engine.query_rows(
        f"SELECT tag, value FROM {snap.long} WHERE user_id = ?", [pid])}


def personalization_tags(svc: Services) -> set[str]:
    return {t.name for t in svc.manifest.tags if t.purpose == "personalization"}


def users_with_orders(svc: Services) -> list[str]:
    """People with at least two paid orders in the year before AS_OF (every RFM tag then has
    a value; the pseudonym key differs per run, so the choice must not depend on order)."""
    return [r[0] for r in svc.engine.query_rows(
        "SELECT user_id FROM orders WHERE status = 'paid' AND order_time <= TIMESTAMP "
        "'2026-11-01' AND order_time > TIMESTAMP '2025-11-01' GROUP BY 1 "
        "HAVING count(*) >= 2 ORDER BY 1")]


def test_user_without_personalization_consent_gets_no_personalization_tags(demo_ws: Path) -> None:
    with open_services(demo_ws) as svc:
        pid = users_with_orders(svc)[0]
        svc.book.grant(pid, "tiered_operations", notice_version="2025.2")
        svc.book.withdraw(pid, "personalization")
        build_profiles(svc, AS_OF)
        held = tags_of(svc, pid)
        assert not set(held) & personalization_tags(svc)
        assert "frequency_365d" in held  # tiered_operations consent still covers RFM tags


def test_user_with_consent_gets_the_tags_and_objector_gets_none(demo_ws: Path) -> None:
    with open_services(demo_ws) as svc:
        pid = users_with_orders(svc)[1]
        svc.book.grant(pid, "personalization", notice_version="2025.2")
        build_profiles(svc, AS_OF)
        assert {"gender", "age_band", "avg_order_value"} <= set(tags_of(svc, pid))
        svc.book.object(pid)
        build_profiles(svc, AS_OF)
        assert tags_of(svc, pid) == {}


def test_deleted_tag_stays_deleted_and_corrected_value_wins_after_rebuild(demo_ws: Path) -> None:
    with open_services(demo_ws) as svc:
        pid = users_with_orders(svc)[2]
        svc.book.grant(pid, "personalization", notice_version="2025.2")
        build_profiles(svc, AS_OF)
        assert "gender" in tags_of(svc, pid)
        svc.book.delete_tag(pid, "gender")
        svc.book.correct_tag(pid, "age_band", "31-40")
        for _ in range(2):
            build_profiles(svc, AS_OF)
            held = tags_of(svc, pid)
            assert "gender" not in held
            assert held["age_band"] == "31-40"
        kind = svc.engine.query_rows(
            f"SELECT kind FROM {snapshot.current(svc.engine).long} "  # type: ignore[union-attr]
            "WHERE user_id = ? AND tag = 'age_band'", [pid])
        assert kind == [("corrected",)]


def test_correction_never_brings_back_a_tag_without_consent(demo_ws: Path) -> None:
    with open_services(demo_ws) as svc:
        pid = users_with_orders(svc)[3]
        svc.book.withdraw(pid, "personalization")
        svc.book.correct_tag(pid, "age_band", "31-40")
        build_profiles(svc, AS_OF)
        assert "age_band" not in tags_of(svc, pid)


def test_default_deny_user_without_any_record_gets_no_tags(demo_ws: Path) -> None:
    with open_services(demo_ws) as svc:
        known = {r[0] for r in svc.engine.query_rows("SELECT user_id FROM users")}
        with svc.store.read() as conn:
            import sqlalchemy as sa

            from profileguard.store import tables as t
            recorded = {r[0] for r in conn.execute(sa.select(t.consents.c.user_pid).distinct())}
        silent = sorted(known - recorded)
        report = build_profiles(svc, AS_OF)
        assert report.snapshot is not None
        for pid in silent[:5]:
            assert tags_of(svc, pid) == {}


def test_naive_manifest_refusals_are_findings_not_crashes(demo_ws: Path) -> None:
    naive = demo_ws.parent / "naive.yaml"
    with open_services(naive) as svc:
        report = build_profiles(svc, AS_OF)
    refused = {r.tag: r for r in report.refusals}
    assert "sensitive inferences may not drive advertising" in refused["pregnancy_likely"].message
    assert refused["pregnancy_likely"].law == "PIPL"
    assert "without a declared separate consent" in refused["home_area"].message
    assert report.snapshot is not None and "pregnancy_likely" not in report.coverage


BASE = """\
organization: {name: Shop}
sources:
  orders: {format: csv, path: o.csv, key: order_id, user: user_id, time: order_time}
fields:
  orders:
    order_id: {category: non_personal, purposes: [fulfilment]}
    user_id: {category: user.unique_id, purposes: [fulfilment, personalization, advertising]}
    order_time: {category: user.payment.time, type: timestamp, purposes: [fulfilment, personalization]}
    paid_amount: {category: user.payment.amount, type: decimal, purposes: [fulfilment]}
    card: {category: user.financial.credit_card, purposes: [personalization]}
purposes:
  fulfilment: {basis: contract}
  personalization: {basis: consent}
  advertising: {basis: consent}
tags:
  - {name: t, kind: descriptive, source: orders, window: 30d, purpose: personalization, value: "VALUE"}
"""


@pytest.mark.parametrize(("value", "expected"), [
    ("(SELECT max(paid_amount) FROM orders)", "subquer"),
    ("count(*) + epoch(now())", "now()"),
    ("sum(coupon)", "coupon"),
    ("1; DROP TABLE orders", ";"),
    ("sum(paid_amount)", "not a declared purpose of field orders.paid_amount"),
    ("count(DISTINCT card)", "sensitive personal information (user.financial.credit_card)"),
])
def test_refused_tags_name_the_problem(value: str, expected: str) -> None:
    manifest, _ = parse_manifest(BASE.replace("VALUE", value.replace('"', '\\"')))
    catalog = build_catalog(manifest)
    info = catalog.get("t")
    assert info is not None and info.refused
    assert expected in " ".join(r.message for r in info.refusals)
    assert "'t'" in info.refusals[0].message
