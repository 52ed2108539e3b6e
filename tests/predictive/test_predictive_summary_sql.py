"""The RFM summary SQL: the REFERENCE.md convention, other dialects, and CDNOW end to end."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
import sqlglot

from profileguard.errors import ProfileguardError
from profileguard.model.predictive.clv import fit_customer_value
from profileguard.model.predictive.summary import rfm_summary, rfm_summary_sql
from profileguard.store.engine import DuckDBEngine

CAL, OBS = dt.date(2024, 1, 31), dt.date(2024, 3, 1)


def _engine(rows: list[tuple[str, str, float]]) -> DuckDBEngine:
    engine = DuckDBEngine()
    table = pa.table(
        {
            "cust": [r[0] for r in rows],
            "ts": pa.array([dt.datetime.fromisoformat(r[1]) for r in rows]),
            "paid": [r[2] for r in rows],
        }
    )
    engine.load_arrow("orders", table)
    return engine


ROWS = [
    # a: first day 01-01 (two orders, one period), repeats 01-11 and 01-21, holdout 02-10 x2
    ("a", "2024-01-01 09:00", 10.0),
    ("a", "2024-01-01 18:00", 5.0),
    ("a", "2024-01-11 10:00", 20.0),
    ("a", "2024-01-21 10:00", 40.0),
    ("a", "2024-02-10 10:00", 7.0),
    ("a", "2024-02-10 11:00", 3.0),
    ("b", "2024-01-31 23:59", 99.0),  # one purchase on the calibration end itself
    ("c", "2024-02-05 10:00", 50.0),  # first purchase after calibration: not a customer
    ("d", "2024-01-15 10:00", 8.0),
    ("d", "2024-03-05 10:00", 8.0),  # after observation end: ignored
]


def test_summary_follows_the_reference_convention_in_days():
    with _engine(ROWS) as engine:
        s = rfm_summary(
            engine,
            "orders",
            customer="cust",
            date="ts",
            amount="paid",
            calibration_end=CAL,
            observation_end=OBS,
        )
    assert s.customer_id.to_pylist() == ["a", "b", "d"]
    np.testing.assert_array_equal(s.frequency, [2, 0, 0])
    np.testing.assert_array_equal(s.recency, [20, 0, 0])
    np.testing.assert_array_equal(s.T, [30, 0, 16])
    np.testing.assert_array_equal(s.monetary_value, [30.0, 0.0, 0.0])
    assert s.frequency_holdout is not None
    np.testing.assert_array_equal(s.frequency_holdout, [1, 0, 0])
    assert s.monetary_value_holdout is not None and s.monetary_value_holdout[0] == 10.0
    assert s.duration_holdout == 30.0


def test_summary_in_weeks_divides_days_by_seven():
    with _engine(ROWS) as engine:
        s = rfm_summary(
            engine,
            "orders",
            customer="cust",
            date="ts",
            amount="paid",
            calibration_end=CAL,
            time_unit="week",
        )
    np.testing.assert_allclose(s.recency, [20 / 7, 0, 0])
    np.testing.assert_allclose(s.T, [30 / 7, 0, 16 / 7])
    assert s.frequency_holdout is None


def test_summary_agrees_with_an_independent_pandas_computation():
    rng = np.random.default_rng(3)
    n = 3000
    days = pd.Timestamp("2024-01-01") + pd.to_timedelta(rng.integers(0, 120, n), unit="D")
    df = pd.DataFrame(
        {"cust": rng.integers(0, 300, n).astype(str), "ts": days, "paid": rng.gamma(2.0, 20.0, n)}
    )
    engine = DuckDBEngine()
    engine.load_arrow("orders", pa.Table.from_pandas(df, preserve_index=False))
    cal = dt.date(2024, 3, 15)
    s = rfm_summary(
        engine, "orders", customer="cust", date="ts", amount="paid", calibration_end=cal
    )
    cal_df = df[df.ts <= pd.Timestamp(cal)]
    daily = cal_df.groupby(["cust", "ts"], as_index=False).paid.sum().sort_values(["cust", "ts"])
    first = daily.groupby("cust").ts.transform("min")
    daily = daily.assign(rep_paid=np.where(daily.ts > first, daily.paid, 0.0))
    expect = daily.groupby("cust").agg(
        n=("ts", "size"), lo=("ts", "min"), hi=("ts", "max"), rep_sum=("rep_paid", "sum")
    )
    expect = expect.sort_index()
    assert s.customer_id.to_pylist() == list(expect.index)
    np.testing.assert_array_equal(s.frequency, expect.n - 1)
    np.testing.assert_array_equal(s.recency, (expect.hi - expect.lo).dt.days)
    np.testing.assert_array_equal(s.T, (pd.Timestamp(cal) - expect.lo).dt.days)
    mean_rep = np.where(expect.n > 1, expect.rep_sum / np.maximum(expect.n - 1, 1), 0.0)
    np.testing.assert_allclose(s.monetary_value, mean_rep, rtol=1e-9)


def test_summary_counts_every_day_of_long_dense_histories_and_their_holdout():
    """Purchase days are counted as bits of 63-day blocks: histories that fill whole blocks,
    cross block edges and straddle the calibration end count each day once."""
    rng = np.random.default_rng(11)
    start = pd.Timestamp("2023-06-01")
    frames = []
    for cust, (first, span, every) in enumerate([(0, 250, 1), (62, 130, 1), (5, 300, 7)]):
        days = start + pd.to_timedelta(np.arange(first, first + span, every), unit="D")
        days = days.repeat(rng.integers(1, 4, len(days)))  # several orders on some days
        frames.append(pd.DataFrame({"cust": f"c{cust}", "ts": days}))
    sparse = pd.to_timedelta(rng.integers(0, 400, 2000), unit="D")
    frames.append(pd.DataFrame({"cust": rng.integers(0, 200, 2000).astype(str), "ts": start + sparse}))
    df = pd.concat(frames, ignore_index=True)
    df["paid"] = np.round(rng.gamma(2.0, 20.0, len(df)), 2)
    cal, obs = dt.date(2024, 1, 20), dt.date(2024, 5, 1)
    with DuckDBEngine() as engine:
        engine.load_arrow("orders", pa.Table.from_pandas(df, preserve_index=False))
        s = rfm_summary(
            engine, "orders", customer="cust", date="ts", amount="paid",
            calibration_end=cal, observation_end=obs,
        )
    daily = df.groupby(["cust", "ts"], as_index=False).paid.sum()
    in_cal = daily[daily.ts <= pd.Timestamp(cal)]
    first = in_cal.groupby("cust").ts.min()
    first_paid = in_cal.set_index(["cust", "ts"]).paid.loc[list(first.items())].droplevel("ts")
    agg = in_cal.groupby("cust").agg(n=("ts", "size"), hi=("ts", "max"), total=("paid", "sum"))
    hold = daily[(daily.ts > pd.Timestamp(cal)) & (daily.ts <= pd.Timestamp(obs))]
    hold = hold.groupby("cust").paid.agg(["size", "mean"]).reindex(agg.index, fill_value=0)
    assert s.customer_id.to_pylist() == list(agg.index)
    np.testing.assert_array_equal(s.frequency, agg.n - 1)
    np.testing.assert_array_equal(s.recency, (agg.hi - first).dt.days)
    np.testing.assert_array_equal(s.T, (pd.Timestamp(cal) - first).dt.days)
    repeat = np.where(agg.n > 1, (agg.total - first_paid) / np.maximum(agg.n - 1, 1), 0.0)
    np.testing.assert_allclose(s.monetary_value, repeat, rtol=1e-12)
    assert s.frequency_holdout is not None and s.monetary_value_holdout is not None
    np.testing.assert_array_equal(s.frequency_holdout, hold["size"])
    np.testing.assert_allclose(s.monetary_value_holdout, hold["mean"], rtol=1e-12)
    dense = [s.customer_id.to_pylist().index(c) for c in ("c0", "c1", "c2")]
    assert s.frequency[dense].tolist() == [233, 129, 32]  # every day / every 7th day, once


def test_summary_sql_transpiles_to_spark_with_its_date_functions():
    sql = rfm_summary_sql(
        "shop.orders",
        customer="user id",
        date="ts",
        amount="paid",
        calibration_end=CAL,
        observation_end=OBS,
        time_unit="week",
        dialect="spark",
    )
    assert "DATEDIFF" in sql and "`user id`" in sql and "`shop`.`orders`" in sql
    assert sqlglot.parse_one(sql, read="spark") is not None


def test_summary_rejects_observation_end_before_calibration_end():
    with pytest.raises(ProfileguardError, match="must be after"):
        rfm_summary_sql(
            "t", customer="c", date="d", amount="a", calibration_end=CAL, observation_end=CAL
        )


def test_cdnow_master_summary_in_sql_predicts_the_holdout(cdnow_master_path: Path):
    raw = np.loadtxt(cdnow_master_path, skiprows=1)
    table = pa.table(
        {
            "cust": raw[:, 0].astype(np.int64),
            "ymd": pa.array(raw[:, 1].astype(np.int64).astype(str)),
            "dollars": raw[:, 3],
        }
    )
    with DuckDBEngine() as engine:
        engine.load_arrow("cdnow_raw", table)
        engine.execute(
            "CREATE VIEW cdnow AS SELECT cust, strptime(ymd, '%Y%m%d') AS day, dollars "
            "FROM cdnow_raw"
        )
        s = rfm_summary(
            engine,
            "cdnow",
            customer="cust",
            date="day",
            amount="dollars",
            calibration_end=dt.date(1997, 9, 30),
            observation_end=dt.date(1998, 6, 30),
            time_unit="week",
        )
    assert len(s) == 23570  # every customer first bought in Q1 1997
    assert float(s.T.max()) == pytest.approx(272 / 7)
    model = fit_customer_value(s)
    check = model.holdout(s)
    print(
        f"CDNOW holdout: correlation={check.correlation:.4f} "
        f"predicted={check.predicted_total:.1f} actual={check.actual_total:.1f}"
    )
    assert check.correlation >= 0.6
    assert check.predicted_total == pytest.approx(check.actual_total, rel=0.2)


def _random_orders(n: int = 4000, seed: int = 5) -> DuckDBEngine:
    rng = np.random.default_rng(seed)
    engine = DuckDBEngine()
    days = np.datetime64("2024-01-01") + rng.integers(0, 120, n).astype("timedelta64[D]")
    table = pa.table(
        {
            "cust": pa.array(rng.integers(0, 400, n).astype(str)),
            "ts": pa.array(days.astype("datetime64[s]")),
            "cents": pa.array(rng.integers(1, 50_000, n)),
        }
    )
    engine.load_arrow("orders_raw", table)
    engine.execute(
        "CREATE VIEW orders AS SELECT cust, ts, CAST(cents / 100.0 AS DECIMAL(12, 2)) AS paid "
        "FROM orders_raw"
    )
    return engine


@pytest.mark.parametrize("partitions", [2, 3, 7])
def test_summary_in_customer_partitions_equals_the_summary_in_one(partitions):
    kw = dict(customer="cust", date="ts", amount="paid", calibration_end=CAL, observation_end=OBS)
    with _random_orders() as engine:
        whole = rfm_summary(engine, "orders", **kw)
        parts = rfm_summary(engine, "orders", partitions=partitions, **kw)
    assert parts.customer_id.equals(whole.customer_id)  # customer order is restored
    for name in ("frequency", "recency", "T", "monetary_value", "frequency_holdout"):
        np.testing.assert_array_equal(getattr(parts, name), getattr(whole, name), err_msg=name)
    assert parts.duration_holdout == whole.duration_holdout


def test_summary_rejects_partitions_that_do_not_exist():
    with pytest.raises(ProfileguardError, match="partition 3 of 3 does not exist"):
        rfm_summary_sql(
            "t", customer="c", date="d", amount="a", calibration_end=CAL, partition=(3, 3)
        )
    with _random_orders(10) as engine, pytest.raises(ProfileguardError, match="at least 1"):
        rfm_summary(
            engine,
            "orders",
            customer="cust",
            date="ts",
            amount="paid",
            calibration_end=CAL,
            partitions=0,
        )


def test_monetary_value_is_exact_with_decimal_amounts():
    rows = [
        ("a", "2024-01-01 09:00", 0.1),
        ("a", "2024-01-02 09:00", 0.2),
        ("a", "2024-01-03 09:00", 0.7),
        ("a", "2024-01-03 10:00", 0.1),
    ]
    with _engine(rows) as engine:
        engine.execute(
            "CREATE VIEW dec AS SELECT cust, ts, CAST(paid AS DECIMAL(10, 2)) AS paid FROM orders"
        )
        s = rfm_summary(
            engine, "dec", customer="cust", date="ts", amount="paid", calibration_end=CAL
        )
    assert s.monetary_value[0] == 0.5  # (0.2 + 0.8) / 2, summed exactly before dividing


def test_summary_sql_on_spark_counts_days_as_bits_and_partitions_by_hash():
    sql = rfm_summary_sql(
        "orders",
        customer="cust",
        date="ts",
        amount="paid",
        calibration_end=CAL,
        dialect="spark",
        partition=(1, 4),
    )
    assert "BIT_OR(" in sql and "SHIFTLEFT(" in sql and "BIT_COUNT(" in sql and "HASH(`cust`)" in sql
    assert sqlglot.parse_one(sql, read="spark") is not None


def test_summary_arrays_come_from_arrow_without_pandas_sqlglot_or_optimizer():
    """On DuckDB the summary needs none of these heavy imports (~0.5 s, ~40 MB kept)."""
    import subprocess
    import sys

    code = (
        "import sys, datetime as dt, pyarrow as pa\n"
        "from profileguard.model.predictive.summary import rfm_summary\n"
        "from profileguard.store.engine import DuckDBEngine\n"
        "e = DuckDBEngine()\n"
        "e.execute(\"CREATE TABLE o AS SELECT 'a' AS c, DATE '2024-01-01' + CAST(i AS INTEGER) AS d, "
        '1.5 AS v FROM range(3) t(i)")\n'
        "s = rfm_summary(e, 'o', customer='c', date='d', amount='v', "
        "calibration_end=dt.date(2024, 1, 31))\n"
        "assert s.frequency.tolist() == [2.0], s.frequency\n"
        "import profileguard.model.predictive.clv\n"
        "heavy = ('pandas', 'sqlglot', 'pyarrow.compute', 'scipy.optimize')\n"
        "print([m for m in heavy if m in sys.modules])\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"


def test_summary_columns_must_be_numeric_and_missing_values_become_nan():
    from profileguard.model.predictive.summary import RFMSummary

    table = pa.table({"frequency": [1.0, None], "recency": [1, 2], "T": [3, 4]})
    s = RFMSummary.from_arrow(table)
    assert s.frequency[0] == 1.0 and np.isnan(s.frequency[1])
    np.testing.assert_array_equal(s.T, [3.0, 4.0])
    bad = pa.table({"frequency": ["x"], "recency": [1], "T": [3]})
    with pytest.raises(ProfileguardError, match="'frequency' must be numeric"):
        RFMSummary.from_arrow(bad)
    with pytest.raises(ProfileguardError, match="no column 'T'"):
        RFMSummary.from_arrow(pa.table({"frequency": [1.0], "recency": [1.0]}))
