"""RFM summary (frequency, recency, T, monetary value, holdout) computed in SQL on the engine.

Customer-value models need one row per customer, not the transaction log. Building that
row is the step that does not scale in pandas-based tools, so here it is one SQL plan run
by the analytical engine. The plan is written once (DuckDB SQL) and handed through sqlglot
to the engine's dialect, so the same summary runs on Spark.

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
from dataclasses import dataclass
from typing import Literal

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc
import sqlglot
from sqlglot import exp

from profileguard.errors import ProfileguardError
from profileguard.store.engine import Engine

TimeUnit = Literal["day", "week"]
DAYS_PER_UNIT: dict[str, float] = {"day": 1.0, "week": 7.0}

FloatArray = npt.NDArray[np.float64]


def _ident(name: str) -> str:
    return exp.to_identifier(name, quoted=True).sql("duckdb")


def _relation(name: str) -> str:
    table = exp.to_table(name, dialect="duckdb")
    if not isinstance(table, exp.Table):  # pragma: no cover - to_table always returns Table
        raise ProfileguardError(f"source {name!r} is not a table name")
    for part in table.parts:
        part.set("quoted", True)
    return table.sql("duckdb")


def _date_literal(value: dt.date) -> str:
    day = value.date() if isinstance(value, dt.datetime) else value
    return f"CAST('{day.isoformat()}' AS DATE)"


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
    cal = _date_literal(calibration_end)
    last = _date_literal(observation_end if observation_end is not None else calibration_end)
    holdout_cols = ""
    if observation_end is not None:
        holdout_cols = f""",
  CAST(c.n_holdout AS DOUBLE) AS frequency_holdout,
  CASE WHEN c.n_holdout > 0 THEN CAST(c.holdout_amount AS DOUBLE) / c.n_holdout
       ELSE 0.0 END AS monetary_value_holdout,
  CAST(DATE_DIFF('day', {cal}, {last}) AS DOUBLE) / {unit} AS duration_holdout"""
    # Two aggregations and no join: purchase days per customer, then one row per customer.
    # The mean of the repeat days' totals is (calibration total - first day's total) /
    # repeat days; amounts stay exact (DECIMAL sums) until that final division, so the
    # summary - and the models fitted on it - do not depend on the order an engine adds
    # them in. A customer counts when their first purchase day is in calibration.
    sql = f"""
WITH daily AS (
  SELECT {_ident(customer)} AS customer_id, CAST({_ident(date)} AS DATE) AS day,
         SUM({_ident(amount)}) AS amount
  FROM {_relation(source)}
  WHERE CAST({_ident(date)} AS DATE) <= {last} AND {_ident(customer)} IS NOT NULL{only}
  GROUP BY {_ident(customer)}, CAST({_ident(date)} AS DATE)
),
customers AS (
  SELECT customer_id,
         MIN(day) AS first_day,
         MAX(CASE WHEN day <= {cal} THEN day END) AS last_day,
         COUNT(CASE WHEN day <= {cal} THEN 1 END) AS n_days,
         SUM(CASE WHEN day <= {cal} THEN amount END) AS cal_amount,
         ARG_MIN(amount, day) AS first_amount,
         COUNT(CASE WHEN day > {cal} THEN 1 END) AS n_holdout,
         SUM(CASE WHEN day > {cal} THEN amount END) AS holdout_amount
  FROM daily
  GROUP BY customer_id
  HAVING MIN(day) <= {cal}
)
SELECT
  c.customer_id AS customer_id,
  CAST(c.n_days - 1 AS DOUBLE) AS frequency,
  CAST(DATE_DIFF('day', c.first_day, c.last_day) AS DOUBLE) / {unit} AS recency,
  CAST(DATE_DIFF('day', c.first_day, {cal}) AS DOUBLE) / {unit} AS T,
  CASE WHEN c.n_days > 1 THEN CAST(c.cal_amount - c.first_amount AS DOUBLE) / (c.n_days - 1)
       ELSE 0.0 END AS monetary_value{holdout_cols}
FROM customers AS c
ORDER BY c.customer_id
"""
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

    Read straight from the Arrow buffer: ``to_numpy`` would import pandas (slow to import,
    and its memory stays) for what is a plain copy of doubles."""
    array = column.combine_chunks() if isinstance(column, pa.ChunkedArray) else column
    try:
        array = pc.cast(array, pa.float64())
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as exc:
        raise ProfileguardError(
            f"summary column {name!r} must be numeric, not {array.type}: {exc}"
        ) from exc
    if array.null_count:
        array = pc.fill_null(array, float("nan"))
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

    The per-day step holds one group per customer and purchase day, about as many as there
    are transactions. ``partitions=n`` bounds that memory to about 1/n: the summary runs as
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
