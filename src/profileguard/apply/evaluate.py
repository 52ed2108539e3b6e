"""Offline evaluation of recommendations on a time split, against the popularity baseline.

Everything before ``split = as_of − test_days`` trains (the co-occurrence model, each
user's affinities, the popularity ranking); the items a user added to cart or bought in
the test window that they had not interacted with before are the truth. Only users whose
personalization consent is in force are evaluated (the others never get personalized
results). Reported per ranking: precision@k, recall@k (means over users), hit rate, and
catalogue coverage (share of items that appear in some top-k list). Plain formulas, so
no library: they are three lines each and the definitions are stated here.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

from profileguard.apply.recommend import Recommender, default_as_of

if TYPE_CHECKING:
    from profileguard.pipeline.services import Services

TRUTH_KINDS = ("add_to_cart", "purchase")


@dataclass(frozen=True)
class Scores:
    ranking: str
    k: int
    users: int
    precision: float
    recall: float
    hit_rate: float
    coverage: float


@dataclass(frozen=True)
class Evaluation:
    split: dt.datetime
    as_of: dt.datetime
    catalogue: int
    results: list[Scores]

    def as_dict(self) -> dict[str, Any]:
        return {"split": self.split.isoformat(), "as_of": self.as_of.isoformat(),
                "catalogue_items": self.catalogue, "results": [asdict(r) for r in self.results]}

    def get(self, ranking: str) -> Scores:
        return next(r for r in self.results if r.ranking == ranking)


def _score(name: str, k: int, lists: dict[str, list[str]], truth: dict[str, set[str]],
           catalogue: int) -> Scores:
    precision = recall = hits = 0.0
    shown: set[str] = set()
    for user, recs in lists.items():
        top = recs[:k]
        shown.update(top)
        got = len(set(top) & truth[user])
        precision += got / k
        recall += got / len(truth[user])
        hits += got > 0
    n = max(len(lists), 1)
    return Scores(name, k, len(lists), precision / n, recall / n, hits / n,
                  len(shown) / max(catalogue, 1))


def evaluate_recommendations(svc: Services, *, k: int = 10, test_days: int = 30,
                             as_of: dt.datetime | None = None) -> Evaluation:
    end = as_of or default_as_of(svc)
    split = end - dt.timedelta(days=test_days)
    rec = Recommender(svc, as_of=split)
    allowed = set(rec.model_users())
    inter = rec.sources.interactions_sql()
    rows = svc.engine.query_rows(
        f"SELECT u, item, kind, ts < ? AS train FROM ({inter}) WHERE ts < ?", [split, end])
    seen: dict[str, set[str]] = defaultdict(set)
    later: dict[str, set[str]] = defaultdict(set)
    for u, item, kind, train in rows:
        if u not in allowed:
            continue
        if train:
            seen[u].add(str(item))
        elif kind in TRUTH_KINDS:
            later[u].add(str(item))
    truth = {u: items - seen[u] for u, items in later.items() if seen[u] and items - seen[u]}
    personal: dict[str, list[str]] = {}
    popular: dict[str, list[str]] = {}
    base = [i for i, _ in rec.model.popular]
    for user in sorted(truth):
        got = rec.personalized(rec.reader.interactions(user, split), k)
        personal[user] = [r.item_id for r in got]
        popular[user] = [i for i in base if i not in seen[user]][:k]
    n_items = len(rec.catalogue)
    return Evaluation(split, end, n_items, [
        _score("personalized", k, personal, truth, n_items),
        _score("popularity baseline", k, popular, truth, n_items),
    ])
