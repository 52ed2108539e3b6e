"""Fused SQL plans for validated tags, generated through sqlglot for DuckDB or Spark.

All descriptive tags of one source become ONE `GROUP BY user` query, so a source is
scanned once however many tags and windows read it. The scan covers the widest window; a
narrower window, like a tag's `filter`, becomes an aggregate `FILTER (WHERE ...)` on each
of the tag's aggregates (DuckDB and Spark 3 both accept it), and the tag is NULL (absent)
for a user none of whose rows in its window pass its filter — the same rule as for a user
with no rows in the window at all. `as_of` is substituted as a timestamp literal; a window
keeps rows whose time column lies in (as_of - N days, as_of], `all` keeps rows at or
before as_of, and a source without a time column is read whole. Derived tags run
afterwards over the wide table of descriptive values, one CTE per dependency layer
(`derived_layers`: Kahn's topological sort, a dozen lines, so no graph library). On
DuckDB the build computes the first layer's `ntile` windows from cut points instead
(`ntile_cuts`, `cut_points_sql`, `with_cut_points`): same buckets, no sort.

Plans are sqlglot trees rendered with `.sql(dialect=...)`, so the Spark engine runs the
same plan transpiled; only user expressions are restricted, not the generated SQL.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Literal

from sqlglot import exp

from profileguard.model.tagsql import (
    AGGREGATES,
    AS_OF,
    TagSQLError,
    ValidatedTag,
    parse_window,
)

Dialect = Literal["duckdb", "spark"]
USER_ID = "user_id"


@dataclass(frozen=True)
class SourceTable:
    """Where a declared source lives in the engine: relation, user column, time column."""

    name: str
    relation: str
    user_column: str
    time_column: str | None = None


@dataclass(frozen=True)
class PlanStep:
    """One query of a build: its tags, output columns (after `user_id`) and SQL tree."""

    name: str
    kind: Literal["descriptive", "derived"]
    tags: tuple[str, ...]
    columns: tuple[str, ...]
    query: exp.Query
    dialect: Dialect
    source: str | None = None
    window: str | None = None

    @property
    def sql(self) -> str:
        return self.query.sql(dialect=self.dialect)

    def pretty(self) -> str:
        return self.query.sql(dialect=self.dialect, pretty=True)


def as_of_literal(as_of: datetime) -> exp.Expr:
    """`as_of` as a TIMESTAMP literal; aware datetimes are converted to UTC first."""
    if as_of.tzinfo is not None:
        as_of = as_of.astimezone(UTC).replace(tzinfo=None)
    return exp.cast(exp.Literal.string(as_of.isoformat(sep=" ")), exp.DataType.Type.TIMESTAMP)


def _substitute_as_of(tree: exp.Expr, literal: exp.Expr) -> exp.Expr:
    tree = tree.copy()

    def swap(node: exp.Expr) -> exp.Expr:
        if isinstance(node, exp.Column) and not node.this.args.get("quoted") \
                and node.name.lower() == AS_OF:
            return literal.copy()
        return node

    return tree.transform(swap)


#: aggregates DuckDB types DOUBLE whatever their input
_DOUBLES = (exp.Avg, exp.Stddev, exp.StddevPop, exp.StddevSamp, exp.Variance, exp.VariancePop)

#: a distinct count of days over a window this many days long or shorter is a bitmap of
#: day offsets (0 … span: span + 1 bits of a signed 64-bit integer)
DAY_BITS = 62

#: window functions whose result for tied rows depends on the order the engine meets them
_ORDER_SENSITIVE = (exp.Ntile, exp.RowNumber, exp.Lag, exp.Lead, exp.FirstValue, exp.LastValue,
                    exp.NthValue)


def _deterministic(tree: exp.Expr, *, tie_break: str) -> exp.Expr:
    """Make window results independent of row order, so DuckDB and Spark (and two DuckDB
    runs) agree: the window `ORDER BY` of functions that tell tied rows apart (`ntile`,
    `row_number`, `lag`, ...) ends with `tie_break`, so users with equal values fall in
    buckets by user id. `rank` and the like treat ties alike and are unchanged. (`mode`
    is made deterministic by its own plan step, `_Scan._mode`.)"""

    def fix(node: exp.Expr) -> exp.Expr:
        if isinstance(node, exp.Window) and isinstance(node.this, _ORDER_SENSITIVE) \
                and isinstance(node.args.get("order"), exp.Order):
            order = node.args["order"]
            if not any(isinstance(k.this, exp.Column) and k.this.name == tie_break
                       for k in order.expressions):
                order.append("expressions", exp.Ordered(this=exp.column(_quoted(tie_break))))
        return node

    return tree.copy().transform(fix)


def _apply_filter(tree: exp.Expr, condition: exp.Expr) -> exp.Expr:
    """Put `FILTER (WHERE condition)` on every aggregate of `tree` and make the whole
    expression NULL when no row passes the condition."""

    def wrap(node: exp.Expr) -> exp.Expr:
        if type(node) in AGGREGATES:  # inside IGNORE NULLS, as Spark's grammar wants
            return exp.Filter(this=node, expression=exp.Where(this=condition.copy()))
        return node

    filtered = tree.copy().transform(wrap)
    any_row = exp.Filter(this=exp.Count(this=exp.Star()),
                         expression=exp.Where(this=condition.copy()))
    return exp.Case(ifs=[exp.If(this=exp.GT(this=any_row, expression=exp.Literal.number(0)),
                                true=filtered)])


def _quoted(name: str) -> exp.Identifier:
    return exp.to_identifier(name, quoted=True)


def _check_names(tags: Sequence[ValidatedTag], taken: Collection[str]) -> list[str]:
    names: list[str] = []
    for tag in tags:
        for col in [tag.name] + [f"{tag.name}__{k}" for k in tag.inputs]:
            if col == USER_ID or col in names or col in taken:
                raise TagSQLError(tag.name, "name", col, 1, 1, "output column name clash",
                                  f"tag and tag__input names unique and not {USER_ID!r}")
            names.append(col)
    return names


def fuse_plan(tags: Sequence[ValidatedTag], source: SourceTable, as_of: datetime, *,
              dialect: Dialect = "duckdb", allowed_users: str | None = None) -> PlanStep:
    """One GROUP BY query computing every tag (and input) of one source, all its windows.

    The source is scanned once for its widest window; a tag of a narrower window gets that
    window as an aggregate `FILTER` (with its own `filter`), and is NULL for a user with no
    row in it. `mode(x)` is not one aggregate but two small ones (`_mode<n>`, joined per
    user): rows per (user, value), then the value with the most rows, ties to the smallest
    — deterministic like `mode(x ORDER BY x)` and several times cheaper than that ordered
    aggregate, which collects and sorts every row of a user. `count(DISTINCT x)` is split
    the same way (`_distinct<n>`: rows per (user, value), then values per user): DuckDB
    otherwise runs a distinct aggregate with a FILTER as a second scan of the source
    joined back, about twice the work — except the count of distinct days of the time
    column over a window of at most `DAY_BITS` days, which is a bitmap aggregate of the
    grouped query itself (`_Scan._day_counts`).

    `allowed_users`, if given, names a relation with a `user_id` column; only those
    users' rows are read.
    """
    if not tags:
        raise ValueError("fuse_plan needs at least one tag")
    days: dict[str, int | None] = {}
    for tag in tags:
        if tag.kind != "descriptive" or tag.source != source.name:
            raise TagSQLError(tag.name, "source", f"{tag.source} {tag.window}", 1, 1,
                              "cannot fuse with the other tags",
                              f"descriptive tags of source {source.name!r}")
        days[tag.name] = parse_window(tag.name, tag.window or "all")
        if days[tag.name] is not None and source.time_column is None:
            raise TagSQLError(tag.name, "window", tag.window or "all", 1, 1,
                              f"source {source.name!r} has no time column",
                              "window 'all' for sources without a time column")
    windows = sorted({t.window or "all" for t in tags},  # narrowest first, `all` last
                     key=lambda w: parse_window(w, w) or float("inf"))
    spans = [d for d in days.values() if d is not None]
    widest = None if len(spans) < len(days) else max(spans)
    _check_names(tags, ())
    literal = as_of_literal(as_of)
    user = exp.column(_quoted(source.user_column))
    time = exp.column(_quoted(source.time_column)) if source.time_column else None
    scan = _Scan(source.relation, user, _scan_predicates(time, literal, as_of, widest,
                                                         user, allowed_users),
                 time=time, as_of=literal)
    outputs: list[str] = []
    for tag in tags:
        conditions: list[exp.Expr] = []
        span = days[tag.name]
        if time is not None and span is not None and span != widest:
            low = as_of_literal(as_of - timedelta(days=span))
            conditions.append(exp.GT(this=time.copy(), expression=low))
        if tag.filter is not None:
            conditions.append(_substitute_as_of(tag.filter, literal))
        condition = exp.and_(*conditions) if conditions else None
        for out, tree in [(tag.name, tag.value)] + [
                (f"{tag.name}__{k}", v) for k, v in tag.inputs.items()]:
            expr = _substitute_as_of(tree, literal)
            if condition is not None:
                expr = _apply_filter(expr, condition)
            scan.add(out, expr, span=span)
            outputs.append(out)
    query = scan.query()
    window = ",".join(windows)
    return PlanStep(name=f"{source.name}@{window}", kind="descriptive",
                    tags=tuple(t.name for t in tags), columns=tuple(outputs),
                    query=query, dialect=dialect, source=source.name, window=window)


def _scan_predicates(time: exp.Column | None, literal: exp.Expr, as_of: datetime,
                     days: int | None, user: exp.Column, allowed_users: str | None
                     ) -> list[exp.Expr]:
    """Rows of the window: time in (as_of - days, as_of] (or <= as_of for `all`; no time
    column: every row), and only allowed users' rows when `allowed_users` is given."""
    predicates: list[exp.Expr] = []
    if time is not None:
        if days is not None:
            low = as_of_literal(as_of - timedelta(days=days))
            predicates.append(exp.GT(this=time.copy(), expression=low))
        predicates.append(exp.LTE(this=time.copy(), expression=literal.copy()))
    if allowed_users is not None:
        members = exp.select(exp.column(USER_ID)).from_(exp.to_table(allowed_users))
        predicates.append(exp.In(this=user.copy(), query=exp.Subquery(this=members)))
    return predicates


class _Scan:
    """The aggregation of one fused query, and the per-value steps joined to it.

    `add` puts an output in the grouped query `_agg` as it is, unless it uses `mode(x)` or
    `count(DISTINCT x)`: then its other aggregates become columns of `_agg` (`_a1`, ...),
    each mode or distinct count a column of its own step (`_mode<n>`, `_distinct<n>`), and
    the expression is computed over them after the join. Without any such aggregate the
    query is the grouped query alone."""

    def __init__(self, relation: str, user: exp.Column, predicates: list[exp.Expr], *,
                 time: exp.Column | None = None, as_of: exp.Expr | None = None) -> None:
        self.relation, self.user, self.predicates = relation, user, predicates
        self.time, self.as_of = time, as_of
        self.grouped: list[tuple[str, exp.Expr]] = []
        self.outer: list[tuple[str, exp.Expr]] = []
        self.lifted: dict[str, str] = {}
        #: one step per (kind, value, condition): its column, kind, value and condition
        self.steps: dict[str, tuple[str, str, exp.Expr, exp.Expr | None]] = {}

    def add(self, name: str, tree: exp.Expr, *, span: int | None = None) -> None:
        """Add the output ``name``; ``span`` is the length in days of its window (None for
        `all` or a source without time)."""
        tree = self._day_counts(tree, span)
        if not any(_per_value(n) is not None for n in tree.find_all(exp.Mode, exp.Count)):
            self.grouped.append((name, tree))
            self.outer.append((name, exp.column(_quoted(name))))
            return

        def swap(node: exp.Expr) -> exp.Expr:
            core, condition = _unwrap(node)
            if type(core) not in AGGREGATES:
                return node
            step = _per_value(core)
            if step is not None:
                kind, value = step
                key = f"{kind} {value.sql()} | {condition.sql() if condition else ''}"
                column = self.steps.setdefault(
                    key, (f"_{kind}{len(self.steps) + 1}", kind, value, condition))[0]
                ref: exp.Expr = exp.column(_quoted(column))
                # a user without a row in the step counts no distinct value, as count() does
                return exp.Coalesce(this=ref, expressions=[exp.Literal.number(0)]) \
                    if kind == "distinct" else ref
            if node.sql() not in self.lifted:
                self.lifted[node.sql()] = f"_a{len(self.lifted) + 1}"
                self.grouped.append((self.lifted[node.sql()], node.copy()))
            ref = exp.column(_quoted(self.lifted[node.sql()]))
            # keep the DOUBLE visible to the Spark transpiler's numeric rules
            return exp.cast(ref, exp.DataType.Type.DOUBLE) if isinstance(core, _DOUBLES) else ref

        self.outer.append((name, tree.copy().transform(swap)))

    def _day_counts(self, tree: exp.Expr, span: int | None) -> exp.Expr:
        """`count(DISTINCT CAST(time AS DATE))` over a window of at most `DAY_BITS` days as
        one aggregate of the grouped query: each of the tag's rows sets the bit of its day's
        offset from as_of (0 … span) in a BIGINT, `bit_or` per user, `bit_count` of the
        result. Exact, since the window holds at most span + 1 dates; and no (user, day)
        aggregation joined back as for other distinct counts (an `active days` tag is
        common, and its source, the events, the largest)."""
        if span is None or span > DAY_BITS or self.time is None or self.as_of is None:
            return tree
        time, as_of = self.time, self.as_of

        def day_of_time(value: exp.Expr) -> bool:
            return (isinstance(value, exp.Cast) and value.to.this == exp.DataType.Type.DATE
                    and isinstance(value.this, exp.Column) and value.this.name == time.name
                    and not value.this.table)

        def swap(node: exp.Expr) -> exp.Expr:
            core, condition = _unwrap(node)
            step = _per_value(core) if type(core) in AGGREGATES else None
            if step is None or step[0] != "distinct" or not day_of_time(step[1]):
                return node
            offset = exp.DateDiff(this=exp.cast(as_of.copy(), exp.DataType.Type.DATE),
                                  expression=step[1].copy(), unit=exp.var("DAY"))
            bit: exp.Expr = exp.BitwiseLeftShift(
                this=exp.cast(exp.Literal.number(1), exp.DataType.Type.BIGINT), expression=offset)
            if condition is not None:
                # the tag's own rows only: the scan's widest window may reach further back
                # than a 64-bit shift (a CASE, not a FILTER, so that no other row is shifted)
                bit = exp.Case(ifs=[exp.If(this=condition.copy(), true=bit)])
            days = exp.BitwiseOrAgg(this=bit)
            count = exp.cast(exp.func("bit_count", days), exp.DataType.Type.BIGINT)  # as count()
            return exp.Coalesce(this=count, expressions=[exp.Literal.number(0)])

        return tree.transform(swap)

    def _from(self, query: exp.Select, extra: Sequence[exp.Expr] = ()) -> exp.Select:
        query = query.from_(exp.to_table(self.relation), copy=False)
        predicates = [p.copy() for p in self.predicates] + list(extra)
        return query.where(exp.and_(*predicates), copy=False) if predicates else query

    def query(self) -> exp.Select:
        grouped = exp.select(exp.alias_(self.user.copy(), USER_ID, quoted=True))
        for name, expr in self.grouped:
            grouped = grouped.select(exp.alias_(expr, name, quoted=True), copy=False)
        grouped = self._from(grouped).group_by(self.user.copy(), copy=False)
        if not self.steps:
            return grouped
        query = exp.select(_quoted(USER_ID)).with_("_agg", as_=grouped, copy=False)
        query = query.from_(exp.to_table("_agg"), copy=False)
        for column, kind, value, condition in self.steps.values():
            step = self._per_value_step(column, kind, value, condition)
            query = query.with_(column, as_=step, copy=False)
            query = query.join(exp.to_table(column), using=[_quoted(USER_ID)],
                               join_type="left", copy=False)
        for name, expr in self.outer:
            query = query.select(exp.alias_(expr, name, quoted=True), copy=False)
        return query

    def _per_value_step(self, name: str, kind: str, value: exp.Expr,
                        condition: exp.Expr | None) -> exp.Select:
        """`mode(value)` or `count(DISTINCT value)` per user in two aggregations: rows per
        (user, value), then per user the value with most rows, ties to the smallest (`min`
        of the struct (-rows, value)), or the number of values. Cheaper than the one
        aggregate, which keeps every row (mode) or a hash set (distinct) per user."""
        keep: list[exp.Expr] = [exp.Not(this=exp.Is(this=value.copy(),
                                                     expression=exp.Null()))]
        if condition is not None:
            keep.insert(0, condition.copy())
        counts = exp.select(exp.alias_(self.user.copy(), USER_ID, quoted=True),
                            exp.alias_(value.copy(), "_v", quoted=True),
                            exp.alias_(exp.Count(this=exp.Star()), "_n", quoted=True))
        counts = self._from(counts, keep).group_by(self.user.copy(), value.copy(), copy=False)
        if kind == "distinct":
            pick: exp.Expr = exp.Count(this=exp.Star())
        else:
            best = exp.Min(this=exp.Struct(expressions=[
                exp.PropertyEQ(this=exp.to_identifier("n"),
                               expression=exp.Neg(this=exp.column(_quoted("_n")))),
                exp.PropertyEQ(this=exp.to_identifier("v"),
                               expression=exp.column(_quoted("_v")))]))
            pick = exp.Dot(this=best, expression=exp.to_identifier("v"))
        return (exp.select(_quoted(USER_ID), exp.alias_(pick, name, quoted=True))
                .from_(counts.subquery("_counts"), copy=False)
                .group_by(_quoted(USER_ID), copy=False))


def _unwrap(node: exp.Expr) -> tuple[exp.Expr, exp.Expr | None]:
    """The aggregate inside `IGNORE NULLS` / `FILTER (WHERE c)` wrappers, and `c`."""
    condition = None
    while isinstance(node, exp.IgnoreNulls | exp.RespectNulls | exp.Filter):
        if isinstance(node, exp.Filter):
            condition = node.expression.this
        node = node.this
    return node, condition


def _per_value(node: exp.Expr) -> tuple[str, exp.Expr] | None:
    """`("mode", x)` for `mode(x)` (tags cannot order an aggregate), `("distinct", x)` for
    `count(DISTINCT x)` of one expression; None for any other node."""
    if isinstance(node, exp.Mode) and not isinstance(node.this, exp.Order):
        return "mode", node.this
    if isinstance(node, exp.Count) and isinstance(node.this, exp.Distinct) \
            and len(node.this.expressions) == 1:
        return "distinct", node.this.expressions[0]
    return None


def group_descriptive(tags: Sequence[ValidatedTag]) -> dict[str, list[ValidatedTag]]:
    """Descriptive tags grouped by source, in first-seen order: one fused query per
    source, whatever the windows."""
    groups: dict[str, list[ValidatedTag]] = {}
    for tag in tags:
        if tag.kind == "descriptive":
            groups.setdefault(tag.source or "", []).append(tag)
    return groups


def derived_plan(derived: Sequence[ValidatedTag], wide: str, descriptive: Collection[str],
                 as_of: datetime, *, dialect: Dialect = "duckdb",
                 required: Sequence[str] = ()) -> PlanStep:
    """Compute derived tags over `wide` (one row per `user_id`, a column per descriptive
    tag and tag__input), one CTE per dependency layer; only users whose `required`
    columns are all non-NULL take part (and get derived tags)."""
    if not derived:
        raise ValueError("derived_plan needs at least one derived tag")
    _check_names(derived, descriptive)
    by_name = {t.name: t for t in derived}
    literal = as_of_literal(as_of)
    outputs: list[str] = []
    previous = wide
    query = exp.select(_quoted(USER_ID))
    for number, layer in enumerate(derived_layers(derived, descriptive), start=1):
        step = exp.select(exp.Star())
        for tag in (by_name[n] for n in layer):
            for out, tree in [(tag.name, tag.value)] + [
                    (f"{tag.name}__{k}", v) for k, v in tag.inputs.items()]:
                expr = _deterministic(_substitute_as_of(tree, literal), tie_break=USER_ID)
                step = step.select(exp.alias_(expr, out, quoted=True), copy=False)
                outputs.append(out)
        step = step.from_(exp.to_table(previous), copy=False)
        if number == 1 and required:
            step = step.where(exp.and_(*(exp.Not(this=exp.Is(
                this=exp.column(_quoted(c)), expression=exp.Null())) for c in required)),
                copy=False)
        previous = f"layer_{number}"
        query = query.with_(previous, as_=step, copy=False)
    query = query.select(*(_quoted(o) for o in outputs), copy=False)
    query = query.from_(exp.to_table(previous), copy=False)
    return PlanStep(name="derived", kind="derived", tags=tuple(by_name), columns=tuple(outputs),
                    query=query, dialect=dialect)


def derived_layers(derived: Sequence[ValidatedTag], descriptive: Collection[str]
                   ) -> list[list[str]]:
    """Order derived tags in layers: each layer depends only on descriptive tags and
    earlier layers. Unknown references and cycles raise `TagSQLError`."""
    by_name = {t.name: t for t in derived}
    for tag in derived:
        for dep in tag.depends_on:
            if dep not in by_name and dep not in descriptive:
                raise TagSQLError(tag.name, "value", dep, 1, 1, f"unknown tag {dep!r}",
                                  "descriptive or derived tags declared in the manifest")
    pending = {t.name: {d for d in t.depends_on if d in by_name} for t in derived}
    layers: list[list[str]] = []
    while pending:
        ready = sorted(n for n, deps in pending.items() if not deps)
        if not ready:
            cycle = _find_cycle(pending)
            raise TagSQLError(cycle[0], "value", " -> ".join(cycle), 1, 1,
                              "derived tags depend on each other in a cycle",
                              "derived tags that depend on descriptive or earlier tags only")
        layers.append(ready)
        for n in ready:
            del pending[n]
        for deps in pending.values():
            deps.difference_update(ready)
    return layers


def _find_cycle(graph: Mapping[str, set[str]]) -> list[str]:
    """Follow dependencies from any node of a graph without sources until one repeats."""
    path: list[str] = [sorted(graph)[0]]
    while True:
        nxt = sorted(graph[path[-1]])[0]
        if nxt in path:
            return [*path[path.index(nxt):], nxt]
        path.append(nxt)


def explain(steps: Sequence[PlanStep]) -> str:
    """Pretty-printed SQL of each step, headed by what it computes."""
    parts = []
    for number, step in enumerate(steps, start=1):
        where = f"source {step.source}, window {step.window}" if step.source else "derived"
        parts.append(f"-- step {number}: {step.name} ({where}); tags: {', '.join(step.tags)}\n"
                     f"{step.pretty()};")
    return "\n\n".join(parts) + "\n"


# -- ntile by cut points (DuckDB) ---------------------------------------------------------

#: types whose ORDER BY and whose comparison (`>=` of a struct) order values alike (no NaN,
#: no -0.0), and which of them can be negated exactly for a DESC key
_CUT_ASC = re.compile(r"^(U?(TINYINT|SMALLINT|INTEGER|BIGINT|HUGEINT)|DECIMAL\(\d+,\d+\)|VARCHAR"
                      r"|DATE|TIMESTAMP|BOOLEAN)$")
_CUT_DESC = re.compile(r"^(U?(TINYINT|SMALLINT|INTEGER|BIGINT)|DECIMAL\(\d+,\d+\))$")


@dataclass(frozen=True)
class NtileCut:
    """An `ntile(n) OVER (ORDER BY k1, ..., user_id)` of the first derived layer, computed
    without sorting: its n - 1 cut points (the key of the first row of buckets 2 … n) are
    order statistics, found by `quantile_disc` (selection, not a sort); a row's bucket is
    1 + the number of cut points its key reaches."""

    column: str
    buckets: int
    #: (column, descending) — the window's ORDER BY, user_id last
    keys: tuple[tuple[str, bool], ...]

    def key(self, types: Mapping[str, str]) -> str:
        """The row's sort key as one struct, ascending in the window's order: a DESC key
        negated (widened first, so that no value overflows)."""
        fields = []
        for i, (name, desc) in enumerate(self.keys):
            col = _quoted(name).sql(dialect="duckdb")
            if desc:
                col = f"-CAST({col} AS HUGEINT)" if "INT" in types[name] else f"-{col}"
            fields.append(f"'k{i}': {col}")
        return "{" + ", ".join(fields) + "}"

    def starts(self, rows: int) -> list[int]:
        """Row positions (0-based, in the window's order) where buckets 2 … n start, as
        `ntile` deals `rows` rows: the first `rows mod n` buckets get one row more."""
        n = min(self.buckets, rows)
        size, large = divmod(rows, n) if n else (0, 0)
        return [k * size + min(k, large) for k in range(1, n)]


def _ntile_order(node: exp.Expr) -> tuple[int, tuple[tuple[str, bool], ...]] | None:
    """An unpartitioned, ordered `ntile(n)` window's n and ORDER BY keys as (column name —
    '' for anything else —, descending); None for any other node."""
    if not isinstance(node, exp.Window) or not isinstance(node.this, exp.Ntile) \
            or node.args.get("partition_by") or node.args.get("order") is None:
        return None
    return int(node.this.this.name), tuple(
        (o.this.name if isinstance(o.this, exp.Column) else "", bool(o.args.get("desc")))
        for o in node.args["order"].expressions)


def ntile_cuts(step: PlanStep, required: Collection[str], types: Mapping[str, str]
               ) -> list[NtileCut]:
    """The `ntile` windows of the derived step's first layer that cut points can replace:
    no PARTITION BY, every ORDER BY key a required column (never NULL there) of a type whose
    order comparison agrees with sorting (`_CUT_ASC`; `_CUT_DESC` for a DESC key)."""
    cuts: list[NtileCut] = []
    with_ = step.query.find(exp.With)  # the layers' CTEs, layer_1 first
    if with_ is None or not with_.expressions:
        return cuts
    for node in with_.expressions[0].this.find_all(exp.Window):
        if (shape := _ntile_order(node)) is None:
            continue
        buckets, keys = shape
        if keys and keys[-1] == (USER_ID, False) and all(
                (name in required or name == USER_ID)
                and (_CUT_DESC if desc else _CUT_ASC).match(types.get(name, ""))
                for name, desc in keys):
            cuts.append(NtileCut(f"_cut{len(cuts) + 1}", buckets, keys))
    return cuts


def cut_points_sql(cuts: Sequence[NtileCut], relation: str, required: Sequence[str],
                   rows: int, types: Mapping[str, str]) -> str | None:
    """One row: each cut's cut points (a list of key structs) over the `rows` rows of
    `relation` with every `required` column set; None if no cut has any.
    `quantile_disc(x, p)` is the value at 0-based position ceil(rows * p) - 1, so
    p = (position + 0.5) / rows picks a position half a row away from any rounding."""
    selects = []
    for cut in cuts:
        if points := ", ".join(repr((s + 0.5) / rows) for s in cut.starts(rows)):
            selects.append(f"quantile_disc({cut.key(types)}, [{points}]) AS {cut.column}")
    if not selects:  # one bucket, or one row: every row is in bucket 1
        return None
    return f"SELECT {', '.join(selects)} FROM {relation}{taking_part(required)}"


def taking_part(required: Sequence[str]) -> str:
    """` WHERE` every `required` column is set (DuckDB SQL; empty if none is): the rows
    the first derived layer reads."""
    where = " AND ".join(f"{_quoted(c).sql(dialect='duckdb')} IS NOT NULL" for c in required)
    return f" WHERE {where}" if where else ""


def with_cut_points(step: PlanStep, cuts: Sequence[NtileCut], table: str | None, rows: int,
                    types: Mapping[str, str]) -> PlanStep:
    """The derived step with each cut `ntile` window replaced by its bucket from `table`'s
    cut points (`cut_points_sql`; None when it made none): 1 + the number of cut points at
    or below the row's key (keys are unique: user_id ends them)."""
    query = step.query.copy()
    first = query.find(exp.With).expressions[0]  # type: ignore[union-attr]
    layer = first.this
    by_shape = {(c.buckets, c.keys): c for c in cuts}

    def swap(node: exp.Expr) -> exp.Expr:
        cut = by_shape.get(shape) if (shape := _ntile_order(node)) is not None else None
        if cut is None:
            return node
        key = cut.key(types)
        reached = " + ".join(f"CAST({key} >= {table}.{cut.column}[{i}] AS BIGINT)"
                             for i in range(1, len(cut.starts(rows)) + 1))
        return exp.maybe_parse(f"1 + {reached}" if reached else "CAST(1 AS BIGINT)",
                               dialect="duckdb")

    layer = layer.transform(swap)
    if table is not None:
        layer = layer.join(exp.to_table(table), join_type="cross", copy=False)
    first.set("this", layer)
    return PlanStep(name=step.name, kind=step.kind, tags=step.tags, columns=step.columns,
                    query=query, dialect=step.dialect, source=step.source, window=step.window)
