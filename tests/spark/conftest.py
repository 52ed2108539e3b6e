"""One Spark JVM per test session (local[2], 4 shuffle partitions, no UI).

On a developer machine without Java or pyspark the Spark tests skip with the reason;
with ``CI=true`` they fail — the pattern of ``require`` in tests/conftest.py (repeated
here because test folders are not packages, so that module cannot be imported by name).
"""

from __future__ import annotations

import importlib.util
import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}

#: settings for tiny test data: fewer, cheaper jobs (production keeps Spark's defaults)
TEST_CONF = {
    "spark.sql.adaptive.enabled": "false",
    "spark.sql.codegen.wholeStage": "false",
    "spark.sql.autoBroadcastJoinThreshold": "-1",
}


def require(condition: bool, reason: str) -> None:
    """Skip (developer machine) or fail (CI) when what Spark needs is missing."""
    if condition:
        return
    if IN_CI:
        pytest.fail(f"CI=true and {reason}", pytrace=False)
    pytest.skip(reason)


@pytest.fixture(scope="session")
def spark_session() -> Iterator[Any]:
    require(shutil.which("java") is not None, "Java is not installed (Spark needs a JVM)")
    require(importlib.util.find_spec("pyspark") is not None,
            "pyspark is not installed (pip install 'profileguard[spark]')")
    from profileguard.store.spark import base_session

    session = base_session("local[2]", shuffle_partitions=4, conf=TEST_CONF)
    session.sparkContext.setLogLevel("ERROR")
    yield session
    session.stop()


@pytest.fixture
def spark_engine(spark_session: Any, tmp_path: Path) -> Iterator[Any]:
    """A SparkEngine over a fresh warehouse folder."""
    from profileguard.store.spark import SparkEngine

    engine = SparkEngine(tmp_path / "spark-warehouse", session=spark_session)
    yield engine
    engine.close()
