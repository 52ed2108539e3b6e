"""The executor side of Spark staging: an Arrow batch transformed as DuckDB's stage does.

The Spark stage applies each transform to Arrow batches of one column (an Arrow UDF),
transforming each distinct value of the batch once; the stored text must be what
DuckDB's stage stores for each value (``stage.transform_values`` over the file's distinct
values), with NULL staying NULL. No Spark needed: this is the function the UDF runs.
"""

from __future__ import annotations

import pyarrow as pa

from profileguard.collect.spark_ingest import transform_column
from profileguard.collect.stage import Transform, transform_values
from profileguard.store.keys import pseudonym

KEY = bytes(range(32))


def test_a_batch_with_repeats_and_nulls_gets_each_values_own_pseudonym() -> None:
    batch = pa.array(["U1", None, "U2", "U1", "", "U2", None], pa.string())
    for person in (True, False):  # the person's id also goes through the worker's cache
        out = transform_column(("user_id", "pseudonymize", None), KEY, person)(batch)
        assert out.to_pylist() == [None if v is None else pseudonym(KEY, v)
                                   for v in batch.to_pylist()]


def test_every_transform_of_a_batch_equals_duckdbs_per_distinct_value_mapping() -> None:
    batch = pa.array(["10.1.2.3", "10.1.2.3", None, "2001:db8::1", "13812345678"], pa.string())
    distinct = pa.array(sorted({v for v in batch.to_pylist() if v is not None}), pa.string())
    for kind in ("pseudonymize", "truncate_ip", "mask", "hash"):
        transform: Transform = ("c", kind, None)
        mapping = dict(zip(distinct.to_pylist(),
                           transform_values(transform, distinct, KEY).to_pylist(), strict=True))
        out = transform_column(transform, KEY, False)(batch).to_pylist()
        assert out == [None if v is None else mapping[v] for v in batch.to_pylist()], kind
        assert out[0] == out[1] and out[2] is None
