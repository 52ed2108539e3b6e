"""Recommendations ("猜你喜欢"), personalized or not — the mode is decided before any read.

``recommend(svc, user, n, mode=...)`` first asks the guard (:func:`choose_mode`): the
ConsentBook's decision for the recommendation purpose (objection, withdrawal, the
non-personalized choice, guardian consent) and, in marketing contexts, the user's age.
Only a personalized decision lets the :class:`UserDataReader` read that person's
behaviour; otherwise the result is the non-personalized ranking (popularity by category
and recency), and the person's data is never touched — from the very next call, because
the decision is taken on every call (ALG 17 "stop at once", PIPL 24, ECL 18).

Personalized scores: time-decayed affinity ``a(u,i) = Σ w(kind)·0.5^(age/half-life)`` over
the person's views, carts and purchases, spread over item-to-item Jaccard neighbours
(:mod:`profileguard.apply.item_model`) and over the popular items of the categories the
person is drawn to (see :meth:`Recommender.personalized`). Each item names the item that contributed most:
"because you bought X". Profile tags are not inputs at all, so no sensitive or
sensitive-inferring tag can be one.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import asdict, dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING, Any, Literal

from profileguard.apply.behaviour import (
    VERBS,
    WEIGHTS,
    BehaviourSources,
    Catalogue,
    Interaction,
    UserDataReader,
    WarehouseReader,
)
from profileguard.apply.guards import Mode, ModeChoice, Rule, choose_mode, is_minor
from profileguard.apply.item_model import ItemModel, build_item_model
from profileguard.manifest.model import Recommendation as RecommendationConfig
from profileguard.model.snapshot import current

if TYPE_CHECKING:
    from profileguard.pipeline.services import Services

Context = Literal["feed", "marketing"]
CATEGORY_WEIGHT = 3.0  # weight of the category-mix × popularity part against co-occurrence
#: the behaviour fields a personalized result reads (for the consent check's categories)
BEHAVIOUR_FIELDS = (("events", "item_id"), ("events", "event_type"), ("events", "ts"),
                    ("orders", "item_id"), ("orders", "order_time"))


@dataclass(frozen=True)
class Recommended:
    item_id: str
    title: str
    category: str
    score: float
    source: str  # co-occurrence | popularity
    explanation: str
    because_item: str | None = None
    because_action: str | None = None


@dataclass(frozen=True)
class RecommendationResult:
    user_pid: str
    requested: Mode
    mode: Mode
    rule: Rule | None
    as_of: dt.datetime
    items: list[Recommended] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {"user": self.user_pid, "requested": self.requested, "mode": self.mode,
                "forced_by": self.rule.as_dict() if self.rule else None,
                "as_of": self.as_of.isoformat(), "items": [asdict(i) for i in self.items]}


def default_as_of(svc: Services) -> dt.datetime:
    """The current snapshot's as-of time, or now when nothing was built yet."""
    snap = current(svc.engine)
    return snap.as_of if snap is not None else dt.datetime.now()


def affinity(interactions: list[Interaction], as_of: dt.datetime, half_life_days: float
             ) -> dict[str, tuple[float, str]]:
    """Item → (time-decayed affinity, the strongest kind of interaction with it)."""
    out: dict[str, tuple[float, str]] = {}
    for it in interactions:
        age = max((as_of - it.ts).total_seconds(), 0.0) / 86400.0
        w = WEIGHTS.get(it.kind, 0.0) * 0.5 ** (age / half_life_days)
        score, kind = out.get(it.item_id, (0.0, it.kind))
        if WEIGHTS.get(it.kind, 0.0) > WEIGHTS.get(kind, 0.0):
            kind = it.kind
        out[it.item_id] = (score + w, kind)
    return out


class Recommender:
    """Recommendations for one workspace; the item model is built once per instance."""

    def __init__(self, svc: Services, *, reader: UserDataReader | None = None,
                 as_of: dt.datetime | None = None, half_life_days: float = 30.0) -> None:
        self.svc = svc
        self.config = svc.manifest.applications.recommendation or RecommendationConfig()
        self.sources = BehaviourSources.from_manifest(svc.manifest)
        self.reader: UserDataReader = reader or WarehouseReader(svc.engine, self.sources)
        self.as_of = as_of or default_as_of(svc)
        self.half_life_days = half_life_days

    @property
    def purpose(self) -> str:
        return self.config.purpose

    @cached_property
    def categories(self) -> list[str]:
        m = self.svc.manifest
        cats = [d.category for s, c in BEHAVIOUR_FIELDS if (d := m.field(s, c)) is not None]
        return list(dict.fromkeys(cats))

    @cached_property
    def catalogue(self) -> Catalogue:
        return Catalogue(self.svc.engine, self.sources)

    def model_users(self) -> list[str]:
        """Users whose behaviour may feed the item model: personalization consent in force."""
        allowed = self.svc.book.decisions(self.purpose, categories=self.categories)
        return [u for u, ok in zip(allowed.column("user_pid").to_pylist(),
                                   allowed.column("allowed").to_pylist(), strict=True) if ok]

    @cached_property
    def model(self) -> ItemModel:
        return build_item_model(self.svc.engine, self.sources, self.catalogue,
                                until=self.as_of, model_users=self.model_users())

    def choose(self, user_pid: str, mode: Mode, context: Context = "feed") -> ModeChoice:
        """The guard: decided from consent, choices and age only — no behaviour is read."""
        if mode != "personalized":
            return choose_mode(mode, enabled=self.config.enabled, consent=None)
        decision = self.svc.book.allows(user_pid, self.purpose, categories=self.categories)
        minor = context == "marketing" and is_minor(self.svc.birth_date_of(user_pid),
                                                    self.as_of.date())
        return choose_mode(mode, enabled=self.config.enabled, consent=decision,
                           minor_in_marketing=minor)

    def recommend(self, user: str, n: int = 10, mode: Mode = "personalized", *,
                  context: Context = "feed", category: str | None = None
                  ) -> RecommendationResult:
        pid = self.svc.pid(user)
        choice = self.choose(pid, mode, context)
        if choice.personalized:
            items = self.personalized(self.reader.interactions(pid, self.as_of), n)
        else:
            items = self.popular(n, category=category)
        return RecommendationResult(pid, choice.requested, choice.mode, choice.rule,
                                    self.as_of, items)

    # -- the two rankings ---------------------------------------------------------------

    def personalized(self, interactions: list[Interaction], n: int) -> list[Recommended]:
        """Co-occurrence with the person's items plus their category mix × popularity.

        ``score(j) = co(j)/max co + CATEGORY_WEIGHT · share(cat j) · pop(j)/max pop`` where
        ``co(j) = Σ_i a(u,i)·sim(i,j)`` and ``share`` is the person's affinity share per
        category. The explanation names the person's item that contributed most.
        """
        aff = affinity(interactions, self.as_of, self.half_life_days)
        co: dict[str, float] = defaultdict(float)
        best: dict[str, tuple[float, str]] = {}
        for i, (a, _kind) in aff.items():
            for j, sim in self.model.neighbours.get(i, ()):
                if j not in aff:
                    co[j] += a * sim
                    if a * sim > best.get(j, (0.0, ""))[0]:
                        best[j] = (a * sim, i)
        cat_aff: dict[str, float] = defaultdict(float)
        cat_best: dict[str, tuple[float, str]] = {}
        for i, (a, _kind) in aff.items():
            cat = self.catalogue.get(i).category
            cat_aff[cat] += a
            if a > cat_best.get(cat, (0.0, ""))[0]:
                cat_best[cat] = (a, i)
        total = sum(cat_aff.values()) or 1.0
        top_co = max(co.values(), default=0.0) or 1.0
        top_pop = max((p for _, p in self.model.popular), default=0.0) or 1.0
        scores: dict[str, tuple[float, str]] = {}
        for j, c in co.items():
            scores[j] = (c / top_co, best[j][1])
        for cat, a in cat_aff.items():
            for j, p in self.model.popular_by_category.get(cat, []):
                if j in aff:
                    continue
                part = CATEGORY_WEIGHT * (a / total) * p / top_pop
                prev, src = scores.get(j, (0.0, cat_best[cat][1]))
                if j in co and co[j] / top_co >= part:
                    scores[j] = (prev + part, src)
                else:
                    scores[j] = (prev + part, cat_best[cat][1])
        ranked = sorted(scores.items(), key=lambda kv: (-kv[1][0], kv[0]))[:n]
        out: list[Recommended] = []
        for j, (score, src) in ranked:
            item = self.catalogue.get(j)
            kind = aff[src][1]
            out.append(Recommended(j, item.title, item.category, round(score, 6),
                                   "co-occurrence" if j in co else "category affinity",
                                   f"because you {VERBS.get(kind, 'viewed')} "
                                   f"{self.catalogue.get(src).title}", src, kind))
        if len(out) < n:
            taken = set(aff) | {r.item_id for r in out}
            out += [r for r in self.popular(n + len(taken)) if r.item_id not in taken
                    ][:n - len(out)]
        return out

    def popular(self, n: int, *, category: str | None = None) -> list[Recommended]:
        ranking = (self.model.popular_by_category.get(category, []) if category
                   else self.model.popular)
        where = f" in {category}" if category else ""
        out = []
        for item_id, score in ranking[:n]:
            item = self.catalogue.get(item_id)
            out.append(Recommended(item_id, item.title, item.category, round(score, 6),
                                   "popularity", f"popular{where} recently (not based on "
                                   "you)"))
        return out


def recommend(svc_or_recommender: Services | Recommender, user: str, n: int = 10,
              mode: Mode = "personalized", *, context: Context = "feed",
              category: str | None = None) -> RecommendationResult:
    """One call: a guarded recommendation list for ``user`` (own id or pseudonymous id)."""
    rec = (svc_or_recommender if isinstance(svc_or_recommender, Recommender)
           else Recommender(svc_or_recommender))
    return rec.recommend(user, n, mode, context=context, category=category)
