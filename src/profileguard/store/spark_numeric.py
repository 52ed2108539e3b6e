"""DuckDB's numeric semantics spelled in Spark SQL: division, averages, rounding, int casts.

Transpiling by name is not enough for numbers; tag values must be identical on both
engines, so these DuckDB rules are rewritten into the Spark tree (each on one node,
applied bottom-up by ``spark_sql.to_spark``):

* ``a / b`` is DOUBLE division in DuckDB whatever the operand types; Spark divides
  decimals as decimals. → ``CAST(a AS DOUBLE) / b``.
* ``avg(x)`` of a DECIMAL is DOUBLE in a grouped DuckDB query: the exact sum over the
  count, rounded once to the nearest double (114.185, where summing in double first
  gives 114.18499999999999); Spark's decimal average keeps 6 places. →
  ``CAST(sum(x) / NULLIF(count(x), 0) AS DOUBLE)``, the division exact in decimals to
  at least 6 places (a ``FILTER`` moves onto both parts; an ``avg`` used as a window
  function is left alone).
* ``round(x, n)`` of a DOUBLE rounds the exact binary value half away from zero in
  DuckDB (``round(2.675, 2)`` is 2.67 because the double is 2.67499999…); Spark rounds
  its shortest decimal spelling (2.68). The exact rule is rebuilt from ``+ - *`` with
  Dekker's error-free product (the rounding error of ``x * 10^n`` is recovered exactly by
  splitting ``x`` into two 26-bit halves), so only a true tie goes away from zero.
  Applied when ``x`` is recognisably DOUBLE: a division, an average, a cast to DOUBLE,
  or a column the engine's catalog types DOUBLE in every table the statement reads
  (columns computed in a subquery are not typed, and keep Spark's rule).
* ``CAST(x AS INTEGER)`` of a fractional number rounds (half to even) in DuckDB and
  truncates in Spark. → ``CAST(BROUND(x, 0) AS INTEGER)``.

Hand-written because no library maps SQL semantics between engines; sqlglot maps syntax.
"""

from __future__ import annotations

from collections.abc import Collection

import sqlglot
from sqlglot import exp

_INTEGER_TYPES = {exp.DataType.Type.TINYINT, exp.DataType.Type.SMALLINT,
                  exp.DataType.Type.INT, exp.DataType.Type.BIGINT}
_FLOAT_TYPES = {exp.DataType.Type.DOUBLE, exp.DataType.Type.FLOAT}
_DOUBLE_AGGREGATES = (exp.Avg, exp.Stddev, exp.StddevPop, exp.StddevSamp, exp.Variance,
                      exp.VariancePop, exp.Quantile, exp.Median)
_PASS_THROUGH = (exp.Paren, exp.Neg, exp.Add, exp.Sub, exp.Mul, exp.Abs, exp.Greatest,
                 exp.Least, exp.Coalesce, exp.Nullif, exp.Case, exp.If)
#: largest n for which 10^n fits in 26 bits, so x_hi * 10^n is exact
_MAX_EXACT_DIGITS = 11
_SPLIT = "134217729.0"  # 2^27 + 1, Veltkamp's splitter for doubles

_ROUND_TEMPLATE = """CASE
  WHEN NOT (ABS(({x}) * {p}) < 4503599627370496.0) THEN ({x})
  WHEN ({y}) - FLOOR({y}) < 0.5 THEN CAST(FLOOR({y}) AS DOUBLE) / {p}
  WHEN ({y}) - FLOOR({y}) > 0.5 THEN CAST(FLOOR({y}) + 1 AS DOUBLE) / {p}
  WHEN ({lo}) < 0 THEN CAST(FLOOR({y}) AS DOUBLE) / {p}
  WHEN ({lo}) > 0 OR ({y}) >= 0 THEN CAST(FLOOR({y}) + 1 AS DOUBLE) / {p}
  ELSE CAST(FLOOR({y}) AS DOUBLE) / {p} END"""


def rewrite_numeric(node: exp.Expr, doubles: Collection[str] = ()) -> exp.Expr:
    """One node rewritten to DuckDB's numeric semantics (or returned unchanged);
    ``doubles`` names columns known to be DOUBLE."""
    if isinstance(node, exp.Div):
        return exp.Div(this=exp.cast(node.this.copy(), exp.DataType.Type.DOUBLE),
                       expression=node.expression.copy())
    if isinstance(node, exp.Filter) and isinstance(node.this, exp.Avg):
        return _average(node.this, node.expression)
    if isinstance(node, exp.Avg) and not isinstance(node.parent, exp.Filter | exp.Window):
        return _average(node, None)
    if isinstance(node, exp.Round) and is_double(node.this, doubles):
        return _exact_round(node)
    if isinstance(node, exp.Cast) and not isinstance(node, exp.TryCast) \
            and node.to.this in _INTEGER_TYPES and may_be_fractional(node.this, doubles):
        rounded = exp.func("BROUND", node.this.copy(), exp.Literal.number(0))
        return exp.Cast(this=rounded, to=node.to.copy())
    return node


def _average(avg: exp.Avg, where: exp.Expr | None) -> exp.Expr:
    def part(agg: exp.Expr) -> exp.Expr:
        return agg if where is None else exp.Filter(this=agg, expression=where.copy())

    count = exp.Nullif(this=part(exp.Count(this=avg.this.copy())),
                       expression=exp.Literal.number(0))
    mean = exp.Div(this=part(exp.Sum(this=avg.this.copy())), expression=count)
    return exp.cast(mean, exp.DataType.Type.DOUBLE)


def _exact_round(node: exp.Round) -> exp.Expr:
    digits = node.args.get("decimals")
    n = int(digits.this) if isinstance(digits, exp.Literal) and not digits.is_string else (
        0 if digits is None else -1)
    if not 0 <= n <= _MAX_EXACT_DIGITS:
        return node
    x = node.this.sql(dialect="spark")
    p = f"{10 ** n}.0"
    y = f"(({x}) * {p})"
    c = f"({_SPLIT} * ({x}))"
    hi = f"({c} - ({c} - ({x})))"
    lo = f"((({hi}) * {p} - {y}) + (({x}) - {hi}) * {p})"
    sql = _ROUND_TEMPLATE.format(x=x, p=p, y=y, lo=lo)
    return exp.Paren(this=sqlglot.parse_one(sql, read="spark"))


def is_double(node: exp.Expr, doubles: Collection[str] = ()) -> bool:
    """True when DuckDB types ``node`` as DOUBLE, judged from the expression and the
    names of DOUBLE columns."""
    if isinstance(node, (exp.Div, *_DOUBLE_AGGREGATES)):
        return True
    if isinstance(node, exp.Column):
        return node.name.lower() in doubles
    if isinstance(node, exp.Filter | exp.Window):
        return is_double(node.this, doubles)
    if isinstance(node, exp.Cast):
        return node.to.this in _FLOAT_TYPES
    if isinstance(node, exp.Literal) and not node.is_string:
        return "e" in node.this.lower()
    if isinstance(node, _PASS_THROUGH):
        return any(is_double(c, doubles) for c in node.iter_expressions())
    return False


def may_be_fractional(node: exp.Expr, doubles: Collection[str] = ()) -> bool:
    """True when ``node`` can be a non-integer number (not looking inside casts)."""
    if is_double(node, doubles):
        return True
    if isinstance(node, exp.Literal) and not node.is_string:
        return "." in node.this
    if isinstance(node, exp.Cast | exp.Subquery):
        return False
    if isinstance(node, (*_PASS_THROUGH, exp.Round)):
        return any(may_be_fractional(c, doubles) for c in node.iter_expressions())
    return False
