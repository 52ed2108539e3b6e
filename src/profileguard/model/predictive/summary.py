"""RFM summary (frequency, recency, T, monetary value, holdout) computed in SQL on the engine.

Customer-value models need one row per customer, not the transaction log. Building that
row is the step that does not scale in pandas-based tools, so here it is one SQL plan run
by the analytical engine. The plan is written once (DuckDB SQL) and handed through sqlglot
to the engine's dialect when it is not DuckDB, so the same summary runs on Spark.

Convention (REFERENCE.md, Fader, Hardie & Lee 2005), per customer with a purchase on or
before the calibration end:

- purchases on the same day are one purchase period whose value is the day's total;
- ``frequency`` = number of distinct purchase days in calibration minus one;
- ``recency`` = time from the first to the last purchase day in calibration;
- ``T`` = time from the first purchase day to the calibration end;
- ``monetary_value`` = mean of the repeat purchase days' totals (first day excluded; 0
  when there is no repeat purchase);
- with an observation end: ``frequency_holdout`` = distinct purchase days in
  (calibration end, observation end], ``monetary_value_holdout`` their mean total, and
  ``duration_holdout`` = observation end minus calibration end.

Times are in days, or in weeks (days / 7) with ``time_unit="week"``.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from typing import Literal

import numpy as np
import numpy.typing as npt
import pyarrow as pa

from profileguard.errors import ProfileguardError
from profileguard.store.engine import Engine

TimeUnit = Literal["day", "week"]
DAYS_PER_UNIT: dict[str, float] = {"day": 1.0, "week": 7.0}

FloatArray = npt.NDArray[np.float64]

#: days per block of :func:`rfm_summary_sql`: one bit per day in a BIGINT, sign bit unused
BLOCK_DAYS = 63

#: a table name that needs no parsing: dotted plain identifiers (``schema.table``)
_PLAIN_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_$]*(\.[A-Za-z_][A-Za-z0-9_$]*)*")

# sqlglot and pyarrow.compute are imported where they are needed, not with the module: on
# DuckDB the plan is already in its dialect and the result already float64, and the two
# imports cost ~0.3 s and ~27 MB, paid by every customer-value run (benchmarks/clv.py).


def _ident(name: str) -> str:
    """A quoted DuckDB identifier (quotes inside are doubled)."""
    return '"' + name.replace('"', '""') + '"'


def _relation(name: str) -> str:
    if _PLAIN_NAME.fullmatch(name):
        return ".".join(_ident(part) for part in name.split("."))
    from sqlglot import exp

    table = exp.to_table(name, dialect="duckdb")
    if not isinstance(table, exp.Table):  # pragma: no cover - to_table always returns Table
        raise ProfileguardError(f"source {name!r} is not a table name")
    for part in table.parts:
        part.set("quoted", True)
    return table.sql("duckdb")


def _as_day(value: dt.date) -> dt.date:
    """Only the day of a datetime counts."""
    return value.date() if isinstance(value, dt.datetime) else value


def _date_literal(value: dt.date) -> str:
    return f"CAST('{_as_day(value).isoformat()}' AS DATE)"


def rfm_summary_sql(
    source: str,
    *,
    customer: str,
    date: str,
    amount: str,
    calibration_end: dt.date,
    observation_end: dt.date | None = None,
    time_unit: TimeUnit = "day",
    dialect: str = "duckdb",
    partition: tuple[int, int] | None = None,
) -> str:
    """The SQL that turns a transaction relation into one summary row per customer.

    ``source`` is a table or view name (``schema.table`` allowed); ``date`` may be a DATE
    or TIMESTAMP column (only the day counts). The result has the columns
    ``customer_id, frequency, recency, T, monetary_value`` and, with ``observation_end``,
    ``frequency_holdout, monetary_value_holdout, duration_holdout``, ordered by customer.
    ``partition=(i, n)`` keeps only the customers whose hash is i modulo n: the n partitions
    together are the whole summary.
    """
    if time_unit not in DAYS_PER_UNIT:
        raise ProfileguardError(
            f"time unit {time_unit!r} is not supported; allowed: {', '.join(DAYS_PER_UNIT)}"
        )
    if observation_end is not None and observation_end <= calibration_end:
        raise ProfileguardError(
            f"observation end {observation_end} must be after calibration end {calibration_end}"
        )
    only = ""
    if partition is not None:
        index, count = partition
        if not 0 <= index < count:
            raise ProfileguardError(
                f"partition {index} of {count} does not exist; allowed: 0 to {count - 1}"
            )
        # the hash may be signed (Spark): ((h % n) + n) % n is in [0, n) either way
        only = f" AND ((HASH({_ident(customer)}) % {count}) + {count}) % {count} = {index}"
    unit = DAYS_PER_UNIT[time_unit]
    last = _date_literal(observation_end if observation_end is not None else calibration_end)
    # every day is counted back from the last day kept, so calibration is back >= gap
    gap = 0 if observation_end is None else (_as_day(observation_end) - _as_day(calibration_end)).days
    day = f"CAST({_ident(date)} AS DATE)"
    rows = f"""(
  SELECT {_ident(customer)} AS customer_id, DATE_DIFF('day', {day}, {last}) AS back,
         {_ident(amount)} AS amount
  FROM {_relation(source)}
  WHERE {day} <= {last} AND {_ident(customer)} IS NOT NULL{only}
)"""

    def days_in(period: str) -> str:
        """The purchase days of a block in ``period`` as the bits of one BIGINT."""
        bit = f"CAST(1 AS BIGINT) << (back % {BLOCK_DAYS})"
        return f"BIT_OR(CASE WHEN {period} THEN {bit} END)"

    holdout_days = holdout_count = holdout_key = holdout_sums = holdout_cols = ""
    if observation_end is not None:
        holdout_days = f",\n         {days_in(f'back < {gap}')} AS holdout_days"
        holdout_count = ",\n         SUM(BIT_COUNT(holdout_days)) AS n_holdout"
        holdout_key = ", c.n_holdout"
        holdout_sums = f""",
         SUM(CASE WHEN t.back < {gap} THEN t.amount END) AS holdout_amount"""
        holdout_cols = f""",
  CAST(COALESCE(n_holdout, 0) AS DOUBLE) AS frequency_holdout,
  CASE WHEN n_holdout > 0 THEN CAST(holdout_amount AS DOUBLE) / n_holdout
       ELSE 0.0 END AS monetary_value_holdout,
  CAST({gap} AS DOUBLE) / {unit} AS duration_holdout"""
    # Distinct purchase days without one group per customer and day (about one per
    # transaction, the memory of the whole summary): the days of a customer are grouped in
    # blocks of BLOCK_DAYS, each block's days are the bits of one BIGINT (BIT_OR), and a
    # customer's purchase days are the sum of their blocks' BIT_COUNTs. The first day's total
    # (the mean of the repeat days leaves it out) then needs the first day of each customer:
    # a second pass joins the transactions to the customers on the customer alone and sums
    # the amounts. They stay exact (DECIMAL sums) until the final division, so the summary -
    # and the models fitted on it - do not depend on the order an engine adds them in. A
    # customer counts when their first purchase day is in calibration.
    sql = f"""
WITH blocks AS (
  SELECT customer_id,
         MAX(back) AS first_back,
         {days_in(f'back >= {gap}')} AS days{holdout_days}
  FROM {rows} AS t
  GROUP BY customer_id, back // {BLOCK_DAYS}
),
customers AS (
  SELECT customer_id,
         MAX(first_back) AS first_back,
         SUM(BIT_COUNT(days)) AS n_days{holdout_count}
  FROM blocks
  GROUP BY customer_id
  HAVING MAX(first_back) >= {gap}
),
totals AS (
  SELECT c.customer_id AS customer_id,
         c.first_back AS first_back,
         c.n_days AS n_days{holdout_key},
         MIN(CASE WHEN t.back >= {gap} THEN t.back END) AS last_back,
         SUM(CASE WHEN t.back >= {gap} THEN t.amount END) AS cal_amount,
         SUM(CASE WHEN t.back = c.first_back THEN t.amount END) AS first_amount{holdout_sums}
  FROM {rows} AS t
  JOIN customers AS c ON t.customer_id = c.customer_id
  GROUP BY c.customer_id, c.first_back, c.n_days{holdout_key}
)
SELECT
  customer_id,
  CAST(n_days - 1 AS DOUBLE) AS frequency,
  CAST(first_back - last_back AS DOUBLE) / {unit} AS recency,
  CAST(first_back - {gap} AS DOUBLE) / {unit} AS T,
  CASE WHEN n_days > 1 THEN CAST(cal_amount - first_amount AS DOUBLE) / (n_days - 1)
       ELSE 0.0 END AS monetary_value{holdout_cols}
FROM totals
ORDER BY customer_id
"""
    if dialect == "duckdb":
        return sql
    import sqlglot

    return sqlglot.transpile(sql, read="duckdb", write=dialect, pretty=True)[0]


@dataclass(frozen=True)
class RFMSummary:
    """One row per customer, as numpy arrays (times in ``time_unit``)."""

    customer_id: pa.Array
    frequency: FloatArray
    recency: FloatArray
    T: FloatArray
    monetary_value: FloatArray
    time_unit: TimeUnit = "day"
    frequency_holdout: FloatArray | None = None
    monetary_value_holdout: FloatArray | None = None
    duration_holdout: float | None = None

    def __len__(self) -> int:
        return len(self.frequency)

    @classmethod
    def from_arrow(cls, table: pa.Table, time_unit: TimeUnit = "day") -> RFMSummary:
        """Wrap the result of :func:`rfm_summary_sql` (or any table with the same columns).

        Numeric columns become float64 numpy arrays (missing values become NaN, which the
        model fits reject with the row); the conversion goes through Arrow buffers, so
        pandas is neither imported nor copied through."""

        def col(name: str) -> FloatArray:
            if name not in table.column_names:
                raise ProfileguardError(
                    f"summary has no column {name!r}; it has: {', '.join(table.column_names)}"
                )
            return float64_array(table.column(name), name)

        has_holdout = "frequency_holdout" in table.column_names
        duration = None
        if has_holdout and table.num_rows:
            duration = float(col("duration_holdout")[0])
        if "customer_id" in table.column_names:
            ids = table.column("customer_id").combine_chunks()
        else:
            ids = pa.array(np.arange(table.num_rows))
        return cls(
            customer_id=ids,
            frequency=col("frequency"),
            recency=col("recency"),
            T=col("T"),
            monetary_value=(
                col("monetary_value")
                if "monetary_value" in table.column_names
                else np.zeros(table.num_rows)
            ),
            time_unit=time_unit,
            frequency_holdout=col("frequency_holdout") if has_holdout else None,
            monetary_value_holdout=col("monetary_value_holdout") if has_holdout else None,
            duration_holdout=duration,
        )


def float64_array(column: pa.ChunkedArray | pa.Array, name: str = "column") -> FloatArray:
    """A numeric Arrow column as one float64 numpy array, nulls as NaN.

    Read straight from the Arrow buffers: ``to_numpy`` would import pandas (slow to import,
    and its memory stays) for what is a plain copy of doubles. Doubles without nulls (what
    the summary SQL returns) are read as they are, chunk by chunk; anything else is cast
    first."""
    chunks = column.chunks if isinstance(column, pa.ChunkedArray) else [column]
    if all(chunk.type == pa.float64() and chunk.null_count == 0 for chunk in chunks):
        values = [_doubles(chunk) for chunk in chunks]
        if len(values) == 1:
            return values[0]
        return np.concatenate(values) if values else np.zeros(0)
    import pyarrow.compute as pc

    array = column.combine_chunks() if isinstance(column, pa.ChunkedArray) else column
    try:
        array = pc.cast(array, pa.float64())
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as exc:
        raise ProfileguardError(
            f"summary column {name!r} must be numeric, not {array.type}: {exc}"
        ) from exc
    if array.null_count:
        array = pc.fill_null(array, float("nan"))
    return _doubles(array)


def _doubles(array: pa.Array) -> FloatArray:
    """The values of a float64 Arrow array without nulls, as a numpy view of its buffer."""
    if len(array) == 0:
        return np.zeros(0)
    values: FloatArray = np.frombuffer(
        array.buffers()[1], dtype=np.float64, count=len(array), offset=array.offset * 8
    )
    return values


def rfm_summary(
    engine: Engine,
    source: str,
    *,
    customer: str,
    date: str,
    amount: str,
    calibration_end: dt.date,
    observation_end: dt.date | None = None,
    time_unit: TimeUnit = "day",
    partitions: int = 1,
) -> RFMSummary:
    """Run :func:`rfm_summary_sql` on ``engine`` (in its dialect) and return the arrays.

    The plan holds a group per customer and block of purchase days, and one per customer.
    ``partitions=n`` bounds that memory to about 1/n: the summary runs as
    n queries over disjoint sets of customers (each reads the source again), and the parts
    are put back in customer order. The result is the same for every n (with DOUBLE
    amounts, sums added in another order may differ in the last bit).
    """
    if partitions < 1:
        raise ProfileguardError(f"partitions must be at least 1, got {partitions}")
    parts = [
        engine.query_arrow(
            rfm_summary_sql(
                source,
                customer=customer,
                date=date,
                amount=amount,
                calibration_end=calibration_end,
                observation_end=observation_end,
                time_unit=time_unit,
                dialect=engine.dialect,
                partition=None if partitions == 1 else (index, partitions),
            )
        )
        for index in range(partitions)
    ]
    table = parts[0] if partitions == 1 else pa.concat_tables(parts).sort_by("customer_id")
    del parts
    return RFMSummary.from_arrow(table, time_unit=time_unit)
