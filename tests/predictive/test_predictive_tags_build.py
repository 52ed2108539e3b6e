"""Predictive tags in a build: values with confidence and explanation, cards, stable segments."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

from typer.testing import CliRunner

from profileguard.cli import app
from profileguard.model import snapshot
from profileguard.model.explain import profile_of
from profileguard.model.predictive.step import previous_cards
from profileguard.pipeline.profiles import build_profiles
from profileguard.pipeline.services import Services, open_services

AS_OF = dt.datetime(2026, 11, 1)
PREDICTIVE = {"expected_purchases_90d", "p_alive", "churn_risk", "clv_180d", "value_tier",
              "interests", "segment"}


def grant_all(svc: Services, n: int = 150) -> list[str]:
    users = [r[0] for r in svc.engine.query_rows(
        "SELECT user_id FROM orders WHERE status = 'paid' GROUP BY 1 ORDER BY count(*) DESC, 1 "
        f"LIMIT {n}")]
    for pid in users:
        for purpose in ("personalization", "tiered_operations"):
            svc.book.grant(pid, purpose, notice_version="2025.2")
    return users


def test_predictive_tags_have_confidence_explanation_and_cards(demo_ws: Path) -> None:
    with open_services(demo_ws) as svc:
        users = grant_all(svc)
        report = build_profiles(svc, AS_OF)
        assert set(report.coverage) >= PREDICTIVE and all(report.coverage[t] for t in PREDICTIVE)
        tags = {t.tag: t for t in profile_of(svc.engine, svc.manifest, svc.catalog, users[0], "en")}
    for name in PREDICTIVE - {"interests"}:
        t = tags[name]
        assert t.kind == "prediction" and 0.0 <= t.confidence <= 1.0
        assert "?" not in t.explanation, (name, t.explanation)
        assert t.fields and "orders.order_time" in t.fields
    assert "purchases in the past" in tags["expected_purchases_90d"].explanation
    out = CliRunner().invoke(app, ["models", "--manifest", str(demo_ws), "--format", "json"])
    cards = json.loads(out.output)
    assert {c["model"] for c in cards} >= {"bgnbd", "gamma_gamma", "interests", "kmeans_segments"}
    bg = next(c for c in cards if c["model"] == "bgnbd")
    assert set(bg["parameters"]) == {"r", "alpha", "a", "b"} and bg["data_size"]["customers"] > 10


def test_segment_labels_are_stable_across_rebuilds(demo_ws: Path) -> None:
    with open_services(demo_ws) as svc:
        grant_all(svc)
        build_profiles(svc, AS_OF)
        first = dict(svc.engine.query_rows(
            f"SELECT user_id, segment FROM {snapshot.current(svc.engine).wide} "  # type: ignore[union-attr]
            "WHERE segment IS NOT NULL"))
        build_profiles(svc, AS_OF + dt.timedelta(days=1))
        second = dict(svc.engine.query_rows(
            f"SELECT user_id, segment FROM {snapshot.current(svc.engine).wide} "  # type: ignore[union-attr]
            "WHERE segment IS NOT NULL"))
    common = set(first) & set(second)
    agree = sum(first[u] == second[u] for u in common) / len(common)
    assert len(common) > 50 and agree > 0.9


def test_corrected_interest_wins_over_the_model(demo_ws: Path) -> None:
    with open_services(demo_ws) as svc:
        users = grant_all(svc)
        build_profiles(svc, AS_OF)
        svc.book.correct_tag(users[0], "interests", "books")
        build_profiles(svc, AS_OF)
        row = svc.engine.query_rows(
            f"SELECT value, kind FROM {snapshot.current(svc.engine).long} "  # type: ignore[union-attr]
            "WHERE user_id = ? AND tag = 'interests'", [users[0]])
    assert row == [("books", "corrected")]


def test_models_are_fitted_only_on_people_who_consented(demo_ws: Path) -> None:
    with open_services(demo_ws) as svc:
        users = grant_all(svc, n=40)
        report = build_profiles(svc, AS_OF)
        cards = {c["model"]: c for c in previous_cards(svc.engine)}
        snap = snapshot.current(svc.engine)
        assert snap is not None
        scored = {r[0] for r in svc.engine.query_rows(
            f"SELECT user_id FROM {snap.wide} WHERE clv_180d IS NOT NULL")}
    assert report.coverage["clv_180d"] == len(scored)
    # only consenting people were fitted on and scored
    with open_services(demo_ws) as svc:
        for pid in scored:
            assert svc.book.allows(pid, "tiered_operations").allowed
    assert cards["bgnbd"]["data_size"]["customers"] == len(scored) >= len(users) // 2


def test_a_model_reads_only_its_lineage_columns_of_the_rows_it_may_use(demo_ws: Path) -> None:
    from profileguard.model.predictive.step import _restricted_sql, lineage_columns

    with open_services(demo_ws) as svc:
        tags = {t.name: t for t in svc.manifest.tags}
        for name in ("expected_purchases_90d", "interests"):
            tag = tags[name]
            sql = _restricted_sql(tag, svc.manifest, AS_OF)
            svc.engine.execute("CREATE OR REPLACE TEMP TABLE _d_allowed AS SELECT user_id AS "
                               f"user_pid, '{tag.purpose}' AS purpose FROM users LIMIT 50")
            got = svc.engine.query_arrow(sql)
            assert got.column_names == lineage_columns(tag, svc.manifest)  # not SELECT *
            allowed = {r[0] for r in svc.engine.query_rows("SELECT user_pid FROM _d_allowed")}
            assert set(got.column(0).to_pylist()) <= allowed and got.num_rows > 0
        paid = _restricted_sql(tags["expected_purchases_90d"], svc.manifest, AS_OF)
        assert "status = 'paid'" in paid  # the filter reads a column the model does not
