"""`ntile` by cut points (DuckDB): the same buckets as the window, for every row count,
bucket count, key type and direction it is used for, and the window kept where it is not."""

from __future__ import annotations

import random
from datetime import datetime

import pytest

from profileguard.model import build, plan
from profileguard.model.plan import PlanStep, derived_plan
from profileguard.model.tagsql import ValidatedTag, validate_tag
from profileguard.store.engine import DuckDBEngine

AS_OF = datetime(2026, 11, 1)
TAGS: dict[str, list[str]] = {"freq": [], "spend": [], "recency": [], "name": [], "ratio": [], "day": []}


def derived(*specs: tuple[str, str]) -> list[ValidatedTag]:
    cat = {**TAGS, **{name: [] for name, _ in specs}}
    return [validate_tag(name, "derived", value, tags=cat) for name, value in specs]


@pytest.fixture
def engine() -> DuckDBEngine:
    e = DuckDBEngine(":memory:")
    e.execute("CREATE TABLE src (user_id VARCHAR, freq BIGINT, spend DECIMAL(18,2), "
              "recency INTEGER, name VARCHAR, ratio DOUBLE, day DATE)")
    return e


def fill(engine: DuckDBEngine, rows: int, distinct: int, seed: int, nulls: bool = True) -> None:
    rnd = random.Random(seed)
    engine.execute("DELETE FROM src")
    data = []
    for i in rnd.sample(range(10 * rows + 1), rows):
        def pick(v: object) -> object:
            return None if nulls and rnd.random() < 0.1 else v
        data.append((f"u{i:05d}", pick(rnd.randrange(distinct)),
                     pick(rnd.randrange(distinct) / 4), pick(rnd.randrange(distinct) - 2),
                     pick(f"n{rnd.randrange(distinct)}"), rnd.random(),
                     pick(datetime(2026, 1, 1 + rnd.randrange(min(distinct, 28))).date())))
    for row in data:
        engine.execute("INSERT INTO src VALUES (?, ?, ?, ?, ?, ?, ?)", list(row))


def both(engine: DuckDBEngine, step: PlanStep, required: list[str]
         ) -> tuple[list[tuple[object, ...]], list[tuple[object, ...]], str]:
    """The step's rows by the window and by cut points (`build._cut_ntiles`, as the build
    runs it over `_b_dep`), and the SQL it ran."""
    engine.execute("CREATE OR REPLACE VIEW _b_dep AS SELECT * FROM src")
    scratch = build._Scratch(engine)
    cut = build._cut_ntiles(engine, scratch, step, required)
    windows = sorted(engine.query_rows(step.sql), key=str)
    cuts = sorted(engine.query_rows(cut.sql), key=str)
    scratch.drop()
    return windows, cuts, cut.sql


SCORES = (("f_score", "ntile({n}) OVER (ORDER BY freq)"),
          ("m_score", "ntile({n}) OVER (ORDER BY spend, freq DESC)"),
          ("r_score", "ntile({n}) OVER (ORDER BY recency DESC)"),
          ("n_score", "ntile({n}) OVER (ORDER BY name, day)"),
          ("d_score", "ntile({n}) OVER (ORDER BY day, name)"))


@pytest.mark.parametrize("rows", [0, 1, 2, 4, 5, 6, 13, 40, 157])
@pytest.mark.parametrize("buckets", [1, 2, 5, 7])
def test_cut_points_give_the_windows_buckets(engine: DuckDBEngine, rows: int,
                                             buckets: int) -> None:
    specs = tuple((name, value.format(n=buckets)) for name, value in SCORES)
    tags = derived(*specs, ("seg", "CASE WHEN f_score >= 2 AND r_score >= 2 THEN 'a' ELSE 'b' END"))
    required = ["day", "freq", "name", "recency", "spend"]
    step = derived_plan(tags, "_b_dep", set(TAGS), AS_OF, required=required)
    for seed, distinct in ((1, 2), (2, 3), (3, 50)):  # many ties, some, few
        fill(engine, rows, distinct, seed)
        windows, cuts, sql = both(engine, step, required)
        assert cuts == windows, (rows, buckets, distinct)
        assert "NTILE" not in sql.upper()
    kinds = {r[0]: r[1] for r in engine.query_rows(f"DESCRIBE {step.sql}")}
    assert kinds["f_score"] == "BIGINT"


def test_the_cut_columns_have_the_windows_types(engine: DuckDBEngine) -> None:
    fill(engine, 30, 4, 9)
    step = derived_plan(derived(("f_score", "ntile(3) OVER (ORDER BY freq)")), "_b_dep",
                        set(TAGS), AS_OF, required=["freq"])
    engine.execute("CREATE OR REPLACE VIEW _b_dep AS SELECT * FROM src")
    cut = build._cut_ntiles(engine, build._Scratch(engine), step, ["freq"])
    assert engine.query_rows(f"DESCRIBE {cut.sql}") == engine.query_rows(f"DESCRIBE {step.sql}")


@pytest.mark.parametrize("value, required, why", [
    ("ntile(4) OVER (ORDER BY ratio)", ["ratio"], "DOUBLE: NaN and -0.0 order otherwise"),
    ("ntile(4) OVER (ORDER BY day DESC)", ["day"], "a DATE cannot be negated"),
    ("ntile(4) OVER (ORDER BY freq)", [], "freq may be NULL here"),
    ("ntile(4) OVER (PARTITION BY name ORDER BY freq)", ["freq", "name"], "partitioned"),
])
def test_the_window_stays_where_cut_points_would_not_be_exact(
        engine: DuckDBEngine, value: str, required: list[str], why: str) -> None:
    fill(engine, 60, 5, 4, nulls=False)
    step = derived_plan(derived(("score", value)), "_b_dep", set(TAGS), AS_OF,
                        required=required)
    windows, cuts, sql = both(engine, step, required)
    assert "NTILE" in sql.upper(), why
    assert cuts == windows


def test_a_later_layers_ntile_keeps_its_window(engine: DuckDBEngine) -> None:
    fill(engine, 50, 6, 5)
    tags = derived(("f_score", "ntile(3) OVER (ORDER BY freq)"),
                   ("ff", "ntile(2) OVER (ORDER BY f_score)"))
    step = derived_plan(tags, "_b_dep", set(TAGS), AS_OF, required=["freq"])
    windows, cuts, sql = both(engine, step, ["freq"])
    assert cuts == windows
    assert sql.upper().count("NTILE") == 1


def test_starts_deal_rows_as_ntile_does() -> None:
    cut = plan.NtileCut("_cut1", 5, (("freq", False), ("user_id", False)))
    assert cut.starts(12) == [3, 6, 8, 10]  # 3, 3, 2, 2, 2 rows
    assert cut.starts(3) == [1, 2]  # fewer rows than buckets: a row each
    assert cut.starts(0) == [] and cut.starts(1) == []


def test_spark_plans_keep_their_windows() -> None:
    step = derived_plan(derived(("f_score", "ntile(3) OVER (ORDER BY freq)")), "_b_dep",
                        set(TAGS), AS_OF, required=["freq"], dialect="spark")
    assert "NTILE(3)" in step.sql


def test_an_unordered_ntile_beside_a_cut_one_keeps_its_window(engine: DuckDBEngine) -> None:
    fill(engine, 40, 5, 6)
    tags = derived(("f_score", "ntile(3) OVER (ORDER BY freq)"), ("any3", "ntile(3) OVER ()"))
    step = derived_plan(tags, "_b_dep", set(TAGS), AS_OF, required=["freq"])
    windows, cuts, sql = both(engine, step, ["freq"])
    assert sql.upper().count("NTILE") == 1  # the unordered one: buckets by the order met
    assert step.columns == ("any3", "f_score")
    assert [(r[0], r[2]) for r in cuts] == [(r[0], r[2]) for r in windows]
