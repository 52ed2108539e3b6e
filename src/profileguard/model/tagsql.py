"""Validate tag SQL expressions against an allow-list, and derive their lineage.

A tag's `value`, `filter` and `inputs` are SQL written by whoever edits the manifest, and
they end up inside queries the build runs. So they are parsed with sqlglot (the DuckDB
dialect) and every node of the syntax tree must be on an allow-list: unqualified references
to the source's declared columns (or, for derived tags, to other tags), literals,
arithmetic, comparisons, boolean logic, CASE, CAST to basic types, `as_of` and a fixed set
of scalar, aggregate and (derived tags only) ranking window functions. Anything else —
subqueries, table functions, statements, comments, volatile or unknown functions,
qualified or unknown names — is refused with a `TagSQLError` naming the tag, the field,
the fragment and its line:column. Raw-token checks for `;` and comments run first; the
AST allow-list is the real guard.

Lineage falls out of the parse: which declared columns each tag reads (hence which
categories), and which tags a derived tag depends on (ordered by `plan.derived_layers`).
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Literal

import sqlglot
from sqlglot import Token, TokenType, exp
from sqlglot.dialects.duckdb import DuckDB

from profileguard.errors import ProfileguardError

TagKind = Literal["descriptive", "derived"]
AS_OF = "as_of"
MAX_EXPRESSION_CHARS = 4000
_WINDOW_RE = re.compile(r"^(?:all|[1-9][0-9]{0,4}d)$")

AGGREGATES: dict[type[exp.Expr], str] = {
    exp.Count: "count", exp.Sum: "sum", exp.Avg: "avg", exp.Min: "min", exp.Max: "max",
    exp.AnyValue: "any_value", exp.Median: "median", exp.Mode: "mode",
    exp.Stddev: "stddev", exp.StddevSamp: "stddev_samp", exp.StddevPop: "stddev_pop",
    exp.Variance: "variance", exp.VariancePop: "var_pop", exp.CountIf: "count_if",
    exp.LogicalOr: "bool_or", exp.LogicalAnd: "bool_and",
    exp.ArgMax: "arg_max", exp.ArgMin: "arg_min",
}
SCALARS: dict[type[exp.Expr], str] = {
    exp.Coalesce: "coalesce", exp.Nullif: "nullif", exp.Round: "round", exp.Abs: "abs",
    exp.Least: "least", exp.Greatest: "greatest", exp.Lower: "lower", exp.Upper: "upper",
    exp.Length: "length", exp.Substring: "substr/substring", exp.DateDiff: "date_diff",
    exp.TimestampTrunc: "date_trunc", exp.DateTrunc: "date_trunc", exp.Year: "year",
    exp.Month: "month", exp.Day: "day", exp.Extract: "extract", exp.If: "if/iff",
    exp.Concat: "concat", exp.Floor: "floor", exp.Ceil: "ceil", exp.Sqrt: "sqrt",
    exp.Ln: "ln", exp.Pow: "power", exp.Trim: "trim", exp.DayOfWeek: "dayofweek",
}
RANKINGS: dict[type[exp.Expr], str] = {
    exp.Ntile: "ntile", exp.Rank: "rank", exp.DenseRank: "dense_rank",
    exp.PercentRank: "percent_rank", exp.CumeDist: "cume_dist", exp.RowNumber: "row_number",
}
# Names DuckDB does not know but people write; rewritten to the equivalent node.
_ANONYMOUS_ALIASES: dict[str, type[exp.Func]] = {"iff": exp.If, "var": exp.Variance}
_OPERATORS: tuple[type[exp.Expr], ...] = (
    exp.Add, exp.Sub, exp.Mul, exp.Div, exp.IntDiv, exp.Mod, exp.Neg, exp.Paren, exp.DPipe,
    exp.EQ, exp.NEQ, exp.GT, exp.GTE, exp.LT, exp.LTE, exp.NullSafeEQ, exp.NullSafeNEQ,
    exp.Like, exp.ILike, exp.And, exp.Or, exp.Not, exp.In, exp.Between, exp.Is, exp.Case,
    exp.If, exp.Cast, exp.TryCast, exp.Literal, exp.Null, exp.Boolean, exp.Interval,
)
_CAST_TYPES = {
    exp.DataType.Type.TINYINT, exp.DataType.Type.SMALLINT, exp.DataType.Type.INT,
    exp.DataType.Type.BIGINT, exp.DataType.Type.FLOAT, exp.DataType.Type.DOUBLE,
    exp.DataType.Type.DECIMAL, exp.DataType.Type.VARCHAR, exp.DataType.Type.TEXT,
    exp.DataType.Type.BOOLEAN, exp.DataType.Type.DATE, exp.DataType.Type.TIMESTAMP,
}
_UNITS = {"YEAR", "QUARTER", "MONTH", "WEEK", "DAY", "HOUR", "MINUTE", "SECOND",
          "DOW", "DAYOFWEEK", "DOY", "DAYOFYEAR"}
_OPENERS: tuple[tuple[type[exp.Expr], set[TokenType]], ...] = (
    (exp.Subquery, {TokenType.L_PAREN, TokenType.SELECT, TokenType.DISTINCT, TokenType.WITH}),
    (exp.Query, {TokenType.SELECT, TokenType.DISTINCT, TokenType.WITH}),
    (exp.Case, {TokenType.CASE, TokenType.WHEN}), (exp.Not, {TokenType.NOT}),
    (exp.Exists, {TokenType.EXISTS}), (exp.Interval, {TokenType.INTERVAL}),
    (exp.Paren, {TokenType.L_PAREN}), (exp.Func, {TokenType.L_PAREN}),
)
_CONTEXT_NODES = (exp.Star, exp.Distinct, exp.Var, exp.DataType, exp.DataTypeParam,
                  exp.IgnoreNulls, exp.Order, exp.Ordered, exp.Identifier)


def _names(table: Mapping[type[exp.Expr], str]) -> str:
    return ", ".join(sorted(set(table.values())))


ALLOWED_SUMMARY = (
    "column references to the source's declared columns, literals, arithmetic, "
    "comparisons, AND/OR/NOT, IN lists, BETWEEN, IS NULL, LIKE, CASE, CAST to basic types, "
    f"as_of; scalar functions: {_names(SCALARS)}; aggregates: {_names(AGGREGATES)}"
)
DERIVED_SUMMARY = (
    "references to other tags (name or tag__input), literals, operators, CASE, CAST, as_of, "
    f"the scalar functions ({_names(SCALARS)}) and ranking windows "
    f"({_names(RANKINGS)}) OVER (PARTITION BY / ORDER BY tag names); no aggregates"
)


class TagSQLError(ProfileguardError):
    """A tag expression that is not on the allow-list, or a dependency problem."""

    def __init__(self, tag: str, field: str, fragment: str, line: int, column: int,
                 problem: str, allowed: str) -> None:
        self.tag, self.field, self.fragment = tag, field, fragment
        self.line, self.column, self.problem, self.allowed = line, column, problem, allowed
        super().__init__(
            f"tag {tag!r}, {field} at {line}:{column}: {problem}: {fragment!r}. "
            f"Allowed: {allowed}."
        )


@dataclass(frozen=True)
class ValidatedTag:
    """A tag whose expressions passed the allow-list, with their parsed trees and lineage.

    `columns` are declared source columns (descriptive) in first-use order; `depends_on`
    are the tags a derived tag reads. Trees reference columns by their declared spelling
    and `as_of` as the bare column `as_of` (the plan substitutes the literal).
    """

    name: str
    kind: TagKind
    value: exp.Expr
    filter: exp.Expr | None = None
    inputs: Mapping[str, exp.Expr] = field(default_factory=dict)
    source: str | None = None
    window: str | None = None
    columns: tuple[str, ...] = ()
    field_columns: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    depends_on: tuple[str, ...] = ()
    uses_as_of: bool = False

    def categories(self, column_categories: Mapping[str, str]) -> tuple[str, ...]:
        """Categories of the columns this tag reads, in first-use order, without repeats."""
        return column_categories_of(self.columns, column_categories)


def column_categories_of(columns: Iterable[str], column_categories: Mapping[str, str]
                         ) -> tuple[str, ...]:
    """Map columns to their categories (unknown columns are skipped), keeping order."""
    seen: dict[str, None] = {}
    for col in columns:
        if col in column_categories:
            seen.setdefault(column_categories[col], None)
    return tuple(seen)


def parse_window(tag: str, window: str) -> int | None:
    """`Nd` → N days; `all` → None; anything else is a `TagSQLError`."""
    if not _WINDOW_RE.match(window):
        raise TagSQLError(tag, "window", window, 1, 1, "not a window",
                          "'Nd' (1 to 99999 days, e.g. 30d) or 'all'")
    return None if window == "all" else int(window[:-1])


@dataclass
class _Field:
    """One expression being checked: its text, tokens and the rules that apply."""

    tag: str
    name: str
    text: str
    tokens: list[Token]
    kind: TagKind
    role: Literal["aggregate", "row", "derived"]
    names: Mapping[str, str]  # lower-cased name → canonical name
    allowed: str
    used: list[str] = field(default_factory=list)
    as_of: bool = False

    def fail(self, node: exp.Expr | None, problem: str, allowed: str | None = None
             ) -> TagSQLError:
        start, end = _span(node, self.tokens, self.text)
        line = self.text.count("\n", 0, start) + 1
        column = start - (self.text.rfind("\n", 0, start) + 1) + 1
        fragment = self.text[start:end + 1].strip() or self.text.strip()
        return TagSQLError(self.tag, self.name, fragment, line, column, problem,
                           allowed or self.allowed)


def _span(node: exp.Expr | None, tokens: list[Token], text: str) -> tuple[int, int]:
    """Character span of `node` in the source: from token metadata of its subtree,
    widened backwards over an opening keyword / function name and forwards until the
    parentheses inside the span balance."""
    if node is None or not tokens or node.parent is None:
        return 0, max(len(text) - 1, 0)
    metas = [n.meta for n in node.walk() if "start" in n.meta]
    if not metas:
        word = node.sql(dialect="duckdb").split("(")[0].split(" ")[0].upper()
        hit = next((t for t in tokens if t.text.upper() == word), tokens[0])
        return hit.start, hit.end
    start = min(int(m["start"]) for m in metas)
    end = max(int(m["end"]) for m in metas)
    first = next(i for i, t in enumerate(tokens) if t.end >= start)
    last = max(i for i, t in enumerate(tokens) if t.start <= end)
    openers = next((o for cls, o in _OPENERS if isinstance(node, cls)), set())
    if "start" not in node.meta and not isinstance(node, exp.Column):
        while first > 0 and tokens[first - 1].token_type in openers:
            first -= 1
        if isinstance(node, exp.Func) and first > 0 and \
                tokens[first].token_type == TokenType.L_PAREN:
            first -= 1  # the function name
    if isinstance(node, exp.Func) and last + 1 < len(tokens) and \
            tokens[last + 1].token_type == TokenType.L_PAREN:
        last += 1  # the argument list after the function name
    depth = 0
    for i in range(first, len(tokens)):
        kind = tokens[i].token_type
        depth += (kind == TokenType.L_PAREN) - (kind == TokenType.R_PAREN)
        if i >= last and depth <= 0:
            last = i
            break
    return tokens[first].start, tokens[last].end


def _pre_checks(f: _Field) -> None:
    """Refuse `;` and comments from the raw tokens, before any parsing."""
    for tok in f.tokens:
        if tok.token_type == TokenType.SEMICOLON:
            raise _at(f, tok.start, tok.end, "multiple statements (';') are not allowed",
                      "one SQL expression")
    bounds = [-1] + [x for t in f.tokens for x in (t.start, t.end)] + [len(f.text)]
    for gap_start, gap_end in zip(bounds[0::2], bounds[1::2], strict=False):
        gap = f.text[gap_start + 1:gap_end]
        stripped = gap.lstrip()
        if stripped:
            at = gap_start + 1 + len(gap) - len(stripped)
            comment = stripped[:2] in ("--", "/*")
            raise _at(f, at, gap_end - 1, "comments are not allowed" if comment
                      else "text outside any SQL token", "one SQL expression without comments")
    if bounds == [-1, len(f.text)]:
        raise _at(f, 0, 0, "empty expression", f.allowed)


def _at(f: _Field, start: int, end: int, problem: str, allowed: str) -> TagSQLError:
    line = f.text.count("\n", 0, start) + 1
    column = start - (f.text.rfind("\n", 0, start) + 1) + 1
    return TagSQLError(f.tag, f.name, f.text[start:end + 1].strip(), line, column, problem, allowed)


def _parse(f: _Field) -> exp.Expr:
    """Parse one expression; any parser failure becomes a `TagSQLError`."""
    if len(f.text) > MAX_EXPRESSION_CHARS:
        raise _at(f, 0, 40, f"expression longer than {MAX_EXPRESSION_CHARS} characters",
                  "a shorter expression")
    try:
        f.tokens = DuckDB().tokenize(f.text)
    except Exception as err:  # sqlglot raises TokenError and, on odd input, others
        raise _at(f, 0, len(f.text) - 1, f"cannot read the expression ({err})",
                  f.allowed) from err
    _pre_checks(f)
    try:
        trees = sqlglot.parse(f.text, read="duckdb")
    except sqlglot.ParseError as err:
        detail = err.errors[0] if err.errors else {}
        line, col = int(detail.get("line") or 1), int(detail.get("col") or 1)
        lines = f.text.split("\n")
        col = max(1, col - len(str(detail.get("highlight") or "")) + 1)
        frag = lines[min(line, len(lines)) - 1].strip()
        raise TagSQLError(f.tag, f.name, frag, line, col,
                          f"not valid SQL ({detail.get('description', err)})",
                          f.allowed) from err
    except Exception as err:  # RecursionError on deep nesting, internal parser errors
        raise _at(f, 0, len(f.text) - 1, f"cannot parse the expression ({type(err).__name__})",
                  f.allowed) from err
    if len(trees) != 1 or trees[0] is None:
        raise _at(f, 0, len(f.text) - 1, "expected exactly one expression", f.allowed)
    return _rewrite_aliases(trees[0])


def _rewrite_aliases(tree: exp.Expr) -> exp.Expr:
    for node in list(tree.find_all(exp.Anonymous)):
        target = _ANONYMOUS_ALIASES.get(str(node.this).lower())
        if target is None:
            continue
        args = list(node.expressions)
        keys = [k for k in ("this", "true", "false", "expression") if k in target.arg_types]
        if target is exp.If and len(args) == 3:
            new: exp.Expr = exp.If(this=args[0], true=args[1], false=args[2])
        elif len(args) == 1:
            new = target(**{keys[0]: args[0]})
        else:
            continue
        new.meta.update(node.meta)
        if node is tree:
            return new
        node.replace(new)
    return tree


def _check(f: _Field, node: exp.Expr, in_aggregate: bool) -> None:
    """Walk `node`, refusing anything not allowed in this field."""
    if isinstance(node, exp.Column):
        _check_column(f, node, in_aggregate)
        return
    cls = type(node)
    if cls in AGGREGATES:
        if f.role != "aggregate":
            where = "a derived tag" if f.kind == "derived" else "a filter"
            raise f.fail(node, f"aggregate {AGGREGATES[cls]}() is not allowed in {where}")
        if in_aggregate:
            raise f.fail(node, "nested aggregates are not allowed")
        _check_aggregate_shape(f, node)
        in_aggregate = True
    elif isinstance(node, exp.Window):
        _check_window(f, node)
        return
    elif cls in RANKINGS:
        raise f.fail(node, f"{RANKINGS[cls]}() needs an OVER (...) clause")
    elif isinstance(node, _CONTEXT_NODES):
        _check_context_node(f, node)
    elif cls not in SCALARS and not isinstance(node, _OPERATORS):
        raise f.fail(node, _describe(node))
    if isinstance(node, exp.Is) and not isinstance(node.expression, exp.Null | exp.Boolean):
        raise f.fail(node, "IS must be followed by NULL, TRUE or FALSE")
    for child in node.iter_expressions():
        _check(f, child, in_aggregate)


def _describe(node: exp.Expr) -> str:
    if isinstance(node, exp.Query | exp.Subquery):
        return "subqueries are not allowed"
    if isinstance(node, exp.Table):
        return "table references are not allowed"
    if isinstance(node, exp.Anonymous):
        return f"function {node.name}() is not on the allow-list"
    if isinstance(node, exp.CurrentDate | exp.CurrentTimestamp | exp.CurrentTime | exp.Rand):
        return "volatile functions are not allowed (time comes from as_of)"
    if isinstance(node, exp.Func):
        return f"function {node.sql_name().lower()}() is not on the allow-list"
    if isinstance(node, exp.Filter):
        return "FILTER (WHERE ...) is not allowed here; use the tag's filter field"
    if node.parent is None and not isinstance(node, exp.Condition):
        return "only a single SQL expression is allowed, not a statement"
    return f"{node.key} is not allowed"


def _check_context_node(f: _Field, node: exp.Expr) -> None:
    parent, key = node.parent, node.arg_key
    ok = False
    if isinstance(node, exp.Star | exp.Distinct):
        ok = isinstance(parent, exp.Count) and key == "this" and (
            isinstance(node, exp.Star) or len(node.expressions) == 1)
    elif isinstance(node, exp.Var):
        ok = node.name.upper() in _UNITS and (
            key == "unit" or (isinstance(parent, exp.Extract) and key == "this"))
    elif isinstance(node, exp.DataType):
        ok = isinstance(parent, exp.Cast) and node.this in _CAST_TYPES
        if not ok:
            raise f.fail(parent, f"CAST to {node.sql('duckdb')} is not allowed",
                         "CAST to integer, decimal, double, varchar, boolean, date, timestamp")
    elif isinstance(node, exp.DataTypeParam):
        ok = isinstance(parent, exp.DataType)
    elif isinstance(node, exp.IgnoreNulls):
        ok = isinstance(node.this, exp.AnyValue)
    if not ok:
        target = node if node.meta or not isinstance(parent, exp.Expr) else parent
        raise f.fail(target, f"{node.sql('duckdb') or node.key} is not allowed here")


def _check_column(f: _Field, node: exp.Column, in_aggregate: bool) -> None:
    ident = node.this
    if node.args.get("table") or node.args.get("db") or node.args.get("catalog"):
        raise f.fail(node, "qualified names are not allowed (write the bare column name)")
    if not isinstance(ident, exp.Identifier):
        raise f.fail(node, f"{node.sql('duckdb')} is not allowed")
    name, quoted = ident.name, bool(ident.args.get("quoted"))
    if not quoted and name.lower() == AS_OF:
        f.as_of = True
        return
    canonical = f.names.get(name.lower())
    if canonical is None or (quoted and canonical != name):
        what = "tag" if f.kind == "derived" else "column"
        raise f.fail(node, f"unknown {what} {name!r}",
                     f"{what}s: " + (", ".join(sorted(f.names.values())) or "none") + ", as_of")
    if f.role == "aggregate" and not in_aggregate:
        raise f.fail(node, f"column {canonical!r} is outside an aggregate; a descriptive "
                     f"tag's value is one per user, e.g. max({canonical})")
    ident.set("this", canonical)
    ident.set("quoted", True)
    f.used.append(canonical)


def _check_aggregate_shape(f: _Field, node: exp.Expr) -> None:
    if isinstance(node, exp.ArgMax | exp.ArgMin) and node.args.get("count") is not None:
        raise f.fail(node, "arg_max/arg_min take exactly two arguments")
    if isinstance(node, exp.Count) and node.this is None:
        raise f.fail(node, "count needs an argument, e.g. count(*)")


def _check_window(f: _Field, node: exp.Window) -> None:
    func = node.this
    if f.kind != "derived":
        raise f.fail(node, "window functions are only allowed in derived tags")
    if type(func) not in RANKINGS:
        raise f.fail(func, "only ranking functions may have OVER (...)")
    extra = [k for k, v in node.args.items()
             if v not in (None, False) and k not in ("this", "partition_by", "order", "over")]
    if extra:
        raise f.fail(node, "window frames and named windows are not allowed",
                     "OVER (PARTITION BY tag, ... ORDER BY tag [DESC], ...)")
    if isinstance(func, exp.Ntile):
        arg = func.this
        if not (isinstance(arg, exp.Literal) and not arg.is_string and arg.name.isdigit()
                and 0 < int(arg.name) <= 1000):
            raise f.fail(func, "ntile takes a whole number of buckets from 1 to 1000")
    elif list(func.iter_expressions()):
        raise f.fail(func, f"{RANKINGS[type(func)]}() takes no arguments")
    order = node.args.get("order")
    items = list(node.args.get("partition_by") or [])
    if order is not None:
        items += [o.this for o in order.expressions if isinstance(o, exp.Ordered)]
        if len(items) != len(node.args.get("partition_by") or []) + len(order.expressions):
            raise f.fail(order, "ORDER BY items must be tag names")
    for item in items:
        if not isinstance(item, exp.Column):
            raise f.fail(item, "PARTITION BY / ORDER BY items must be tag names")
        _check_column(f, item, False)


def validate_tag(name: str, kind: TagKind, value: str, *, filter: str | None = None,
                 inputs: Mapping[str, str] | None = None,
                 columns: Collection[str] = (), tags: Mapping[str, Collection[str]] | None = None,
                 source: str | None = None, window: str | None = None) -> ValidatedTag:
    """Check one tag's expressions and return them parsed, with lineage.

    Descriptive tags read `columns` (the source's declared columns); `value` and each
    input must be aggregates, `filter` a row predicate. Derived tags read `tags`
    (tag name → its input names; `tag__input` is the reference to an input) and take
    no filter. `window` (descriptive) must be `Nd` or `all`.
    """
    if kind not in ("descriptive", "derived"):
        raise TagSQLError(name, "kind", str(kind), 1, 1, "not a SQL tag kind",
                          "descriptive or derived")
    if kind == "descriptive":
        parse_window(name, window or "")
        names = {c.lower(): c for c in columns}
        allowed = ALLOWED_SUMMARY
    else:
        if filter is not None:
            raise TagSQLError(name, "filter", filter, 1, 1, "derived tags take no filter",
                              "a filter on descriptive tags only")
        catalog = tags or {}
        names = {t.lower(): t for t in catalog}
        names.update({f"{t}__{i}".lower(): f"{t}__{i}" for t, ins in catalog.items()
                      for i in ins})
        allowed = DERIVED_SUMMARY
    fields: list[tuple[str, str, Literal["aggregate", "row", "derived"]]] = []
    role: Literal["aggregate", "derived"] = "aggregate" if kind == "descriptive" else "derived"
    fields.append(("value", value, role))
    if filter is not None:
        fields.append(("filter", filter, "row"))
    fields += [(f"inputs.{k}", v, role) for k, v in (inputs or {}).items()]
    trees: dict[str, exp.Expr] = {}
    per_field: dict[str, tuple[str, ...]] = {}
    uses_as_of = False
    for field_name, text, field_role in fields:
        f = _Field(name, field_name, text, [], kind,
                   field_role, names, allowed)
        tree = _parse(f)
        _check(f, tree, False)
        if field_role == "aggregate" and not any(
                type(n) in AGGREGATES for n in tree.walk()):
            raise f.fail(None, "not an aggregate; a descriptive tag has one value per user "
                         "computed over the rows in its window, e.g. count(*) or sum(amount)")
        trees[field_name] = tree
        per_field[field_name] = tuple(dict.fromkeys(f.used))
        uses_as_of = uses_as_of or f.as_of
    used = tuple(dict.fromkeys(c for cols in per_field.values() for c in cols))
    depends: tuple[str, ...] = ()
    if kind == "derived":
        owner = {t: t for t in (tags or {})}
        owner.update({f"{t}__{i}": t for t, ins in (tags or {}).items() for i in ins})
        depends = tuple(dict.fromkeys(owner[c] for c in used))
        used = ()
    return ValidatedTag(
        name=name, kind=kind, value=trees["value"], filter=trees.get("filter"),
        inputs={k.removeprefix("inputs."): v for k, v in trees.items()
                if k.startswith("inputs.")},
        source=source, window=window, columns=used,
        field_columns=per_field, depends_on=depends,
        uses_as_of=uses_as_of,
    )
