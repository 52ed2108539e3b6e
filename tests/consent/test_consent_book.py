"""ConsentBook: default deny, withdrawal, PIPL 14 notice versions, minors, separate consent."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import pytest

from profileguard.consent import ConsentBook, ConsentPolicy, NoticeVersion, Recipient
from profileguard.store.ledger import Ledger
from profileguard.store.ledger_verify import verify
from profileguard.store.operational import OperationalStore

T0 = dt.datetime(2026, 3, 1, 9, 0, tzinfo=dt.UTC)
BIRTHS = {"p_child": dt.date(2015, 6, 1), "p_adult": dt.date(1990, 1, 1)}


def make_policy() -> ConsentPolicy:
    return ConsentPolicy(
        notice_versions=(
            NoticeVersion("v1", adds_purposes=frozenset({"personalization", "fulfilment"})),
            NoticeVersion("v2", adds_purposes=frozenset({"advertising"}),
                          adds_categories=frozenset({"user.behavior.browsing"}),
                          adds_recipients=frozenset({"adnet"})),
        ),
        separate_consent={"advertising": frozenset({"user.financial"})},
        sensitive_categories=frozenset({"user.health_and_medical"}),
        explicit_categories=frozenset({"user.health_and_medical"}),
        recipients={
            "adnet": Recipient("adnet", role="controller", country="CN"),
            "cloudco": Recipient("cloudco", role="processor", country="CN"),
            "overseas": Recipient("overseas", role="processor", country="SG"),
        },
        birth_date_of=BIRTHS.get,
    )


@pytest.fixture
def book(state_url: str) -> Iterator[ConsentBook]:
    store = OperationalStore(state_url)
    yield ConsentBook(store, make_policy())
    store.close()


def test_no_record_is_denied_grant_allows_and_withdrawal_stops_it_with_ledger_entries(
    book: ConsentBook,
) -> None:
    denied = book.allows("p_adult", "personalization", at=T0)
    assert not denied and denied.reason == "no consent record for purpose personalization"
    book.grant("p_adult", "personalization", notice_version="v2", surface="signup",
               clicks_to_give=1, clicks_to_withdraw=1, given_at=T0)
    assert book.allows("p_adult", "personalization", at=T0 + dt.timedelta(days=1))
    book.withdraw("p_adult", "personalization", given_at=T0 + dt.timedelta(days=2))
    after = book.allows("p_adult", "personalization", at=T0 + dt.timedelta(days=3))
    assert not after and "withdrawn" in after.reason
    assert after.record is not None and after.record.consent_type == "general"
    # the history is kept, and a decision "as of" before the withdrawal is still allowed
    assert [r.status for r in book.history("p_adult")] == ["granted", "withdrawn"]
    assert book.allows("p_adult", "personalization", at=T0 + dt.timedelta(days=1))
    assert [r.status for r in book.in_force("p_adult")] == ["withdrawn"]
    ledger = Ledger(book.store)
    assert [e.kind for e in ledger.entries(subject_pid="p_adult")] == [
        "consent.granted", "consent.withdrawn"]
    assert verify(ledger).ok


def test_consent_to_an_older_notice_does_not_cover_what_a_later_notice_added(
    book: ConsentBook,
) -> None:
    book.grant("p_adult", "advertising", notice_version="v1", given_at=T0)
    old = book.allows("p_adult", "advertising", at=T0)
    assert not old and "older than v2 which added purpose advertising" in old.reason
    book.grant("p_adult", "personalization", notice_version="v1", given_at=T0)
    assert book.allows("p_adult", "personalization", at=T0)
    cat = book.allows("p_adult", "personalization", categories=["user.behavior.browsing.pages"],
                      at=T0)
    assert not cat and "category user.behavior.browsing.pages" in cat.reason
    book.grant("p_adult", "advertising", notice_version="v2", given_at=T0 + dt.timedelta(1))
    assert book.allows("p_adult", "advertising", at=T0 + dt.timedelta(2))
    book.grant("p_adult", "fulfilment", notice_version="v0-draft", given_at=T0)
    unknown = book.allows("p_adult", "fulfilment", at=T0)
    assert not unknown and "does not know" in unknown.reason


def test_users_under_14_need_a_guardian_consent(book: ConsentBook) -> None:
    book.grant("p_child", "personalization", notice_version="v2", given_at=T0)
    child = book.allows("p_child", "personalization", at=T0)
    assert not child and "under 14" in child.reason and "guardian" in child.reason
    book.grant("p_child", "personalization", consent_type="guardian", notice_version="v2",
               given_at=T0 + dt.timedelta(1))
    assert book.allows("p_child", "personalization", at=T0 + dt.timedelta(2))
    # a birth date passed per call wins over the policy's lookup
    book.grant("p_adult", "personalization", notice_version="v2", given_at=T0)
    assert not book.allows("p_adult", "personalization", at=T0, birth_date=dt.date(2020, 1, 1))
    # once 14, the general consent suffices
    book.grant("p_teen", "personalization", notice_version="v2", given_at=T0)
    assert not book.allows("p_teen", "personalization", at=T0, birth_date=dt.date(2012, 3, 2))
    assert book.allows("p_teen", "personalization", at=T0, birth_date=dt.date(2012, 3, 1))


def test_recipients_abroad_or_independent_and_sensitive_categories_need_separate_consent(
    book: ConsentBook,
) -> None:
    book.grant("p_adult", "advertising", notice_version="v2", given_at=T0)
    # a domestic processor acts for us: the purpose consent covers it
    assert book.allows("p_adult", "advertising", recipient="cloudco", at=T0)
    # an independent controller needs its own, separate consent
    none = book.allows("p_adult", "advertising", recipient="adnet", at=T0)
    assert not none and "recipient adnet" in none.reason
    book.grant("p_adult", "advertising", recipient="adnet", notice_version="v2", given_at=T0)
    general = book.allows("p_adult", "advertising", recipient="adnet", at=T0)
    assert not general and "independent controller" in general.reason
    book.grant("p_adult", "advertising", recipient="adnet", consent_type="separate",
               notice_version="v2", given_at=T0 + dt.timedelta(1))
    assert book.allows("p_adult", "advertising", recipient="adnet", at=T0 + dt.timedelta(2))
    # a processor abroad: cross-border, separate consent per recipient
    book.grant("p_adult", "advertising", recipient="overseas", notice_version="v2",
               given_at=T0)
    abroad = book.allows("p_adult", "advertising", recipient="overseas", at=T0)
    assert not abroad and "is in SG" in abroad.reason
    # categories: per-purpose separate consent, sensitive (and GDPR explicit) categories
    fin = book.allows("p_adult", "advertising", categories=["user.financial.bank_card"], at=T0)
    assert not fin and "needs separate consent" in fin.reason
    book.grant("p_adult", "personalization", consent_type="separate", notice_version="v2",
               given_at=T0)
    health = book.allows("p_adult", "personalization",
                         categories=["user.health_and_medical"], at=T0)
    assert not health and "explicit" in health.reason
    book.grant("p_adult", "personalization", consent_type="explicit", notice_version="v2",
               given_at=T0 + dt.timedelta(1))
    assert book.allows("p_adult", "personalization", categories=["user.health_and_medical"],
                       at=T0 + dt.timedelta(2))


def test_pre_ticked_or_bundled_consents_do_not_count(book: ConsentBook) -> None:
    book.grant("p_adult", "personalization", notice_version="v2", pre_ticked=True, given_at=T0)
    ticked = book.allows("p_adult", "personalization", at=T0)
    assert not ticked and "pre-ticked" in ticked.reason
    book.grant("p_adult", "advertising", notice_version="v2", bundled=True, given_at=T0)
    bundled = book.allows("p_adult", "advertising", at=T0)
    assert not bundled and "bundled" in bundled.reason


def test_objection_non_personalized_choice_and_tag_overrides_are_recorded(
    book: ConsentBook,
) -> None:
    for purpose in ("personalization", "fulfilment"):
        book.grant("p_adult", purpose, notice_version="v2", given_at=T0)
    book.set_non_personalized("p_adult", True)
    assert "non-personalized" in book.allows("p_adult", "personalization", at=T0).reason
    book.set_non_personalized("p_adult", False)
    book.object("p_adult")
    objected = book.allows("p_adult", "personalization", at=T0)
    assert not objected and "objected to profiling" in objected.reason
    assert book.allows("p_adult", "fulfilment", at=T0)  # not profiling: unaffected
    assert book.objectors() == {"p_adult"}
    book.object("p_adult", False)
    assert book.allows("p_adult", "personalization", at=T0)

    first = book.correct_tag("p_adult", "gender", "female", reason="wrong guess")
    second = book.correct_tag("p_adult", "gender", "unspecified")
    deleted = book.delete_tag("p_adult", "age_band")
    active = {(o.tag, o.action, o.value) for o in book.overrides("p_adult")}
    assert active == {("gender", "correct", "unspecified"), ("age_band", "delete", None)}
    assert first not in {o.id for o in book.overrides()}  # retired by the second correction
    book.retire_override(deleted)
    assert [o.id for o in book.overrides("p_adult")] == [second]
    kinds = [e.kind for e in Ledger(book.store).entries(subject_pid="p_adult")]
    assert kinds[-8:] == ["preference.non_personalized", "preference.non_personalized",
                          "preference.objected", "preference.objected", "tag.correct",
                          "tag.correct", "tag.delete", "tag.retire"]
    assert all("female" not in str(e.payload) for e in Ledger(book.store).entries())
