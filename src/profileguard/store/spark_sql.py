"""DuckDB SQL → Spark SQL: parsing, ``?`` parameters and the semantic gaps sqlglot leaves.

The build writes DuckDB SQL; the Spark engine parses each statement with sqlglot
(``read="duckdb"``), substitutes ``?`` parameters as typed literals in the tree (never by
string pasting, so quotes and backslashes in values cannot change the statement), and
renders it for Spark. sqlglot maps syntax and function names; the DuckDB semantics it
does not carry over are rewritten on the tree, bottom-up:

* ``date_diff(part, a, b)`` in DuckDB counts part *boundaries* crossed (from 23:00 to
  01:00 next day is 1 day); Spark's ``DATEDIFF(part, a, b)`` counts *complete* parts
  (0). Both operands are truncated to the part first, which makes the two agree.
  (sqlglot keeps this as ``date_part_boundary`` but its Spark generator ignores it.)
* ``mode(x ORDER BY x)`` — the plans' deterministic mode, ties to the smallest value
  (see ``model.plan``) — becomes Spark's ``mode(x, true)``, which breaks ties the same way.
* numbers: division, averages, rounding and integer casts (``spark_numeric``).
* the collection gate's time parsing: ``to_timestamp(epoch)`` (sqlglot's ``FROM_UNIXTIME``
  drops the fraction of a second) becomes ``TIMESTAMP_SECONDS``; ``TRY_STRPTIME(text,
  '%Y-%m-%d ...')``, which Spark lacks, becomes ``TRY_TO_TIMESTAMP`` with the Java
  pattern whose fields accept one or two digits as strptime's do (``_java_pattern``).

Known remaining differences (docs/deploy.md): division by zero is an error under Spark's
ANSI mode (DuckDB returns ±inf or NULL), and doubles cast to text may be spelled
differently for very large or small magnitudes (``1e+20`` vs ``1.0E20``).
"""

from __future__ import annotations

import datetime as dt
import decimal
from collections.abc import Collection, Sequence
from typing import Any

import sqlglot
from sqlglot import exp

from profileguard.errors import ProfileguardError
from profileguard.store.spark_numeric import rewrite_numeric


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


def to_spark(tree: exp.Expr, doubles: Collection[str] = ()) -> str:
    """Render a DuckDB tree as Spark SQL, with the semantic rewrites above; ``doubles``
    names (lower-case) the columns of the tables read that are DOUBLE."""
    fixed = tree.copy()
    for node in reversed(list(fixed.walk())):  # descendants before their parents
        new = _rewrite(node, doubles)
        if new is not node:
            if node is fixed:
                fixed = new
            else:
                node.replace(new)
    return fixed.sql(dialect="spark")


def _rewrite(node: exp.Expr, doubles: Collection[str]) -> exp.Expr:
    if isinstance(node, exp.DateDiff) and node.args.get("date_part_boundary"):
        unit = node.args.get("unit")
        if unit is not None:
            part = unit.name.upper()
            trunc_this = exp.TimestampTrunc(this=node.this.copy(), unit=exp.var(part))
            trunc_expr = exp.TimestampTrunc(this=node.expression.copy(), unit=exp.var(part))
            return exp.DateDiff(this=trunc_this, expression=trunc_expr, unit=exp.var(part))
    if isinstance(node, exp.Mode) and isinstance(node.this, exp.Order):
        order = node.this
        keys = order.expressions
        if len(keys) == 1 and keys[0].this == order.this and not keys[0].args.get("desc"):
            return exp.Anonymous(this="MODE", expressions=[order.this.copy(), exp.true()])
    timed = _rewrite_time(node)
    return timed if timed is not node else rewrite_numeric(node, doubles)


#: strptime directives → the Java pattern letters that parse the same text leniently
_JAVA_FIELDS = {"Y": "yyyy", "y": "yy", "m": "M", "d": "d", "H": "H", "I": "h", "M": "m",
                "S": "s", "f": "SSSSSS", "p": "a", "b": "MMM", "B": "MMMM", "j": "D", "%": "%"}


def _java_pattern(strptime: str) -> str:
    """A strptime format as a Spark datetime pattern; literal letters quoted."""
    out: list[str] = []
    chars = iter(strptime)
    for ch in chars:
        if ch == "%":
            code = next(chars, "")
            if code not in _JAVA_FIELDS:
                raise ProfileguardError(
                    f"Spark engine: time format {strptime!r}: %{code} is not supported "
                    f"(allowed: {', '.join('%' + c for c in _JAVA_FIELDS)})")
            out.append(_JAVA_FIELDS[code])
        elif ch.isalpha() or ch == "'":
            out.append("''" if ch == "'" else f"'{ch}'")
        else:
            out.append(ch)
    return "".join(out)


def _rewrite_time(node: exp.Expr) -> exp.Expr:
    if isinstance(node, exp.UnixToTime) and not (node.args.get("format")
                                                 or node.args.get("scale")):
        return exp.Anonymous(this="TIMESTAMP_SECONDS", expressions=[node.this.copy()])
    if (isinstance(node, exp.Anonymous) and str(node.this).upper() == "TRY_STRPTIME"
            and len(node.expressions) == 2 and node.expressions[1].is_string):
        pattern = _java_pattern(node.expressions[1].name)
        return exp.Anonymous(this="TRY_TO_TIMESTAMP", expressions=[
            node.expressions[0].copy(), exp.Literal.string(pattern)])
    return node


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
