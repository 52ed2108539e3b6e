"""Interests: category affinity with exponential time decay, so old signals fade.

Each event (user, ts, event_type, category, refunded) adds a weight to its user's
affinity for its category: a weight per event type (view < add_to_cart < purchase),
negative for a refunded purchase, multiplied by 0.5 ** (age / half-life) where age is
the time from the event to the build's explicit ``as_of`` (events after ``as_of`` are
ignored). A user's interests are their top categories whose affinity is above a
threshold. Because the weight halves every half-life, a single accidental purchase drops
below the threshold after a known time without new events (paper §2.1.3, dynamic
refresh); :meth:`InterestConfig.fade_days` says when.

The same computation exists twice, and tests hold them equal: :func:`interests_from_arrow`
is a pure function over an Arrow table (small data, tests, the privacy center), and
:func:`interests_sql` is the SQL the engine runs at scale, produced through sqlglot for
any dialect.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import sqlglot
from sqlglot import exp

from profileguard.errors import ProfileguardError

DEFAULT_WEIGHTS: dict[str, float] = {"view": 1.0, "add_to_cart": 3.0, "purchase": 10.0}
OUTPUT_SCHEMA = pa.schema(
    [
        ("user", pa.string()),
        ("category", pa.string()),
        ("affinity", pa.float64()),
        ("rank", pa.int64()),
    ]
)


@dataclass(frozen=True)
class InterestConfig:
    """How affinities are weighted, decayed and cut off."""

    half_life_days: float = 30.0
    weights: dict[str, float] = field(default_factory=lambda: dict(DEFAULT_WEIGHTS))
    threshold: float = 2.0
    top_k: int = 3
    purchase_type: str = "purchase"

    def __post_init__(self) -> None:
        if self.half_life_days <= 0:
            raise ProfileguardError(
                f"interest half-life must be positive days, got {self.half_life_days}"
            )
        if self.top_k < 1:
            raise ProfileguardError(f"interest top_k must be at least 1, got {self.top_k}")
        if any(w < 0 for w in self.weights.values()):
            raise ProfileguardError("interest weights must be >= 0 (refunds are made negative)")

    def fade_days(self, weight: float) -> float:
        """Days after which one event of ``weight`` alone falls to the threshold or below."""
        if weight <= self.threshold:
            return 0.0
        return self.half_life_days * math.log2(weight / self.threshold)


def _as_naive_utc(as_of: dt.datetime) -> dt.datetime:
    if as_of.tzinfo is not None:
        return as_of.astimezone(dt.UTC).replace(tzinfo=None)
    return as_of


def interests_from_arrow(
    events: pa.Table, as_of: dt.datetime, config: InterestConfig | None = None
) -> pa.Table:
    """Top categories per user: columns user, category, affinity, rank (1 = strongest)."""
    cfg = config or InterestConfig()
    for name in ("user", "ts", "event_type", "category", "refunded"):
        if name not in events.column_names:
            raise ProfileguardError(
                f"interest events lack column {name!r}; needed: user, ts, event_type, "
                "category, refunded"
            )
    ts = pc.cast(events.column("ts"), pa.timestamp("us"))
    now = np.datetime64(_as_naive_utc(as_of), "us")
    ts_np = ts.to_numpy(zero_copy_only=False).astype("datetime64[us]")
    age_days = (now - ts_np).astype(np.float64) / 86_400e6
    etype = events.column("event_type").to_pylist()
    base = np.array([cfg.weights.get(str(t), 0.0) for t in etype], dtype=np.float64)
    refunded = pc.fill_null(events.column("refunded"), False).to_numpy(zero_copy_only=False)
    is_purchase = np.array([t == cfg.purchase_type for t in etype], dtype=bool)
    sign = np.where(refunded.astype(bool) & is_purchase, -1.0, 1.0)
    weight = sign * base * np.power(0.5, age_days / cfg.half_life_days)
    keep = (age_days >= 0) & (base > 0)
    table = pa.table(
        {
            "user": pc.cast(events.column("user"), pa.string()),
            "category": pc.cast(events.column("category"), pa.string()),
            "w": pa.array(weight),
        }
    ).filter(pa.array(keep))
    grouped = table.group_by(["user", "category"]).aggregate([("w", "sum")])
    grouped = grouped.filter(pc.greater(grouped.column("w_sum"), cfg.threshold))
    ordered = grouped.sort_by(
        [("user", "ascending"), ("w_sum", "descending"), ("category", "ascending")]
    )
    users = ordered.column("user").to_pylist()
    ranks = np.zeros(len(users), dtype=np.int64)
    previous, rank = None, 0
    for i, user in enumerate(users):
        rank = rank + 1 if user == previous else 1
        ranks[i], previous = rank, user
    result = pa.table(
        {
            "user": ordered.column("user"),
            "category": ordered.column("category"),
            "affinity": ordered.column("w_sum"),
            "rank": pa.array(ranks),
        },
        schema=OUTPUT_SCHEMA,
    )
    return result.filter(pc.less_equal(result.column("rank"), cfg.top_k))


def _ident(name: str) -> str:
    return exp.to_identifier(name, quoted=True).sql("duckdb")


def interests_sql(
    source: str,
    as_of: dt.datetime,
    config: InterestConfig | None = None,
    *,
    user: str = "user",
    ts: str = "ts",
    event_type: str = "event_type",
    category: str = "category",
    refunded: str = "refunded",
    dialect: str = "duckdb",
) -> str:
    """The same computation as :func:`interests_from_arrow`, as SQL for ``dialect``."""
    cfg = config or InterestConfig()
    when = _as_naive_utc(as_of).isoformat(sep=" ", timespec="microseconds")
    now = f"CAST('{when}' AS TIMESTAMP)"
    cases = (
        " ".join(
            f"WHEN {exp.Literal.string(t).sql('duckdb')} THEN {float(w)!r}"
            for t, w in sorted(cfg.weights.items())
            if w > 0
        )
        or "WHEN FALSE THEN 0.0"
    )
    purchase = exp.Literal.string(cfg.purchase_type).sql("duckdb")
    table = exp.to_table(source, dialect="duckdb")
    for part in table.parts:
        part.set("quoted", True)
    sql = f"""
WITH weighted AS (
  SELECT CAST({_ident(user)} AS VARCHAR) AS user_id,
         CAST({_ident(category)} AS VARCHAR) AS category,
         (CASE {_ident(event_type)} {cases} ELSE 0.0 END)
         * (CASE WHEN {_ident(event_type)} = {purchase} AND COALESCE({_ident(refunded)}, FALSE)
                 THEN -1.0 ELSE 1.0 END)
         * POWER(0.5, CAST(DATE_DIFF('second', CAST({_ident(ts)} AS TIMESTAMP), {now}) AS DOUBLE)
                 / {cfg.half_life_days * 86400.0!r}) AS w
  FROM {table.sql("duckdb")}
  WHERE CAST({_ident(ts)} AS TIMESTAMP) <= {now}
),
affinity AS (
  SELECT user_id, category, SUM(w) AS affinity
  FROM weighted
  WHERE w <> 0
  GROUP BY user_id, category
),
ranked AS (
  SELECT user_id, category, affinity,
         ROW_NUMBER() OVER (PARTITION BY user_id ORDER BY affinity DESC, category) AS rnk
  FROM affinity
  WHERE affinity > {float(cfg.threshold)!r}
)
SELECT user_id AS "user", category, affinity, CAST(rnk AS BIGINT) AS "rank"
FROM ranked
WHERE rnk <= {int(cfg.top_k)}
ORDER BY user_id, rnk
"""
    return sqlglot.transpile(sql, read="duckdb", write=dialect, pretty=True)[0]
