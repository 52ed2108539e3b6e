"""Parity: the demo workspace built on DuckDB and on Spark local[2] holds the same tags.

One build per engine on the same workspace (same data, same consent decisions): the
DuckDB snapshot in warehouse.duckdb, the Spark one in spark-warehouse/ (and then
published into warehouse.duckdb, where it is served). Descriptive and
derived tags must be identical — every (user, tag) value in the long snapshot and every
cell of the wide table; predictive tags agree to 1e-9 relative.
"""

from __future__ import annotations

import datetime as dt
import math
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from profileguard.model import snapshot
from profileguard.model.build import BuildReport
from profileguard.pipeline.profiles import build_profiles
from profileguard.pipeline.services import open_services

pytestmark = pytest.mark.spark

AS_OF = dt.datetime(2026, 11, 1)
Cells = dict[tuple[str, str], Any]


def snapshot_cells(engine: Any) -> tuple[Cells, Cells, dict[str, str]]:
    """(long: (user, tag) → value, kind, confidence, purpose), (wide: (user, column) → value),
    tag → kind, from the engine's current snapshot."""
    snap = snapshot.current(engine)
    assert snap is not None
    long = {(u, t): (v, k, c, p) for u, t, v, k, c, p in engine.query_rows(
        f"SELECT user_id, tag, value, kind, confidence, purpose FROM {snap.long}")}
    table = engine.query_arrow(f"SELECT * FROM {snap.wide}")
    users = table.column("user_id").to_pylist()
    wide = {(u, name): _plain(v) for name in table.column_names if name != "user_id"
            for u, v in zip(users, table.column(name).to_pylist(), strict=True)}
    kinds = {t: k for (_, t), (_, k, _, _) in long.items() if k != "corrected"}
    return long, wide, kinds


def _plain(value: Any) -> Any:
    """DECIMAL(38,2) on DuckDB and DECIMAL(28,2) on Spark hold the same numbers."""
    return float(value) if isinstance(value, Decimal) else value


@pytest.fixture(scope="module")
def built(spark_session: Any, demo_template: Path, tmp_path_factory: pytest.TempPathFactory
          ) -> dict[str, Any]:
    """The demo workspace built once on each engine (module-scoped: the builds are the
    expensive part; the tests below only compare)."""
    import shutil

    root = tmp_path_factory.mktemp("parity") / "ws"
    shutil.copytree(demo_template, root)
    out: dict[str, Any] = {}
    for name in ("duckdb", "spark"):
        with open_services(root / "profileguard.yaml", engine=name) as svc:
            report: BuildReport = build_profiles(svc, AS_OF)
            out[name] = (report, *snapshot_cells(svc.build_engine))
            out[f"{name}_served"] = snapshot_cells(svc.engine)
    return out


def test_both_engines_build_the_same_users_and_coverage(built: dict[str, Any]) -> None:
    duck, spark = built["duckdb"][0], built["spark"][0]
    assert duck.users == spark.users > 0
    assert duck.coverage == spark.coverage


def test_descriptive_and_derived_tags_are_identical(built: dict[str, Any]) -> None:
    _, duck_long, duck_wide, kinds = built["duckdb"]
    _, spark_long, spark_wide, _ = built["spark"]
    exact = {t for t, k in kinds.items() if k != "prediction"}
    assert {"gender", "avg_order_value", "preferred_category", "f_score", "rfm_segment"} <= exact

    def pick(cells: Cells) -> Cells:
        return {k: v for k, v in cells.items() if k[1] in exact}

    assert pick(spark_long) == pick(duck_long)
    wide_exact = {c for (_, c) in duck_wide if c.split("__")[0] in exact}
    assert {k: v for k, v in spark_wide.items() if k[1] in wide_exact} == \
        {k: v for k, v in duck_wide.items() if k[1] in wide_exact}
    assert set(spark_wide) == set(duck_wide)  # same users, same columns, predictive included


def test_spark_snapshot_is_published_to_the_duckdb_warehouse_unchanged(
        built: dict[str, Any]) -> None:
    report, spark_long, spark_wide, _ = built["spark"]
    served_long, served_wide, _ = built["spark_served"]
    assert report.snapshot is not None and report.snapshot.id == 2  # after the DuckDB build's 1
    assert served_long == spark_long
    assert served_wide == spark_wide


def _close(a: Any, b: Any) -> bool:
    if a == b:
        return True
    try:
        return math.isclose(float(a), float(b), rel_tol=1e-9)
    except (TypeError, ValueError):
        return False


def test_predictive_tags_agree_to_1e9_relative(built: dict[str, Any]) -> None:
    _, duck_long, _, kinds = built["duckdb"]
    _, spark_long, _, _ = built["spark"]
    predictive = {t for t, k in kinds.items() if k == "prediction"}
    if not predictive:
        pytest.skip("the demo manifest declares no predictive tags")
    keys = {k for k in duck_long if k[1] in predictive}
    assert keys == {k for k in spark_long if k[1] in predictive}
    differing = [(k, duck_long[k][0], spark_long[k][0]) for k in sorted(keys)
                 if not _close(duck_long[k][0], spark_long[k][0])
                 or not _close(duck_long[k][2], spark_long[k][2])]
    assert differing == []
