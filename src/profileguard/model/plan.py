"""Fused SQL plans for validated tags, generated through sqlglot for DuckDB or Spark.

All descriptive tags of one source and one window become ONE `GROUP BY user` query, so a
source is scanned once per window however many tags read it. A tag's `filter` becomes an
aggregate `FILTER (WHERE ...)` on each of its aggregates (DuckDB and Spark 3 both accept
it), and the tag is NULL (absent) for a user none of whose rows in the window pass the
filter — the same rule as for a user with no rows in the window, who is absent from the
result. `as_of` is substituted as a timestamp literal; the window keeps rows whose time
column lies in (as_of - N days, as_of], `all` keeps rows at or before as_of, and a source
without a time column is read whole. Derived tags run afterwards over the wide table of
descriptive values, one CTE per dependency layer (`derived_layers`: Kahn's topological
sort, a dozen lines, so no graph library).

Plans are sqlglot trees rendered with `.sql(dialect=...)`, so the Spark engine runs the
same plan transpiled; only user expressions are restricted, not the generated SQL.
"""

from __future__ import annotations

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


#: window functions whose result for tied rows depends on the order the engine meets them
_ORDER_SENSITIVE = (exp.Ntile, exp.RowNumber, exp.Lag, exp.Lead, exp.FirstValue, exp.LastValue,
                    exp.NthValue)


def _deterministic(tree: exp.Expr, *, tie_break: str | None = None) -> exp.Expr:
    """Make order-dependent results independent of row order, so DuckDB and Spark (and
    two DuckDB runs) agree: `mode(x)` breaks ties by the smallest value
    (`mode(x ORDER BY x)`: DuckDB keeps the first of tied values in input order), and
    with `tie_break` the window `ORDER BY` of functions that tell tied rows apart
    (`ntile`, `row_number`, `lag`, ...) ends with that column, so users with equal values
    fall in buckets by user id. `rank` and the like treat ties alike and are unchanged."""

    def fix(node: exp.Expr) -> exp.Expr:
        if isinstance(node, exp.Mode) and not isinstance(node.this, exp.Order):
            value = node.this
            return exp.Mode(this=exp.Order(this=value.copy(),
                                           expressions=[exp.Ordered(this=value.copy())]))
        if tie_break is not None and isinstance(node, exp.Window) \
                and isinstance(node.this, _ORDER_SENSITIVE) \
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
    """One GROUP BY query computing every tag (and input) of one source and window.

    `allowed_users`, if given, names a relation with a `user_id` column; only those
    users' rows are read.
    """
    if not tags:
        raise ValueError("fuse_plan needs at least one tag")
    window = tags[0].window or "all"
    for tag in tags:
        if tag.kind != "descriptive" or tag.source != source.name or \
                (tag.window or "all") != window:
            raise TagSQLError(tag.name, "source", f"{tag.source} {tag.window}", 1, 1,
                              "cannot fuse with the other tags",
                              f"descriptive tags of source {source.name!r}, window {window}")
    days = parse_window(tags[0].name, window)
    if days is not None and source.time_column is None:
        raise TagSQLError(tags[0].name, "window", window, 1, 1,
                          f"source {source.name!r} has no time column",
                          "window 'all' for sources without a time column")
    _check_names(tags, ())
    literal = as_of_literal(as_of)
    user = exp.column(_quoted(source.user_column))
    select = exp.select(exp.alias_(user.copy(), USER_ID, quoted=True))
    for tag in tags:
        condition = _substitute_as_of(tag.filter, literal) if tag.filter else None
        for out, tree in [(tag.name, tag.value)] + [
                (f"{tag.name}__{k}", v) for k, v in tag.inputs.items()]:
            expr = _deterministic(_substitute_as_of(tree, literal))
            if condition is not None:
                expr = _apply_filter(expr, condition)
            select = select.select(exp.alias_(expr, out, quoted=True), copy=False)
    select = select.from_(exp.to_table(source.relation), copy=False)
    predicates: list[exp.Expr] = []
    if source.time_column is not None:
        time = exp.column(_quoted(source.time_column))
        predicates.append(exp.LTE(this=time.copy(), expression=literal.copy()))
        if days is not None:
            low = as_of_literal(as_of - timedelta(days=days))
            predicates.insert(0, exp.GT(this=time.copy(), expression=low))
    if allowed_users is not None:
        members = exp.select(exp.column(USER_ID)).from_(exp.to_table(allowed_users))
        predicates.append(exp.In(this=user.copy(), query=exp.Subquery(this=members)))
    if predicates:
        select = select.where(exp.and_(*predicates), copy=False)
    select = select.group_by(user.copy(), copy=False)
    names = tuple(c.alias_or_name for c in select.expressions[1:])
    return PlanStep(name=f"{source.name}@{window}", kind="descriptive",
                    tags=tuple(t.name for t in tags), columns=names, query=select,
                    dialect=dialect, source=source.name, window=window)


def group_descriptive(tags: Sequence[ValidatedTag]) -> dict[tuple[str, str], list[ValidatedTag]]:
    """Descriptive tags grouped by (source, window), in first-seen order: one fused
    query per group."""
    groups: dict[tuple[str, str], list[ValidatedTag]] = {}
    for tag in tags:
        if tag.kind == "descriptive":
            groups.setdefault((tag.source or "", tag.window or "all"), []).append(tag)
    return groups


def derived_plan(derived: Sequence[ValidatedTag], wide: str, descriptive: Collection[str],
                 as_of: datetime, *, dialect: Dialect = "duckdb") -> PlanStep:
    """Compute derived tags over `wide` (one row per `user_id`, a column per descriptive
    tag and tag__input), one CTE per dependency layer."""
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
