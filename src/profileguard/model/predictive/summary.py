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
) -> str:
    """The SQL that turns a transaction relation into one summary row per customer.

    ``source`` is a table or view name (``schema.table`` allowed); ``date`` may be a DATE
    or TIMESTAMP column (only the day counts). The result has the columns
    ``customer_id, frequency, recency, T, monetary_value`` and, with ``observation_end``,
    ``frequency_holdout, monetary_value_holdout, duration_holdout``, ordered by customer.
    """
    if time_unit not in DAYS_PER_UNIT:
        raise ProfileguardError(
            f"time unit {time_unit!r} is not supported; allowed: {', '.join(DAYS_PER_UNIT)}"
        )
    if observation_end is not None and observation_end <= calibration_end:
        raise ProfileguardError(
            f"observation end {observation_end} must be after calibration end {calibration_end}"
        )
    unit = DAYS_PER_UNIT[time_unit]
    cal = _date_literal(calibration_end)
    last = _date_literal(observation_end if observation_end is not None else calibration_end)
    holdout_cols = ""
    if observation_end is not None:
        holdout_cols = f""",
  COUNT(CASE WHEN d.day > {cal} THEN 1 END) AS frequency_holdout,
  COALESCE(CAST(AVG(CASE WHEN d.day > {cal} THEN d.amount END) AS DOUBLE), 0.0)
    AS monetary_value_holdout,
  CAST(DATE_DIFF('day', {cal}, {last}) AS DOUBLE) / {unit} AS duration_holdout"""
    # amounts stay exact (DECIMAL sums) until the final division, so the summary - and the
    # models fitted on it - do not depend on the order an engine adds them in
    sql = f"""
WITH daily AS (
  SELECT {_ident(customer)} AS customer_id, CAST({_ident(date)} AS DATE) AS day,
         SUM({_ident(amount)}) AS amount
  FROM {_relation(source)}
  WHERE CAST({_ident(date)} AS DATE) <= {last} AND {_ident(customer)} IS NOT NULL
  GROUP BY {_ident(customer)}, CAST({_ident(date)} AS DATE)
),
firsts AS (
  SELECT customer_id, MIN(day) AS first_day, MAX(day) AS last_day, COUNT(*) AS n_days
  FROM daily
  WHERE day <= {cal}
  GROUP BY customer_id
)
SELECT
  f.customer_id AS customer_id,
  CAST(f.n_days - 1 AS DOUBLE) AS frequency,
  CAST(DATE_DIFF('day', f.first_day, f.last_day) AS DOUBLE) / {unit} AS recency,
  CAST(DATE_DIFF('day', f.first_day, {cal}) AS DOUBLE) / {unit} AS T,
  CASE WHEN f.n_days > 1
       THEN CAST(SUM(CASE WHEN d.day > f.first_day AND d.day <= {cal} THEN d.amount END)
                 AS DOUBLE) / (f.n_days - 1)
       ELSE 0.0 END AS monetary_value{holdout_cols}
FROM firsts AS f
JOIN daily AS d ON d.customer_id = f.customer_id
GROUP BY f.customer_id, f.first_day, f.last_day, f.n_days
ORDER BY f.customer_id
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
        """Wrap the result of :func:`rfm_summary_sql` (or any table with the same columns)."""

        def col(name: str) -> FloatArray:
            return np.asarray(table.column(name).to_numpy(), dtype=np.float64)

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
) -> RFMSummary:
    """Run :func:`rfm_summary_sql` on ``engine`` (in its dialect) and return the arrays."""
    sql = rfm_summary_sql(
        source,
        customer=customer,
        date=date,
        amount=amount,
        calibration_end=calibration_end,
        observation_end=observation_end,
        time_unit=time_unit,
        dialect=engine.dialect,
    )
    return RFMSummary.from_arrow(engine.query_arrow(sql), time_unit=time_unit)
