"""Audience criteria: a selection expression over snapshot tags, validated like tag SQL.

The expression (``preferred_category = 'beauty' AND age_band IN ('18-25', '26-30')``) is
parsed by the tag validator as a derived-tag expression over the snapshot's tags, so it
gets the same allow-list: no subqueries, no table functions, only allow-listed functions,
only known tag names (``tag__input`` for a tag's inputs). Each tag it reads must then pass
:func:`~profileguard.apply.guards.criterion_refusal` for the audience's purpose: sensitive
or sensitive-inferring tags, refused tags and tags reading fields not declared for the
purpose are refused with the rule, law and article.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlglot import exp

from profileguard.apply.guards import Rule, criterion_refusal
from profileguard.errors import ProfileguardError
from profileguard.manifest.model import Manifest
from profileguard.model.catalog import Catalog
from profileguard.model.tagsql import AS_OF, TagSQLError, validate_tag


class CriterionRefused(ProfileguardError):
    """A selection expression the guards refuse, with the rule that refused it."""

    def __init__(self, rule: Rule, expression: str) -> None:
        self.rule = rule
        super().__init__(f"audience criterion refused [{rule.law} {rule.article}, "
                         f"{rule.rule}]: {rule.reason} (expression {expression!r}); allowed: "
                         "non-sensitive tags whose fields are declared for the purpose")


@dataclass(frozen=True)
class Criteria:
    expression: str
    sql: str  # DuckDB predicate over the wide snapshot's columns
    tags: tuple[str, ...]


def compile_criteria(manifest: Manifest, catalog: Catalog, columns: list[str],
                     expression: str, purpose: str, as_of: datetime) -> Criteria:
    """Validate ``expression`` over the wide snapshot's ``columns`` and check its tags."""
    tag_names = {t.name for t in manifest.tags}
    present = set(columns)
    known: dict[str, list[str]] = {}
    for name in tag_names & present:
        known[name] = [c.split("__", 1)[1] for c in columns if c.startswith(name + "__")]
    try:
        validated = validate_tag("audience", "derived", expression, tags=known)
    except TagSQLError as exc:
        missing = exc.fragment.strip('"').split("__", 1)[0]
        if missing in tag_names - present:  # a tag the build refused or skipped: say why
            why = criterion_refusal(manifest, catalog, missing, purpose) or Rule(
                "not_built", "PIPL", "6", f"tag {missing!r} is not in the current snapshot")
            raise CriterionRefused(why, expression) from exc
        raise ProfileguardError(f"audience expression: {exc}") from exc
    for tag in validated.depends_on:
        refusal = criterion_refusal(manifest, catalog, tag, purpose)
        if refusal is not None:
            raise CriterionRefused(refusal, expression)
    literal = exp.cast(exp.Literal.string(as_of.isoformat(sep=" ")),
                       exp.DataType.build("TIMESTAMP"))
    tree = validated.value.transform(
        lambda n: literal.copy() if isinstance(n, exp.Column) and n.name == AS_OF else n)
    return Criteria(expression, tree.sql(dialect="duckdb"), validated.depends_on)
