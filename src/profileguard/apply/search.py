"""Search results, ranked with or without personalization (ECL 18).

Matching is plain text over the item catalogue: each query term found in an item's title
scores 1, a term equal to its category 2. The non-personalized ranking orders matches by
that relevance, then by popularity — nothing about the person — and is always available
(``mode="non_personalized"``). The personalized ranking adds a boost from the person's
time-decayed affinity to the item's category and to its co-occurrence neighbours; it is
only used after the same guard as recommendations allows it for the search purpose
(``applications.search.purpose``, and only when ``applications.search.personalized``).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

from profileguard.apply.guards import Mode, ModeChoice, Rule, choose_mode
from profileguard.apply.recommend import Recommender, affinity
from profileguard.manifest.model import Search as SearchConfig

if TYPE_CHECKING:
    from profileguard.pipeline.services import Services

BOOST = 1.5  # weight of the (normalized) personal affinity against one matched term


@dataclass(frozen=True)
class SearchHit:
    item_id: str
    title: str
    category: str
    relevance: float
    score: float
    explanation: str


@dataclass(frozen=True)
class SearchResult:
    user_pid: str
    query: str
    requested: Mode
    mode: Mode
    rule: Rule | None
    hits: list[SearchHit] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {"user": self.user_pid, "query": self.query, "requested": self.requested,
                "mode": self.mode, "forced_by": self.rule.as_dict() if self.rule else None,
                "hits": [asdict(h) for h in self.hits]}


class Searcher:
    def __init__(self, recommender: Recommender) -> None:
        self.rec = recommender
        self.config = recommender.svc.manifest.applications.search or SearchConfig()

    def choose(self, user_pid: str, mode: Mode) -> ModeChoice:
        if mode != "personalized":
            return choose_mode(mode, enabled=True, consent=None)
        enabled = self.config.enabled and self.config.personalized
        decision = (self.rec.svc.book.allows(user_pid, self.config.purpose,
                                             categories=self.rec.categories)
                    if enabled else None)
        return choose_mode(mode, enabled=enabled, consent=decision)

    def relevance(self, query: str) -> dict[str, float]:
        terms = [t.lower() for t in query.split() if t.strip()]
        out: dict[str, float] = {}
        for item in self.rec.catalogue.items.values():
            title, cat = item.title.lower(), item.category.lower()
            score = sum(1.0 for t in terms if t in title) + sum(2.0 for t in terms if t == cat)
            if score > 0:
                out[item.item_id] = score
        return out

    def search(self, user: str, query: str, n: int = 10, mode: Mode = "personalized"
               ) -> SearchResult:
        pid = self.rec.svc.pid(user)
        choice = self.choose(pid, mode)
        rel = self.relevance(query)
        popularity = dict(self.rec.model.popular)
        top_pop = max(popularity.values(), default=1.0) or 1.0
        boost: dict[str, float] = {}
        if choice.personalized:
            boost = self._boost(pid, rel)
        scored = []
        for item_id, r in rel.items():
            b = boost.get(item_id, 0.0)
            # popularity only breaks ties within one relevance level (< 0.01 of a term)
            score = r + BOOST * b + 0.01 * popularity.get(item_id, 0.0) / top_pop
            scored.append((score, item_id, r, b))
        scored.sort(key=lambda s: (-s[0], s[1]))
        hits = []
        for score, item_id, r, b in scored[:n]:
            item = self.rec.catalogue.get(item_id)
            why = ("matches your query; boosted by your interest in "
                   f"{item.category}" if b > 0 else "matches your query (not based on you)")
            hits.append(SearchHit(item_id, item.title, item.category, r, round(score, 6), why))
        return SearchResult(pid, query, choice.requested, choice.mode, choice.rule, hits)

    def _boost(self, pid: str, candidates: dict[str, float]) -> dict[str, float]:
        aff = affinity(self.rec.reader.interactions(pid, self.rec.as_of), self.rec.as_of,
                       self.rec.half_life_days)
        by_cat: dict[str, float] = defaultdict(float)
        near: dict[str, float] = defaultdict(float)
        for item_id, (a, _k) in aff.items():
            by_cat[self.rec.catalogue.get(item_id).category] += a
            for j, sim in self.rec.model.neighbours.get(item_id, ()):
                near[j] += a * sim
        raw = {i: by_cat.get(self.rec.catalogue.get(i).category, 0.0) + near.get(i, 0.0)
               for i in candidates}
        top = max(raw.values(), default=0.0)
        return {i: v / top for i, v in raw.items()} if top > 0 else {}


def search(svc_or_recommender: Services | Recommender, user: str, query: str, n: int = 10,
           mode: Mode = "personalized") -> SearchResult:
    rec = (svc_or_recommender if isinstance(svc_or_recommender, Recommender)
           else Recommender(svc_or_recommender))
    return Searcher(rec).search(user, query, n, mode)
