"""The tag catalog: each manifest tag validated, with lineage and the reasons it may be refused.

Lineage comes from the parse (DESIGN.md): the columns a tag reads → their categories →
CN sensitivity / GDPR special category and the purposes the fields are declared for.
A tag is refused — reported as a finding, never a crash — when:

* its SQL is not on the allow-list (``TagSQLError``);
* its purpose is not among the purposes of every field it reads (PIPL 6: purpose limitation);
* it reads sensitive PI (CN ``sensitive`` / GDPR Art 9) without a declared separate consent for
  its purpose (PIPL 28–29, GDPR 9);
* it infers a sensitive category and serves advertising or automated marketing (PIPL 28–29);
* it is derived from a refused tag.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from profileguard.manifest.model import Manifest, Tag
from profileguard.model.tagsql import TagSQLError, ValidatedTag, validate_tag
from profileguard.taxonomy import (
    cn_level,
    covers,
    eu_special,
    is_automated_marketing,
    is_profiling,
)
from profileguard.taxonomy.categories import CNSensitivity


@dataclass(frozen=True)
class Refusal:
    tag: str
    reason: str
    law: str
    article: str
    message: str


@dataclass
class TagInfo:
    tag: Tag
    validated: ValidatedTag | None = None
    fields: list[str] = field(default_factory=list)  # source.column
    categories: list[str] = field(default_factory=list)
    sensitive_categories: list[str] = field(default_factory=list)
    refusals: list[Refusal] = field(default_factory=list)

    @property
    def name(self) -> str:
        return self.tag.name

    @property
    def refused(self) -> bool:
        return bool(self.refusals)

    @property
    def fact(self) -> bool:
        return self.tag.kind != "predictive"

    def as_dict(self) -> dict[str, object]:
        t = self.tag
        return {
            "name": t.name, "title": {"zh": t.title.zh, "en": t.title.en}, "kind": t.kind,
            "purpose": t.purpose, "source": t.source, "window": t.window.text,
            "value": t.value, "filter": t.filter, "model": t.model, "infers": t.infers,
            "fields": self.fields, "categories": self.categories,
            "sensitive_categories": self.sensitive_categories,
            "profiling": is_profiling(t.purpose),
            "depends_on": list(self.validated.depends_on) if self.validated else [],
            "refused": [r.message for r in self.refusals],
        }


@dataclass
class Catalog:
    tags: list[TagInfo]

    def get(self, name: str) -> TagInfo | None:
        return next((t for t in self.tags if t.name == name), None)

    @property
    def buildable(self) -> list[TagInfo]:
        return [t for t in self.tags if not t.refused]

    @property
    def refusals(self) -> list[Refusal]:
        return [r for t in self.tags for r in t.refusals]


def _is_sensitive(category: str, jurisdictions: list[str]) -> bool:
    return ("CN" in jurisdictions and cn_level(category) is CNSensitivity.SENSITIVE) or (
        "EU" in jurisdictions and eu_special(category))


def _separately_consented(m: Manifest, purpose: str, category: str) -> bool:
    return any(s.purpose == purpose and (not s.categories or any(covers(c, category)
               for c in s.categories)) for s in m.consent.separate)


def build_catalog(m: Manifest) -> Catalog:
    infos: dict[str, TagInfo] = {}
    juris = m.jurisdictions
    for tag in m.tags:
        info = TagInfo(tag)
        infos[tag.name] = info
        if tag.kind == "predictive":
            _predictive_lineage(m, info)
            continue
        if tag.kind != "descriptive" or not tag.source:
            continue
        declared = m.fields.get(tag.source, {})
        try:
            info.validated = validate_tag(tag.name, "descriptive", tag.value or "",
                                          filter=tag.filter, inputs=tag.inputs,
                                          columns=list(declared), source=tag.source,
                                          window=tag.window.text)
        except TagSQLError as exc:
            info.refusals.append(Refusal(tag.name, "sql", "PIPL", "51", str(exc)))
            continue
        _lineage(m, info, tag.source, list(info.validated.columns))

    known = {t.name: list(t.inputs) for t in m.tags if t.kind in {"descriptive", "derived"}}
    for tag in m.tags:
        if tag.kind != "derived":
            continue
        info = infos[tag.name]
        try:
            info.validated = validate_tag(tag.name, "derived", tag.value or "",
                                          inputs=tag.inputs, tags=known)
        except TagSQLError as exc:
            info.refusals.append(Refusal(tag.name, "sql", "PIPL", "51", str(exc)))
    # derived lineage: the union of what their dependencies read (in dependency order)
    for _ in range(len(m.tags)):
        for tag in m.tags:
            info = infos[tag.name]
            if tag.kind != "derived" or info.validated is None:
                continue
            for dep in info.validated.depends_on:
                d = infos.get(dep)
                if d is None:
                    continue
                for f in d.fields:
                    if f not in info.fields:
                        info.fields.append(f)
                for c in d.categories:
                    if c not in info.categories:
                        info.categories.append(c)
    for tag in m.tags:
        info = infos[tag.name]
        _purpose_and_sensitivity(m, info, juris)
    for _ in range(len(m.tags)):  # refusal propagates along derived dependencies
        for tag in m.tags:
            info = infos[tag.name]
            if info.validated is None or info.refused:
                continue
            bad = [d for d in info.validated.depends_on if infos.get(d) and infos[d].refused]
            if bad:
                info.refusals.append(Refusal(tag.name, "dependency", "PIPL", "6",
                                             f"tag {tag.name!r} depends on refused tag(s) "
                                             f"{', '.join(bad)}"))
    return Catalog([infos[t.name] for t in m.tags])


def _predictive_lineage(m: Manifest, info: TagInfo) -> None:
    """A model's inputs are its lineage: the columns it reads (and its filter's)."""
    from profileguard.errors import ProfileguardError
    from profileguard.model.predictive.step import lineage_columns

    tag = info.tag
    try:
        columns = lineage_columns(tag, m)
        declared = m.fields.get(tag.source or "", {})
        missing = [c for c in columns if c not in declared]
        if missing:
            raise ProfileguardError(f"tag {tag.name!r}: model input column(s) "
                                    f"{', '.join(missing)} are not declared for {tag.source!r}")
        if tag.filter:
            checked = validate_tag(tag.name, "descriptive", "count(*)", filter=tag.filter,
                                   columns=list(declared), source=tag.source, window="all")
            columns += [c for c in checked.columns if c not in columns]
    except ProfileguardError as exc:
        info.refusals.append(Refusal(tag.name, "model", "PIPL", "24", str(exc)))
        return
    _lineage(m, info, tag.source or "", columns)


def _lineage(m: Manifest, info: TagInfo, source: str, columns: list[str]) -> None:
    declared = m.fields.get(source, {})
    for col in columns:
        info.fields.append(f"{source}.{col}")
        cat = declared[col].category
        if cat not in info.categories:
            info.categories.append(cat)


def _purpose_and_sensitivity(m: Manifest, info: TagInfo, juris: list[str]) -> None:
    tag = info.tag
    for ref in info.fields:
        src, _, col = ref.partition(".")
        decl = m.fields.get(src, {}).get(col)
        if decl is not None and tag.purpose not in decl.purposes:
            info.refusals.append(Refusal(
                tag.name, "purpose", "PIPL", "6",
                f"tag {tag.name!r} serves purpose {tag.purpose!r}, which is not a declared "
                f"purpose of field {ref} (declared: {', '.join(decl.purposes) or 'none'})"))
    info.sensitive_categories = [c for c in info.categories if _is_sensitive(c, juris)]
    for cat in info.sensitive_categories:
        if not _separately_consented(m, tag.purpose, cat):
            info.refusals.append(Refusal(
                tag.name, "sensitive", "PIPL", "29",
                f"tag {tag.name!r} uses sensitive personal information ({cat}) for "
                f"{tag.purpose!r} without a declared separate consent (consent.separate)"))
    if tag.infers and _is_sensitive(tag.infers, juris):
        if tag.purpose == "advertising" or is_automated_marketing(tag.purpose):
            info.refusals.append(Refusal(
                tag.name, "infers_sensitive", "PIPL", "28",
                f"tag {tag.name!r} infers sensitive information ({tag.infers}) and serves "
                f"{tag.purpose!r}: sensitive inferences may not drive advertising"))
        elif not _separately_consented(m, tag.purpose, tag.infers):
            info.refusals.append(Refusal(
                tag.name, "infers_sensitive", "PIPL", "29",
                f"tag {tag.name!r} infers sensitive information ({tag.infers}) without a "
                f"declared separate consent for {tag.purpose!r}"))
