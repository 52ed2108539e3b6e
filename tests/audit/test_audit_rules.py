"""Every audit rule: one case that produces its finding and one that does not."""

from __future__ import annotations

import copy
import datetime as dt
from dataclasses import dataclass

import pytest
from audit_cases import AS_OF, CONSENT_PURPOSES, UTC, Mutation, World, incident, request, world

from profileguard.audit.engine import run_audit
from profileguard.audit.rule import RULES
from profileguard.manifest.checks import check


@dataclass(frozen=True)
class Case:
    rule: str
    bad: Mutation
    good: Mutation = lambda w: None
    eu: bool = False


def nothing(w: World) -> None:
    return None


def set_(path: str, value: object) -> Mutation:
    def apply(w: World) -> None:
        node = w.doc
        *parents, last = path.split(".")
        for p in parents:
            node = node[int(p)] if isinstance(node, list) else node.setdefault(p, {})
        if value is DELETE:
            del node[last]
        else:
            node[last] = value
    return apply


DELETE = object()


def both(*mutations: Mutation) -> Mutation:
    def apply(w: World) -> None:
        for m in mutations:
            m(w)
    return apply


def separate_for_behaviour(w: World) -> None:
    w.doc["consent"]["separate"] += [{"purpose": p, "categories": ["user.behavior"]}
                                     for p in CONSENT_PURPOSES]


def drop_sensitive_fields(w: World) -> None:
    del w.doc["fields"]["users"]["id_number"]
    del w.doc["fields"]["events"]["lat"]
    del w.doc["fields"]["events"]["lon"]


def states_without(item: str) -> Mutation:
    def apply(w: World) -> None:
        w.doc["notice"]["states"].remove(item)
    return apply


def endpoints_without(item: str) -> Mutation:
    def apply(w: World) -> None:
        w.doc["rights"]["endpoints"].remove(item)
    return apply


def add_tag(**tag: object) -> Mutation:
    def apply(w: World) -> None:
        w.doc["tags"].append({"kind": "descriptive", "source": "events", "value": "count(*)",
                              **tag})
    return apply


def tag_field(name: str, key: str, value: object) -> Mutation:
    def apply(w: World) -> None:
        w.tag(name)[key] = value
    return apply


def minors(under_14: int = 0, under_18: int = 0) -> Mutation:
    return lambda w: w.wh(under_14=under_14, under_18=max(under_14, under_18))


def remove_notice_purpose(w: World) -> None:
    w.doc["notice"]["history"][-1]["purposes"].remove("pricing")


def contacts_required(w: World) -> None:
    w.doc["permissions"].append({"name": "contacts", "purposes": ["fulfilment",
                                 "marketing_communications"], "required": True,
                                 "category": "user.contacts_list"})


def no_retention(w: World) -> None:
    del w.doc["retention"]["default"]


def no_analytics_records(w: World) -> None:
    assert w.consent is not None
    w.consent = type(w.consent)(w.consent.users_known,
                                [c for c in w.consent.in_force if c.purpose != "analytics"])


def rights(*requests: object) -> Mutation:
    from profileguard.audit.context import RightsFacts

    return lambda w: setattr(w, "rights", RightsFacts(len(requests), {}, list(requests)))


def incidents(record: dict[str, object], detected: dt.datetime) -> Mutation:
    return lambda w: setattr(w, "incidents", [incident(record, detected)])


FULL_NOTICE = {"categories": ["user.contact"], "cause": "misconfigured bucket", "harm": "spam",
               "remedies": "keys rotated", "contact": "dpo@x.example"}
DETECTED = dt.datetime(2026, 10, 20, 9, tzinfo=UTC)

ANONYMIZED_RELEASE = {"name": "sales_by_city", "anonymized": True,
                      "fields": ["users.city", "users.gender", "orders.paid_amount"]}
#: ids with a kept key are fine when the release does not claim to be anonymized
DE_IDENTIFIED_RELEASE = {"name": "buyers_for_adnet", "recipient": "AdNet Ltd",
                         "fields": ["orders.user_id", "users.phone"], "stable_id": True,
                         "relink_key": True}

def releases(w: World) -> None:
    w.doc["releases"] = copy.deepcopy([ANONYMIZED_RELEASE, DE_IDENTIFIED_RELEASE])


CASES = [
    Case("PIPL-5-misleading-consent", set_("consent.bundled", True)),
    Case("PIPL-6-field-without-purpose", set_("fields.users.register_channel.purposes", [])),
    Case("PIPL-6-excessive-collection", both(set_("fields.users.id_number.required", True),
                                             set_("fields.users.id_number.transform", "none"))),
    Case("PIPL-6-tag-purpose", tag_field("preferred_category", "purpose", "pricing")),
    Case("PIPL-13-legal-basis", set_("purposes.personalization.basis", "contract")),
    Case("PIPL-14-explicit-consent", set_("consent.pre_ticked", True)),
    Case("PIPL-15-withdrawal", both(set_("purposes.analytics.withdrawal", None),
                                    set_("consent.withdrawal_surface", None))),
    Case("PIPL-16-refusal-of-service", contacts_required),
    Case("PIPL-19-retention", no_retention),
    Case("PIPL-21-entrusted-processing", set_("recipients.1.contract", DELETE)),
    Case("PIPL-29-sensitive-consent",
         both(set_("fields.events.lat.purposes", ["fulfilment", "personalization"]),
              set_("fields.events.lat.transform", "none"), separate_for_behaviour),
         separate_for_behaviour),
    Case("PIPL-28-sensitive-inference",
         add_tag(name="pregnant", purpose="advertising", infers="user.health_and_medical"),
         drop_sensitive_fields),
    Case("PIPL-23-separate-consent", set_("recipients.0.separate_consent", False)),
    Case("PIPL-24-non-targeted-option",
         both(set_("applications.recommendation.non_personalized_option", False),
              set_("applications.recommendation.off_switch", False))),
    Case("PIPL-24-price-differential", set_("applications.pricing.personalized", True)),
    Case("PIPL-24-explanation", set_("rights.explanation_channel", False)),
    Case("PIPL-25-public-disclosure", set_("fields.users.gender.public", True)),
    Case("PIPL-31-under-14", both(minors(5), set_("purposes.advertising.basis", "contract")),
         minors(5)),
    Case("PIPL-38-cross-border", set_("recipients.0.country", "SG")),
    Case("PIPL-55-pia", set_("governance.pia", [])),
    Case("PIPL-73-anonymized-release",
         lambda w: w.doc["releases"][0]["fields"].append("orders.user_id"), releases),
    Case("PIPL-7-openness", remove_notice_purpose),
    Case("PIPL-17-notice-items", states_without("retention")),
    Case("PIPL-30-sensitive-notice", states_without("sensitive_necessity")),
    Case("PIPL-44-rights", lambda w: w.snap(erased_profiled=2)),
    Case("PIPL-50-request-handling", rights(request(7, "refused", dt.date(2026, 10, 1))),
         rights(request(7, "refused", dt.date(2026, 10, 1), reason="identity not verified"))),
    Case("PIPL-51-security", set_("governance.incident_plan", None)),
    Case("PIPL-52-officer", both(set_("organization.officer", None),
                                 set_("organization.registered_users", 2_000_000)),
         set_("organization.registered_users", 2_000_000)),
    Case("PIPL-54-compliance-audit", set_("governance.audits", [])),
    Case("PIPL-57-breach-notice", incidents({}, DETECTED),
         incidents({"notification": FULL_NOTICE, "notified_regulator_at": "2026-10-20T12:00"},
                   DETECTED)),
    Case("PIPL-58-large-platform", set_("organization.registered_users", 60_000_000)),
    Case("ECL-18-personalized-search",
         set_("applications.search.non_personalized_option", False)),
    Case("ECL-24-account", set_("rights.extra_conditions", ["phone customer service"])),
    Case("ADV-43-electronic-ads", set_("applications.campaigns.unsubscribe", False)),
    Case("ADV-44-popups", set_("applications.campaigns.popups_closable", False)),
    Case("ALG-10-tag-blocklist", tag_field("preferred_category", "title",
                                           {"zh": "赌博偏好", "en": "Gambling"})),
    Case("ALG-16-disclosure", set_("applications.recommendation.disclosure", False)),
    Case("ALG-17-user-control", set_("applications.recommendation.tag_deletion", False)),
    Case("ALG-18-minors-marketing",
         both(minors(0, 4), set_("applications.advertising.exclude_minors", False)),
         minors(0, 4)),
    Case("ALG-19-elderly", set_("applications.campaigns.elderly_care", False)),
    Case("ALG-21-price-terms", set_("applications.pricing.personalized", True)),
    Case("ALG-24-filing", set_("governance.algorithm_filing", None)),
    Case("NPI-4-necessary-pi", contacts_required),
    Case("CHILD-8-children-rules", both(minors(3), set_("notice.children_rules_url", None)),
         minors(3)),
    Case("MINOR-34-minors-protection",
         both(minors(0, 3), set_("governance.staff_access_least_privilege", False)),
         minors(0, 3)),
    Case("PG-ignore-without-reason", set_("audit.ignore", [{"rule": "PIPL-55-pia"}]),
         set_("audit.ignore", [{"rule": "PIPL-55-pia", "reason": "PIA under way, due in Q1",
                                "until": "2027-03-31"}])),
    Case("GDPR-6-contract-profiling", set_("purposes.personalization.basis_eu", "contract"),
         eu=True),
    Case("GDPR-7-consent-conditions", set_("consent.clicks_to_withdraw", 3), eu=True),
    Case("GDPR-9-special-categories",
         add_tag(name="faith", purpose="personalization",
                 infers="user.demographic.religious_belief"), eu=True),
    Case("GDPR-12-response-time",
         rights(request(3, "in_progress", dt.date(2026, 8, 1), jurisdiction="EU")),
         rights(request(3, "in_progress", dt.date(2026, 10, 20), jurisdiction="EU")), eu=True),
    Case("GDPR-13-information", states_without("automated_decision_logic"), eu=True),
    Case("GDPR-15-rights-endpoints", endpoints_without("export"),
         lambda w: w.doc["rights"]["endpoints"].append("restrict"), eu=True),
    Case("GDPR-21-objection", lambda w: w.snap(objectors_profiled=2), eu=True),
    Case("GDPR-22-automated-decisions", set_("applications.pricing.personalized", True),
         eu=True),
    Case("GDPR-25-by-default", set_("purposes.analytics.default_on", True), eu=True),
    Case("GDPR-30-records", set_("governance.records_of_processing", False), eu=True),
    Case("GDPR-32-security", set_("governance.encryption_at_rest", False), eu=True),
    Case("GDPR-33-breach-72h", incidents({"eu_data": True}, DETECTED),
         incidents({"eu_data": True, "notified_regulator_at": "2026-10-21T09:00+00:00"},
                   DETECTED), eu=True),
    Case("GDPR-35-dpia", set_("governance.pia", []), eu=True),
]


def fired(w: World, rule: str) -> list[str]:
    result = run_audit(w.context())
    return [f.message for f in result.findings if f.rule == rule]


def test_every_registered_rule_has_a_case() -> None:
    assert sorted(RULES) == sorted(c.rule for c in CASES)


@pytest.mark.parametrize("case", CASES, ids=[c.rule for c in CASES])
def test_rule_reports_its_bad_case(case: Case) -> None:
    w = world(case.eu)
    case.good(w)
    case.bad(w)
    assert fired(w, case.rule), f"{case.rule} did not fire"


@pytest.mark.parametrize("case", CASES, ids=[c.rule for c in CASES])
def test_rule_is_silent_on_its_good_case(case: Case) -> None:
    w = world(case.eu)
    case.good(w)
    assert fired(w, case.rule) == []


def test_findings_point_at_the_manifest_line_of_the_offending_key() -> None:
    w = world()
    set_("recipients.0.separate_consent", False)(w)
    ctx = w.context(lines=True)
    finding = next(f for f in run_audit(ctx).findings if f.rule == "PIPL-23-separate-consent")
    loc = finding.location
    assert loc is not None and loc.line == ctx.line("recipients", 0, "separate_consent")
    text = __import__("yaml").safe_dump(w.doc, allow_unicode=True).splitlines()
    assert "separate_consent" in text[loc.line - 1]


def test_gdpr_rules_only_run_for_eu_manifests() -> None:
    w = world(eu=False)
    set_("governance.records_of_processing", False)(w)
    assert fired(w, "GDPR-30-records") == []


def test_consent_records_the_book_refuses_are_low_not_high() -> None:
    w = world()
    assert w.consent is not None
    from profileguard.audit.context import ConsentCount

    w.consent.in_force.append(ConsentCount("analytics", "", "granted", "general", True, False,
                                           "2025.2", 9))
    found = [f for f in run_audit(w.context()).findings if f.rule == "PIPL-14-explicit-consent"]
    assert [f.severity for f in found] == ["low"]


def test_consent_based_purpose_without_any_record_is_high() -> None:
    w = world()
    no_analytics_records(w)
    found = [f for f in run_audit(w.context()).findings if f.rule == "PIPL-14-explicit-consent"]
    assert [f.severity for f in found] == ["high"] and "analytics" in found[0].message


def test_data_older_than_retention_is_high() -> None:
    w = world()
    from profileguard.audit.context import SourceFacts

    assert w.warehouse is not None
    w.wh(sources={**w.warehouse.sources,
                  "events": SourceFacts("events", 5, dt.datetime(2021, 1, 1), None)})
    found = [f for f in run_audit(w.context()).findings if f.rule == "PIPL-19-retention"]
    assert found and found[0].severity == "high" and "events" in found[0].message


def test_sensitive_by_standard_is_medium_and_sensitive_is_high() -> None:
    w = world()
    both(set_("fields.events.lat.purposes", ["fulfilment", "personalization"]),
         set_("fields.events.lat.transform", "none"))(w)
    found = {f.message.split(" ")[0]: f.severity for f in run_audit(w.context()).findings
             if f.rule == "PIPL-29-sensitive-consent"}
    assert found["user.location.precise"] == "high"
    assert found["user.behavior.browsing_history"] == "medium"
    assert AS_OF.year == 2026


@pytest.mark.parametrize(("change", "reason"), [
    ({"stable_id": True}, "it holds a stable per-person id"),
    ({"relink_key": True}, "a key or mapping that restores identity is kept"),
    ({"fields": ["users.phone"]}, "users.phone is pseudonymized"),
    ({"fields": ["events.device_id"]}, "events.device_id is pseudonymized"),
    ({"fields": ["users.user_id"]}, "users.user_id is an identifier (user.unique_id)"),
])
def test_anonymized_release_names_each_way_back_to_the_person(change: dict[str, object],
                                                               reason: str) -> None:
    w = world()
    set_("releases", [{**copy.deepcopy(ANONYMIZED_RELEASE), **change}])(w)
    ctx = w.context(lines=True)
    (finding,) = [f for f in run_audit(ctx).findings if f.rule == "PIPL-73-anonymized-release"]
    assert reason in finding.message and finding.severity == "high"
    key = next(iter(change))
    path = ("releases", 0, key) if key != "fields" else ("releases", 0, "fields", 0)
    assert ctx.line(*path) in {e.line for e in finding.evidence}


def test_release_of_undeclared_field_or_recipient_is_a_manifest_error() -> None:
    w = world()
    set_("releases", [{**copy.deepcopy(ANONYMIZED_RELEASE), "fields": ["users.shoe_size"],
                       "recipient": "AdNett Ltd"}])(w)
    problems = {(p.path, p.message) for p in check(w.doc)}
    assert (("releases", 0, "fields", 0),
            "field 'users.shoe_size' is not declared under `fields:`") in problems
    assert any(path == ("releases", 0, "recipient") and "'AdNett Ltd' is not declared" in msg
               for path, msg in problems)
