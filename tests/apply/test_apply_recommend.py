"""Recommendations: the guard decides the mode before any personal data is read."""

from __future__ import annotations

import datetime as dt

import pytest

from profileguard.apply.behaviour import Interaction, WarehouseReader
from profileguard.apply.evaluate import evaluate_recommendations
from profileguard.apply.guards import choose_mode
from profileguard.apply.recommend import Recommender
from profileguard.apply.search import Searcher
from profileguard.consent.decisions import Decision
from profileguard.pipeline.services import Services


class RecordingReader:
    """Wraps the warehouse reader and records whose data was read."""

    def __init__(self, inner: WarehouseReader) -> None:
        self.inner = inner
        self.calls: list[str] = []

    def interactions(self, user_pid: str, until: dt.datetime) -> list[Interaction]:
        self.calls.append(user_pid)
        return self.inner.interactions(user_pid, until)


def _recommender(svc: Services) -> tuple[Recommender, RecordingReader]:
    plain = Recommender(svc)
    reader = RecordingReader(WarehouseReader(svc.engine, plain.sources))
    return Recommender(svc, reader=reader), reader


def _consenting_with_history(rec: Recommender, k: int = 1) -> list[str]:
    users = [u for u in rec.model_users() if len(rec.reader.interactions(u, rec.as_of)) >= 3]
    assert len(users) >= k
    return users[:k]


def test_objection_makes_the_next_call_non_personalized_and_reads_nothing(svc: Services
                                                                          ) -> None:
    rec, reader = _recommender(svc)
    (user,) = _consenting_with_history(rec)
    reader.calls.clear()
    first = rec.recommend(user, 5)
    assert first.mode == "personalized" and reader.calls == [user]
    svc.book.object(user)
    reader.calls.clear()
    after = rec.recommend(user, 5)
    assert after.mode == "non_personalized"
    assert after.rule is not None and "objected" in after.rule.reason
    assert reader.calls == []  # the person's behaviour was not read
    assert all(i.source == "popularity" for i in after.items)


@pytest.mark.parametrize("switch", ["non_personalized_choice", "withdrawal"])
def test_switching_personalization_off_takes_effect_at_once(svc: Services, switch: str
                                                            ) -> None:
    rec, reader = _recommender(svc)
    (user,) = _consenting_with_history(rec)
    assert rec.recommend(user, 3).mode == "personalized"
    if switch == "withdrawal":
        svc.book.withdraw(user, rec.purpose)
    else:
        svc.book.set_non_personalized(user)
    reader.calls.clear()
    res = rec.recommend(user, 3)
    assert res.mode == "non_personalized" and reader.calls == []


def test_minor_gets_non_personalized_results_in_marketing_context_only(
        svc: Services, monkeypatch: pytest.MonkeyPatch) -> None:
    rec, reader = _recommender(svc)
    (user,) = _consenting_with_history(rec)
    monkeypatch.setattr(svc, "birth_date_of", lambda pid: dt.date(2010, 6, 1))  # 16 years old
    reader.calls.clear()
    marketing = rec.recommend(user, 3, context="marketing")
    assert marketing.mode == "non_personalized"
    assert marketing.rule is not None and marketing.rule.rule == "minor"
    assert reader.calls == []
    assert rec.recommend(user, 3, context="feed").mode == "personalized"


def test_users_without_consent_never_get_personalized_results(svc: Services) -> None:
    rec, reader = _recommender(svc)
    allowed = set(rec.model_users())
    others = [u for (u,) in svc.engine.query_rows("SELECT user_id FROM users")
              if u not in allowed][:5]
    reader.calls.clear()
    for u in others:
        assert rec.recommend(u, 3).mode == "non_personalized"
    assert reader.calls == []


def test_each_personalized_item_says_which_own_item_it_comes_from(svc: Services) -> None:
    rec, _ = _recommender(svc)
    (user,) = _consenting_with_history(rec)
    res = rec.recommend(user, 10)
    own = {i.item_id for i in rec.reader.interactions(user, rec.as_of)}
    personal = [i for i in res.items if i.source != "popularity"]
    assert personal
    for item in personal:
        assert item.explanation.startswith("because you ")
        assert item.because_item in own and item.item_id not in own


def test_non_personalized_results_are_the_same_for_everyone(svc: Services) -> None:
    rec, _ = _recommender(svc)
    a, b = _consenting_with_history(rec, 2)
    ra = rec.recommend(a, 8, mode="non_personalized")
    rb = rec.recommend(b, 8, mode="non_personalized")
    assert [i.item_id for i in ra.items] == [i.item_id for i in rb.items]
    cat = ra.items[0].category
    in_cat = rec.recommend(a, 5, mode="non_personalized", category=cat)
    assert in_cat.items and all(i.category == cat for i in in_cat.items)


def test_guard_refuses_personalization_when_switched_off_in_the_manifest() -> None:
    choice = choose_mode("personalized", enabled=False, consent=Decision(True, "ok"))
    assert choice.mode == "non_personalized" and choice.rule is not None
    assert choice.rule.rule == "personalization_disabled"


def test_search_offers_non_personalized_ranking_and_falls_back_after_objection(
        svc: Services) -> None:
    rec, reader = _recommender(svc)
    searcher = Searcher(rec)
    (user,) = _consenting_with_history(rec)
    category = rec.catalogue.get(rec.reader.interactions(user, rec.as_of)[-1].item_id).category
    plain = searcher.search(user, category, 10, "non_personalized")
    assert plain.mode == "non_personalized" and plain.hits
    assert all(h.category == category for h in plain.hits)
    svc.book.object(user)
    reader.calls.clear()
    res = searcher.search(user, category, 10, "personalized")
    assert res.mode == "non_personalized" and reader.calls == []
    assert [h.item_id for h in res.hits] == [h.item_id for h in plain.hits]


def test_offline_evaluation_personalized_precision_beats_popularity(svc: Services) -> None:
    ev = evaluate_recommendations(svc, k=10, test_days=30)
    personal, popular = ev.get("personalized"), ev.get("popularity baseline")
    print(f"\nprecision@10 personalized {personal.precision:.4f} vs popularity "
          f"{popular.precision:.4f} ({personal.users} users); coverage "
          f"{personal.coverage:.3f} vs {popular.coverage:.3f}")
    assert personal.users > 0
    assert personal.precision > popular.precision
    assert personal.coverage > popular.coverage
