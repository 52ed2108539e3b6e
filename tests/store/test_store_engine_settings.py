"""DuckDB resource settings from the environment: a platform caps the embedded engine's
memory and threads without code (DuckDB's own default takes 80% of RAM)."""

from __future__ import annotations

import pytest

from profileguard.errors import ProfileguardError
from profileguard.store.engine import MEMORY_LIMIT_ENV, THREADS_ENV, DuckDBEngine


def _setting(engine: DuckDBEngine, name: str) -> str:
    return str(engine.query_rows(f"SELECT current_setting('{name}')")[0][0])


def test_memory_limit_and_threads_come_from_the_environment(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(MEMORY_LIMIT_ENV, "1GB")
    monkeypatch.setenv(THREADS_ENV, "1")
    engine = DuckDBEngine()
    assert _setting(engine, "memory_limit") == "953.6 MiB"
    assert _setting(engine, "threads") == "1"
    # an explicit argument wins over the environment
    assert _setting(DuckDBEngine(memory_limit="2GB", threads=2), "threads") == "2"


@pytest.mark.parametrize("raw", ["two", "0"])
def test_a_bad_thread_count_names_the_variable(monkeypatch: pytest.MonkeyPatch, raw: str) -> None:
    monkeypatch.setenv(THREADS_ENV, raw)
    with pytest.raises(ProfileguardError, match=THREADS_ENV):
        DuckDBEngine()
