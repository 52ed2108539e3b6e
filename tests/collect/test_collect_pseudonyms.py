"""Keyed pseudonyms: the batch path equals the one-value path, stable per key."""

from __future__ import annotations

import pyarrow as pa
from hypothesis import given, settings
from hypothesis import strategies as st

from profileguard.store.keys import is_pseudonym, pseudonym, pseudonymize_array

KEY = bytes(range(32))


@settings(max_examples=100, deadline=None)
@given(st.lists(st.one_of(st.none(), st.text(max_size=40)), max_size=50))
def test_batch_pseudonyms_equal_single_ones(values: list[str | None]) -> None:
    out = pseudonymize_array(KEY, pa.array(values, pa.string())).to_pylist()
    assert out == [None if v is None else pseudonym(KEY, v) for v in values]
    assert all(p is None or is_pseudonym(p) for p in out)


def test_pseudonyms_differ_across_keys_and_use_the_cache() -> None:
    cache: dict[str, str] = {}
    a = pseudonymize_array(KEY, pa.array(["U1", "U2", "U1"]), cache).to_pylist()
    b = pseudonymize_array(bytes(32), pa.array(["U1"])).to_pylist()
    assert a[0] == a[2] != a[1] and a[0] != b[0]
    assert cache == {"U1": a[0], "U2": a[1]}
