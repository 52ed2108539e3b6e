"""Population-wide item statistics: item-to-item co-occurrence and time-decayed popularity.

Both are aggregates over many people, computed in one DuckDB query each, and neither
looks at who a single person is:

* **co-occurrence** — Jaccard similarity of the sets of users who interacted with two
  items, ``|U_i ∩ U_j| / |U_i ∪ U_j|``, keeping the top ``neighbours`` per item. Only the
  behaviour of users whose personalization consent is in force feeds it (the model is
  part of the personalization purpose). Written by hand in SQL rather than taken from a
  library (implicit, LightFM): it is a self-join and a window function, it runs where the
  data already is, and it explains itself ("because you bought X").
* **popularity** — the sum of interaction weights with exponential time decay
  (half-life ``half_life_days``) over the last ``window_days``, overall and per category.
  This is what non-personalized results rank by: item and time, never personal traits.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, field

import pyarrow as pa

from profileguard.apply.behaviour import WEIGHTS, BehaviourSources, Catalogue
from profileguard.store.engine import DuckDBEngine

MAX_ITEMS_PER_USER = 200  # bounds the self-join for very active users
_USERS_TABLE = "pg_apply_model_users"


def _weight_sql(kind: str = "kind") -> str:
    cases = " ".join(f"WHEN '{k}' THEN {w}" for k, w in WEIGHTS.items())
    return f"CASE {kind} {cases} ELSE 0 END"


@dataclass
class ItemModel:
    """Neighbours per item and popularity ranks, as of ``until``."""

    until: dt.datetime
    neighbours: dict[str, list[tuple[str, float]]] = field(default_factory=dict)
    popular: list[tuple[str, float]] = field(default_factory=list)
    popular_by_category: dict[str, list[tuple[str, float]]] = field(default_factory=dict)
    users_in_model: int = 0


def build_item_model(
    engine: DuckDBEngine,
    sources: BehaviourSources,
    catalogue: Catalogue,
    *,
    until: dt.datetime,
    model_users: Iterable[str],
    neighbours: int = 50,
    half_life_days: float = 14.0,
    window_days: int = 90,
) -> ItemModel:
    """Co-occurrence over ``model_users``' interactions before ``until``; popularity over all."""
    users = pa.table({"u": pa.array(sorted(set(model_users)), pa.string())})
    engine.load_arrow(_USERS_TABLE, users, mode="replace")
    inter = sources.interactions_sql()
    try:
        pairs = engine.query_rows(f"""
            WITH x AS (
                SELECT u, item FROM ({inter}) WHERE ts < ? AND u IN (SELECT u FROM {_USERS_TABLE})
                GROUP BY u, item
                QUALIFY row_number() OVER (PARTITION BY u ORDER BY max(ts) DESC)
                        <= {MAX_ITEMS_PER_USER}),
            n AS (SELECT item, count(*) AS n FROM x GROUP BY item),
            p AS (SELECT a.item AS i, b.item AS j, count(*) AS co
                  FROM x a JOIN x b ON a.u = b.u AND a.item <> b.item GROUP BY 1, 2),
            s AS (SELECT p.i, p.j, p.co / (ni.n + nj.n - p.co) AS score
                  FROM p JOIN n ni ON ni.item = p.i JOIN n nj ON nj.item = p.j)
            SELECT i, j, score FROM s
            QUALIFY row_number() OVER (PARTITION BY i ORDER BY score DESC, j) <= {neighbours}
            ORDER BY i, score DESC, j""", [until])
    finally:
        engine.execute(f"DROP TABLE IF EXISTS {_USERS_TABLE}")
    model = ItemModel(until, users_in_model=users.num_rows)
    for i, j, score in pairs:
        model.neighbours.setdefault(str(i), []).append((str(j), float(score)))
    since = until - dt.timedelta(days=window_days)
    pop = engine.query_rows(f"""
        SELECT item, sum({_weight_sql()} * pow(0.5, date_diff('second', ts, ?::TIMESTAMP)
                                                     / 86400.0 / ?)) AS score
        FROM ({inter}) WHERE ts < ? AND ts >= ? GROUP BY item
        ORDER BY score DESC, item""", [until, half_life_days, until, since])
    model.popular = [(str(i), float(s)) for i, s in pop if str(i) in catalogue.items]
    for item, score in model.popular:
        cat = catalogue.get(item).category
        model.popular_by_category.setdefault(cat, []).append((item, score))
    return model
