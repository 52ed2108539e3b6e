"""DuckDB SQL → Spark SQL: parsing, ``?`` parameters and the semantic gaps sqlglot leaves.

The build writes DuckDB SQL; the Spark engine parses each statement with sqlglot
(``read="duckdb"``), substitutes ``?`` parameters as typed literals in the tree (never by
string pasting, so quotes and backslashes in values cannot change the statement), and
renders it for Spark. sqlglot maps syntax and function names; two DuckDB semantics it
does not carry over are rewritten here on the tree:

* ``date_diff(part, a, b)`` in DuckDB counts part *boundaries* crossed (from 23:00 to
  01:00 next day is 1 day); Spark's ``DATEDIFF(part, a, b)`` counts *complete* parts
  (0). Both operands are truncated to the part first, which makes the two agree.
  (sqlglot keeps this as ``date_part_boundary`` but its Spark generator ignores it.)
* ``CAST(x AS INTEGER)`` of a fractional number rounds in DuckDB (half to even) and
  truncates in Spark. Casts to an integer type of an expression that can be fractional
  (a division, an average, a fractional literal) become ``CAST(BROUND(x, 0) AS ...)``.

Known remaining differences (documented in docs/deploy.md): division by zero is an
error under Spark's ANSI mode (DuckDB returns ±inf/NULL), and doubles cast to text may be
spelled differently for very large or small magnitudes (``1e+20`` vs ``1.0E20``).
"""

from __future__ import annotations

import datetime as dt
import decimal
from collections.abc import Sequence
from typing import Any

import sqlglot
from sqlglot import exp

from profileguard.errors import ProfileguardError

_INTEGER_TYPES = {exp.DataType.Type.TINYINT, exp.DataType.Type.SMALLINT,
                  exp.DataType.Type.INT, exp.DataType.Type.BIGINT}
_FRACTIONAL_AGGREGATES = (exp.Avg, exp.Stddev, exp.StddevPop, exp.StddevSamp, exp.Variance,
                          exp.VariancePop, exp.Quantile, exp.Median)


def parse(sql: str, params: Sequence[Any] | None = None) -> list[exp.Expr]:
    """DuckDB statements of ``sql`` with ``?`` placeholders replaced by ``params``."""
    try:
        statements = [s for s in sqlglot.parse(sql, read="duckdb") if s is not None]
    except sqlglot.errors.ParseError as err:
        raise ProfileguardError(f"Spark engine: cannot parse DuckDB SQL ({err}): {sql[:200]}"
                                ) from None
    values = list(params or [])
    slots = [p for s in statements for p in s.find_all(exp.Placeholder)]
    if len(slots) != len(values):
        raise ProfileguardError(f"Spark engine: {len(slots)} '?' placeholders but "
                                f"{len(values)} parameters in: {sql[:200]}")
    for slot, value in zip(slots, values, strict=True):
        slot.replace(literal(value))
    return statements


def literal(value: Any) -> exp.Expr:
    """A Python value as a SQL literal tree (typed for dates and timestamps)."""
    if value is None:
        return exp.null()
    if isinstance(value, bool):
        return exp.Boolean(this=value)
    if isinstance(value, int | float | decimal.Decimal):
        return exp.Literal.number(str(value))
    if isinstance(value, dt.datetime):
        if value.tzinfo is not None:
            value = value.astimezone(dt.UTC).replace(tzinfo=None)
        return exp.cast(exp.Literal.string(value.isoformat(sep=" ")), exp.DataType.Type.TIMESTAMP)
    if isinstance(value, dt.date):
        return exp.cast(exp.Literal.string(value.isoformat()), exp.DataType.Type.DATE)
    if isinstance(value, str):
        return exp.Literal.string(value)
    raise ProfileguardError(f"Spark engine: parameter of type {type(value).__name__} is not "
                            "supported (allowed: None, bool, int, float, Decimal, str, date, "
                            "datetime)")


def to_spark(tree: exp.Expr) -> str:
    """Render a DuckDB tree as Spark SQL, with the semantic rewrites above."""
    fixed = tree.copy()
    for node in reversed(list(fixed.walk())):  # descendants before their parents
        new = _rewrite(node)
        if new is not node:
            if node is fixed:
                fixed = new
            else:
                node.replace(new)
    return fixed.sql(dialect="spark")


def _rewrite(node: exp.Expr) -> exp.Expr:
    if isinstance(node, exp.DateDiff) and node.args.get("date_part_boundary"):
        unit = node.args.get("unit")
        if unit is not None:
            part = unit.name.upper()
            trunc_this = exp.TimestampTrunc(this=node.this.copy(), unit=exp.var(part))
            trunc_expr = exp.TimestampTrunc(this=node.expression.copy(), unit=exp.var(part))
            return exp.DateDiff(this=trunc_this, expression=trunc_expr, unit=exp.var(part))
    if isinstance(node, exp.Cast) and not isinstance(node, exp.TryCast) \
            and node.to.this in _INTEGER_TYPES and _may_be_fractional(node.this):
        rounded = exp.func("BROUND", node.this.copy(), exp.Literal.number(0))
        return exp.Cast(this=rounded, to=node.to.copy())
    return node


def _may_be_fractional(node: exp.Expr) -> bool:
    """True when ``node`` can evaluate to a non-integer number (not looking inside casts)."""
    if isinstance(node, (exp.Div, *_FRACTIONAL_AGGREGATES)):
        return True
    if isinstance(node, exp.Literal) and not node.is_string:
        return "." in node.this or "e" in node.this.lower()
    if isinstance(node, exp.Cast | exp.Subquery):
        return False
    if isinstance(node, exp.Paren | exp.Neg | exp.Add | exp.Sub | exp.Mul | exp.Round):
        return any(_may_be_fractional(c) for c in node.iter_expressions())
    return False


def table_name(node: exp.Expr) -> str:
    """The bare table name of a ``Table`` (or a ``Schema`` wrapping one)."""
    table = node.this if isinstance(node, exp.Schema) else node
    if not isinstance(table, exp.Table):
        raise ProfileguardError(f"Spark engine: expected a table name, got {node.sql()}")
    return table.name


def referenced_tables(tree: exp.Expr) -> set[str]:
    """Names of the tables a statement reads (CTE names excluded), lower-cased."""
    ctes = {c.alias_or_name.lower() for c in tree.find_all(exp.CTE)}
    return {t.name.lower() for t in tree.find_all(exp.Table)
            if t.name and t.name.lower() not in ctes}
