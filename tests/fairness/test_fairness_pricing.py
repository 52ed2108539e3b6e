"""The price audit on simulated markets with known truth (fixed seeds)."""

from __future__ import annotations

import numpy as np
import pytest

from profileguard.audit.fairness.pricing import PricingConfig, PricingResult, audit_pricing
from profileguard.audit.fairness.quotes import assemble
from profileguard.audit.fairness.simulate import SimulationSpec, Surcharge, simulate_market
from profileguard.errors import ProfileguardError

CONFOUNDER_COLUMNS = ["ab_bucket", "coupon", "member_price", "channel"]


def _audit(spec: SimulationSpec, config: PricingConfig | None = None, drop: list[str] | None = None) -> PricingResult:
    market = simulate_market(spec)
    quotes = market.quotes.drop(columns=drop or [])
    return audit_pricing(assemble(quotes, market.users, market.items), config)


@pytest.fixture(scope="module")
def surcharge_result() -> PricingResult:
    spec = SimulationSpec(n_quotes=30_000, seed=11, surcharges=(Surcharge("loyalty_tier", "gold", 0.03),))
    return _audit(spec)


def test_planted_3pct_surcharge_on_gold_tier_is_flagged_and_nothing_else(surcharge_result: PricingResult) -> None:
    assert surcharge_result.flagged_attributes == ["loyalty_tier"]
    overall = next(
        t for t in surcharge_result.tests
        if t.attribute == "loyalty_tier" and t.group == "gold" and t.category is None
    )
    assert overall.flagged and overall.reference == "bronze"
    assert overall.ci[0] < 3.0 < overall.ci[1]
    assert overall.p_adjusted < 0.001


def test_flagged_gap_comes_with_matched_pairs_in_its_direction(surcharge_result: PricingResult) -> None:
    assert surcharge_result.pairs
    for pair in surcharge_result.pairs:
        assert pair["attribute"] == "loyalty_tier" and pair["group"] == "gold"
        assert pair["price"] > pair["reference_price"]
        assert "ab_bucket" in pair["matched_on"]


@pytest.fixture(scope="module")
def null_market() -> SimulationSpec:
    return SimulationSpec(n_quotes=30_000, seed=12)


def test_confounded_null_flags_nothing_when_confounders_are_columns(null_market: SimulationSpec) -> None:
    result = _audit(null_market)
    assert result.flagged_attributes == []
    assert len(result.tests) > 20
    assert any("coupon" in c for c in result.controlled_for)


def test_confounders_left_out_would_be_mistaken_for_discrimination(null_market: SimulationSpec) -> None:
    # the same data without the legitimate-factor columns: the A/B bucket shows up as an
    # iOS surcharge and coupons as a loyal-customer surcharge, so the null test above is
    # meaningful (the confounders are real)
    result = _audit(null_market, PricingConfig(by_category=False), drop=CONFOUNDER_COLUMNS)
    assert "device_os" in result.flagged_attributes
    assert "tenure_band" in result.flagged_attributes
    assert any("no ab_bucket column" in n for n in result.not_controlled_for)


def test_surcharge_in_one_category_is_found_in_that_category_only() -> None:
    spec = SimulationSpec(
        n_quotes=40_000, seed=2, noise=0.05,
        surcharges=(Surcharge("loyalty_tier", "gold", 0.02, category="cat1"),),
    )
    result = _audit(spec)
    flagged = [(t.attribute, t.group, t.category) for t in result.flagged]
    assert ("loyalty_tier", "gold", "cat1") in flagged
    assert all(category == "cat1" for _, _, category in flagged)


def test_permutation_inference_also_finds_the_planted_surcharge() -> None:
    spec = SimulationSpec(n_quotes=8_000, seed=5, surcharges=(Surcharge("loyalty_tier", "gold", 0.05),))
    config = PricingConfig(
        attributes=("loyalty_tier", "device_os"), method="permutation", permutations=199, by_category=False
    )
    result = _audit(spec, config)
    assert result.flagged_attributes == ["loyalty_tier"]
    gold = next(t for t in result.tests if t.group == "gold")
    assert gold.p_value == pytest.approx(1 / 200)


def test_separate_models_report_marginal_gaps_that_spill_to_correlated_attributes() -> None:
    spec = SimulationSpec(n_quotes=30_000, seed=11, surcharges=(Surcharge("loyalty_tier", "gold", 0.03),))
    result = _audit(spec, PricingConfig(model="separate", by_category=False))
    assert "loyalty_tier" in result.flagged_attributes
    # most gold users are members: the marginal member gap is positive, which is why joint is the default
    member = next(t for t in result.tests if t.attribute == "member")
    assert member.gap_pct > 0.5
    assert any("one at a time" in n for n in result.not_controlled_for)


def test_materiality_threshold_keeps_a_significant_small_gap_unflagged() -> None:
    spec = SimulationSpec(n_quotes=30_000, seed=11, surcharges=(Surcharge("loyalty_tier", "gold", 0.03),))
    result = _audit(spec, PricingConfig(threshold=0.05, by_category=False))
    gold = next(t for t in result.tests if t.group == "gold")
    assert gold.p_adjusted < 0.05 and not gold.flagged
    assert result.flagged_attributes == []


def test_blank_attribute_values_are_left_out_not_a_group() -> None:
    market = simulate_market(SimulationSpec(n_quotes=6_000, seed=3))
    users = market.users.copy()
    users.loc[users.index[:50], "city_tier"] = None
    result = audit_pricing(
        assemble(market.quotes, users, market.items),
        PricingConfig(attributes=("city_tier",), by_category=False),
    )
    groups = {t.group for t in result.tests}
    assert groups and "(missing)" not in groups and "None" not in groups
    assert all(isinstance(t.group, str) for t in result.tests)
    assert len({t.reference for t in result.tests}) == 1


def test_supplier_markup_looks_like_discrimination_until_declared_a_control() -> None:
    # the Ctrip lesson: a supplier mark-up that happens to fall on loyal users' quotes
    market = simulate_market(SimulationSpec(n_quotes=20_000, seed=21))
    quotes = market.quotes.copy()
    gold = quotes["user_id"].map(market.users.set_index("user_id")["loyalty_tier"]).eq("gold").to_numpy()
    rng = np.random.default_rng(0)
    premium = rng.random(len(quotes)) < np.where(gold, 0.7, 0.2)
    quotes["supplier"] = np.where(premium, "S2", "S1")
    quotes["price"] = (quotes["price"] * np.where(premium, 1.04, 1.0)).round(2)
    quotes["coupon"] = (quotes["coupon"] * np.where(premium, 1.04, 1.0)).round(2)
    data = assemble(quotes, market.users, market.items)
    naive = audit_pricing(data, PricingConfig(by_category=False))
    assert "loyalty_tier" in naive.flagged_attributes
    controlled = audit_pricing(data, PricingConfig(controls=("supplier",), by_category=False))
    assert controlled.flagged_attributes == []
    assert "supplier (declared control)" in controlled.controlled_for


def test_unknown_control_is_refused_with_the_allowed_columns() -> None:
    market = simulate_market(SimulationSpec(n_quotes=2_000, seed=1))
    data = assemble(market.quotes, market.users, market.items)
    with pytest.raises(ProfileguardError, match=r"--controls: unknown column\(s\) stock.*allowed:.*channel"):
        audit_pricing(data, PricingConfig(controls=("stock",)))


def test_day_buckets_follow_the_declared_timezone() -> None:
    market = simulate_market(SimulationSpec(n_quotes=4_000, seed=8))
    data = assemble(market.quotes, market.users, market.items)
    utc = audit_pricing(data, PricingConfig(time_bucket="day", by_category=False, attributes=("device_os",)))
    cst = audit_pricing(
        data, PricingConfig(time_bucket="day", timezone="Asia/Shanghai", by_category=False, attributes=("device_os",))
    )
    # 3 UTC days of quotes span 4 Shanghai calendar days
    assert cst.n_cells > utc.n_cells
    with pytest.raises(ProfileguardError, match="timezone"):
        audit_pricing(data, PricingConfig(timezone="Mars/Olympus"))


def test_null_market_that_cr1_falsely_flags_is_not_flagged_with_jackknife_errors() -> None:
    # 10,000 quotes in 40 items × 72 hours: cells of a few quotes, where demeaning hides part
    # of each user's own price level and CR1 standard errors come out too small
    market = simulate_market(SimulationSpec(n_quotes=10_000, seed=50007))
    data = assemble(market.quotes, market.users, market.items)
    cr1 = audit_pricing(data, PricingConfig(variance="cr1", by_category=False))
    cv3 = audit_pricing(data, PricingConfig(by_category=False))
    assert cr1.flagged_attributes == ["loyalty_tier"]
    assert cv3.flagged_attributes == []
    pairs = {(t.attribute, t.group): t for t in cr1.tests}
    for test in cv3.tests:
        wider = pairs[(test.attribute, test.group)]
        assert test.gap_pct == pytest.approx(wider.gap_pct)  # same estimate, other standard error
        assert test.ci[1] - test.ci[0] > wider.ci[1] - wider.ci[0]


def test_unknown_variance_estimator_is_refused() -> None:
    market = simulate_market(SimulationSpec(n_quotes=2_000, seed=1))
    data = assemble(market.quotes, market.users, market.items)
    with pytest.raises(ProfileguardError, match=r"variance 'cr2'; allowed: cv3, cr1"):
        audit_pricing(data, PricingConfig(variance="cr2"))  # type: ignore[arg-type]
