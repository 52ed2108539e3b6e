"""Audit rules: small pure functions over an :class:`AuditContext`, registered by decorator.

A rule reads like a ruff rule (STYLE.md): its docstring has *What it checks*, *Why it
matters*, *Example* and *Fix*; the decorator gives its id, law, article, stage, severity
and titles. The function yields :class:`Hit` values (message, evidence, optionally a lower
or higher severity for this hit); the engine turns them into findings. No I/O in a rule.
"""

from __future__ import annotations

import inspect
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from profileguard.audit.finding import Evidence, Severity, Stage

if TYPE_CHECKING:
    from profileguard.audit.context import AuditContext


@dataclass(frozen=True)
class Hit:
    message: str
    evidence: list[Evidence] = field(default_factory=list)
    severity: Severity | None = None


RuleFn = Callable[["AuditContext"], Iterable[Hit]]

#: which rule packs a jurisdiction turns on
PACKS: dict[str, tuple[str, ...]] = {
    "CN": ("PIPL", "ECL", "ADV", "ALG", "NPI", "CHILD", "MINOR"),
    "EU": ("GDPR",),
}
_SECTIONS = ("What it checks", "Why it matters", "Example", "Fix")


@dataclass(frozen=True)
class Rule:
    id: str
    law: str
    article: str
    stage: Stage
    severity: Severity
    title_en: str
    title_zh: str
    fn: RuleFn
    #: what the rule needs beyond the manifest: "manifest", "warehouse", "consent", ...
    needs: tuple[str, ...] = ("manifest",)

    @property
    def doc(self) -> str:
        return inspect.cleandoc(self.fn.__doc__ or "")

    def section(self, name: str) -> str:
        """One of the four docstring sections, as written (empty when missing)."""
        pattern = rf"\*{re.escape(name)}\*:?\s*(.*?)(?=\n\*(?:{'|'.join(_SECTIONS)})\*|\Z)"
        m = re.search(pattern, self.doc, flags=re.S)
        return m.group(1).strip() if m else ""

    @property
    def fix(self) -> str:
        return " ".join(self.section("Fix").split())

    def check(self, ctx: AuditContext) -> list[Hit]:
        return list(self.fn(ctx))


RULES: dict[str, Rule] = {}


def rule(
    id: str, *, law: str, article: str, stage: Stage, severity: Severity, en: str, zh: str,
    needs: tuple[str, ...] = ("manifest",),
) -> Callable[[RuleFn], RuleFn]:
    """Register a rule function under ``id`` (unique); the docstring is its documentation."""

    def add(fn: RuleFn) -> RuleFn:
        if id in RULES:
            raise ValueError(f"audit rule {id!r} is registered twice")
        missing = [s for s in _SECTIONS if f"*{s}*" not in (fn.__doc__ or "")]
        if missing:
            raise ValueError(f"audit rule {id!r}: docstring lacks {', '.join(missing)}")
        RULES[id] = Rule(id, law, article, stage, severity, en, zh, fn, needs)
        return fn

    return add


def rules_for(jurisdictions: Iterable[str]) -> list[Rule]:
    """The rules of the packs the manifest's jurisdictions turn on (plus the meta rules)."""
    laws = {"PROFILEGUARD"}
    for j in jurisdictions:
        laws.update(PACKS.get(j, ()))
    return [r for r in RULES.values() if r.law in laws]
