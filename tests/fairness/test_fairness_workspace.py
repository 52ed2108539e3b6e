"""The pricing audit runs on a workspace: quotes and derived user attributes from the warehouse."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from profileguard.audit.fairness import PricingConfig
from profileguard.pipeline.pricing import audit_workspace_pricing, workspace_quote_data
from profileguard.pipeline.services import open_services

AS_OF = dt.datetime(2026, 11, 1)


def test_workspace_quotes_join_derived_user_attributes_and_categories(demo_ws: Path) -> None:
    with open_services(demo_ws) as svc:
        data = workspace_quote_data(svc, AS_OF)
        n_quotes = svc.engine.query_rows("SELECT count(*) FROM quotes")[0][0]
    assert len(data.frame) == n_quotes
    assert {"tenure_band", "order_band", "member", "device_os", "age_band"} <= set(
        data.user_attributes)
    assert data.has_category and data.frame["category"].notna().all()
    assert set(data.frame["order_band"]) <= {"0", "1-2", "3-5", "6-11", "12+"}


def test_workspace_pricing_audit_reports_what_it_controlled_for(demo_ws: Path) -> None:
    with open_services(demo_ws) as svc:
        result = audit_workspace_pricing(svc, AS_OF, PricingConfig(timezone="Asia/Shanghai",
                                                                   time_bucket="day"))
    controlled = " ".join(result.controlled_for)
    assert all(f in controlled for f in ("coupon", "member_price", "ab_bucket", "channel"))
    assert result.not_controlled_for
    audited = {"tenure_band", "order_band", "member", "device_os", "city_tier", "age_band",
               "gender"}
    assert result.n_quotes > 0
    # 300 users give few comparable quotes: what could not be estimated is said, not hidden
    assert result.tests or result.untested
    assert all(t.attribute in audited for t in result.tests)
    # with the legitimate factors controlled, device OS (correlated with the A/B bucket) is clean
    assert "device_os" not in result.flagged_attributes


def test_pricing_cli_without_users_reads_the_workspace(demo_ws: Path) -> None:
    import json

    from typer.testing import CliRunner

    from profileguard.cli import app

    out = CliRunner().invoke(app, ["audit", "pricing", "--manifest", str(demo_ws), "--as-of",
                                   "2026-11-01", "--time-bucket", "day", "--format", "json"])
    assert out.exit_code == 0, out.output
    report = json.loads(out.output)
    assert set(report) >= {"controlled_for", "tests", "flagged_attributes", "pairs"}


def test_audit_with_pricing_adds_review_findings_for_a_flagged_gap(
        demo_ws: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import profileguard.pipeline.pricing as pricing
    from profileguard.audit.api import audit_path
    from profileguard.audit.fairness import assemble, audit_pricing
    from profileguard.audit.fairness.simulate import SimulationSpec, Surcharge, simulate_market

    market = simulate_market(SimulationSpec(n_quotes=12_000, seed=4, surcharges=(
        Surcharge("loyalty_tier", "gold", 0.05),)))
    planted = audit_pricing(assemble(market.quotes, market.users, market.items))
    monkeypatch.setattr(pricing, "audit_workspace_pricing", lambda *a, **k: planted)
    with_pricing = audit_path(demo_ws, pricing=True)
    without = audit_path(demo_ws)
    added = [f for f in with_pricing.findings if f not in without.findings
             and f.rule not in {g.rule for g in without.findings}]
    assert {(f.law, f.article) for f in added} == {("PIPL", "24"), ("ALG", "21")}
    assert all(f.severity == "review" and "loyalty_tier" in f.message for f in added)
