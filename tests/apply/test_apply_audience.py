"""Audiences: consent, objection, separate consent, minors, sensitive criteria, size, export."""

from __future__ import annotations

import csv
import datetime as dt
from pathlib import Path

import pytest
import sqlalchemy as sa

from profileguard.apply.audience import AudienceSpec, select_audience
from profileguard.apply.criteria import CriterionRefused
from profileguard.apply.export import export_audience
from profileguard.apply.guards import age_on, criterion_refusal
from profileguard.errors import ProfileguardError
from profileguard.pipeline.services import Services, open_services
from profileguard.store import tables as t

ADNET = "AdNet Ltd"
ALL = "age_band IS NOT NULL OR preferred_category IS NOT NULL"


def _birth(svc: Services) -> dict[str, dt.date]:
    return {str(u): b for u, b in svc.engine.query_rows(
        "SELECT user_id, birth_date FROM users WHERE birth_date IS NOT NULL")}


def test_minors_are_excluded_from_automated_marketing_audiences(svc: Services) -> None:
    res = select_audience(svc, AudienceSpec("age_band IS NOT NULL OR rfm_segment IS NOT NULL",
                                            "tiered_operations", min_size=1), members=True)
    assert res.removed["minor"] > 0
    births = _birth(svc)
    assert res.members
    day = dt.date.today()
    assert all(age_on(births[u], day) >= 18 for u in res.members if u in births)


def test_objectors_and_users_without_separate_consent_are_excluded_for_a_controller(
        svc: Services) -> None:
    spec = AudienceSpec(ALL, "advertising", ADNET, min_size=1)
    before = select_audience(svc, spec, members=True)
    objector, general_only = before.members[0], before.members[1]
    svc.book.object(objector)
    # a general advertising consent does not cover giving data to an independent controller
    svc.book.withdraw(general_only, "advertising", recipient=ADNET)
    svc.book.grant(general_only, "advertising", notice_version="2025.2")
    after = select_audience(svc, spec, members=True)
    assert objector not in after.members and general_only not in after.members
    assert after.removed["objection"] == before.removed["objection"] + 1
    assert after.removed["recipient_consent"] == before.removed["recipient_consent"] + 1
    assert after.size == before.size - 2
    # without a recipient, the general consent is enough
    own = select_audience(svc, AudienceSpec(ALL, "advertising", min_size=1), members=True)
    assert general_only in own.members and objector not in own.members


def test_sensitive_inferring_tag_is_refused_as_a_criterion(built_ws: Path) -> None:
    with open_services(built_ws.parent / "naive.yaml") as naive:
        with pytest.raises(CriterionRefused) as err:
            select_audience(naive, AudienceSpec("pregnancy_likely = true", "advertising",
                                                ADNET))
        assert err.value.rule.rule == "sensitive_inference"
        assert "user.health" in str(err.value)
        rule = criterion_refusal(naive.manifest, naive.catalog, "home_area", "advertising")
        assert rule is not None and rule.rule == "sensitive_tag"


def test_tag_reading_fields_not_declared_for_the_purpose_is_refused(svc: Services) -> None:
    with pytest.raises(CriterionRefused) as err:
        select_audience(svc, AudienceSpec("gender = '女'", "advertising", ADNET))
    assert err.value.rule.rule == "purpose_limitation" and err.value.rule.article == "6"


def test_expression_outside_the_allow_list_is_refused(svc: Services) -> None:
    with pytest.raises(ProfileguardError, match="audience expression"):
        select_audience(svc, AudienceSpec("age_band IN (SELECT 1)", "advertising", ADNET))


def test_audience_below_the_minimum_size_is_refused_and_not_exported(svc: Services) -> None:
    spec = AudienceSpec("preferred_category = 'beauty' AND age_band = '18-24'", "advertising",
                        ADNET)
    res = select_audience(svc, spec)
    assert res.size < 50 and res.refusal is not None and res.refusal.rule == "min_audience"
    with pytest.raises(ProfileguardError, match="below the minimum"):
        export_audience(svc, spec)


def _add_recipient(manifest: Path, name: str) -> None:
    text = manifest.read_text(encoding="utf-8")
    entry = (f"recipients:\n  - name: {name}\n    role: controller\n    purposes: [advertising]"
             "\n    fields: [users.user_id, users.birth_date]\n    country: CN\n    contact: "
             "dpo@second.example\n    method: audience file\n    separate_consent: true\n")
    manifest.write_text(text.replace("recipients:\n", entry, 1), encoding="utf-8")


def test_two_recipients_exports_share_no_pseudonym_and_are_recorded(built_ws: Path) -> None:
    _add_recipient(built_ws, "SecondAds Co")
    with open_services(built_ws) as svc:
        first = export_audience(svc, AudienceSpec(ALL, "advertising", ADNET, min_size=1))
        for pid in first.result.members:  # the same people consent to the second recipient
            svc.book.grant(pid, "advertising", recipient="SecondAds Co",
                           consent_type="separate", notice_version="2025.2")
        second = export_audience(svc, AudienceSpec(ALL, "advertising", "SecondAds Co",
                                                   min_size=1))
        assert set(second.result.members) == set(first.result.members)
        with svc.store.read() as conn:
            exports = conn.execute(sa.select(t.exports.c.recipient, t.exports.c.rows)).all()
            members = conn.execute(sa.select(sa.func.count()).select_from(
                t.export_members)).scalar_one()
        kinds = [e.kind for e in svc.ledger.tail(50)]
    read = [{r["audience_member"] for r in csv.DictReader(e.path.open(encoding="utf-8"))}
            for e in (first, second)]
    assert len(read[0]) == len(read[1]) == first.rows > 0
    assert not read[0] & read[1]
    assert not read[0] & set(first.result.members)  # not the warehouse pseudonyms either
    assert sorted(exports) == sorted([(ADNET, first.rows), ("SecondAds Co", second.rows)])
    assert members == first.rows + second.rows
    assert kinds.count("audience.export") == 2


def test_counts_stay_exact_when_snapshot_rows_were_deleted_after_the_guard_table(
        svc: Services) -> None:
    spec = AudienceSpec("age_band IS NOT NULL", "tiered_operations", min_size=1)
    before = select_audience(svc, spec, members=True)
    gone = before.members[0]
    snap = before.guard
    assert snap is not None
    # an erasure deletes snapshot rows; the positional fast path must notice the shift
    svc.engine.execute(f"DELETE FROM snap_{before.snapshot}_wide WHERE user_id = ?", [gone])
    after = select_audience(svc, spec, members=True)
    assert after.guard is not None and after.guard.name == snap.name  # not rebuilt
    assert after.matched == before.matched - 1
    assert after.size == before.size - 1 and gone not in after.members
