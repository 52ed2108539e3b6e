"""Cross-reference checks a schema cannot express, run over the raw YAML data.

They run even when the schema check failed elsewhere, so one pass reports every mistake
of a file: unknown categories and purposes (with a "did you mean"), fields of undeclared
sources, recipients naming undeclared purposes or fields, tags on undeclared sources.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from profileguard.manifest.yamlpos import Path
from profileguard.taxonomy import ALL_BASIS_IDS, CATEGORIES


@dataclass(frozen=True)
class Problem:
    path: Path
    message: str
    hint: str = ""
    on_key: bool = False


def did_you_mean(value: str, choices: Iterable[str]) -> str:
    options = sorted(set(choices))
    close = difflib.get_close_matches(value, options, n=3, cutoff=0.6)
    if close:
        return "did you mean " + " or ".join(repr(c) for c in close) + "?"
    if len(options) <= 12:
        return "valid: " + ", ".join(options)
    return f"see `profileguard taxonomy` for the {len(options)} valid values"


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def check(data: Any) -> Iterator[Problem]:
    doc = _dict(data)
    sources = _dict(doc.get("sources"))
    fields = _dict(doc.get("fields"))
    purposes = _dict(doc.get("purposes"))
    purpose_names = set(purposes)
    recipients = _list(doc.get("recipients"))
    recipient_names = {r.get("name") for r in recipients if isinstance(r, dict)}

    def category(path: Path, value: Any) -> Iterator[Problem]:
        if isinstance(value, str) and value not in CATEGORIES:
            yield Problem(path, f"unknown category {value!r}", did_you_mean(value, CATEGORIES))

    def purpose(path: Path, value: Any) -> Iterator[Problem]:
        if isinstance(value, str) and value not in purpose_names:
            hint = did_you_mean(value, purpose_names) if purpose_names else (
                "declare it under `purposes:`")
            yield Problem(path, f"purpose {value!r} is not declared under `purposes:`", hint)

    def field_ref(path: Path, value: Any) -> Iterator[Problem]:
        if not isinstance(value, str):
            return
        src, _, col = value.partition(".")
        if src not in fields or col not in _dict(fields.get(src)):
            known = [f"{s}.{c}" for s, cols in fields.items() for c in _dict(cols)]
            yield Problem(path, f"field {value!r} is not declared under `fields:`",
                          did_you_mean(value, known))

    for name, p in purposes.items():
        basis_v = _dict(p).get("basis")
        if isinstance(basis_v, str) and basis_v not in ALL_BASIS_IDS:
            yield Problem(("purposes", name, "basis"), f"unknown legal basis {basis_v!r}",
                          did_you_mean(basis_v, ALL_BASIS_IDS))

    for src, cols in fields.items():
        if src not in sources:
            yield Problem(("fields", src), f"fields declared for undeclared source {src!r}",
                          did_you_mean(src, sources) if sources else "declare it under `sources:`",
                          on_key=True)
        for col, decl in _dict(cols).items():
            d = _dict(decl)
            yield from category(("fields", src, col, "category"), d.get("category"))
            for i, pur in enumerate(_list(d.get("purposes"))):
                yield from purpose(("fields", src, col, "purposes", i), pur)

    for name, s in sources.items():
        sd = _dict(s)
        declared = _dict(fields.get(name))
        for role in ("key", "user", "time"):
            role_col = sd.get(role)
            if isinstance(role_col, str) and declared and role_col not in declared:
                yield Problem(("sources", name, role),
                              f"{role} column {role_col!r} of source {name!r} is not declared "
                              f"under `fields: {name}:`", did_you_mean(role_col, declared))
        if sd.get("format") == "table" and not sd.get("url"):
            yield Problem(("sources", name), "format `table` needs `url` (a SQLAlchemy URL)")
        if sd.get("format") in {"csv", "parquet", "jsonl"} and not sd.get("path"):
            yield Problem(("sources", name), "a file source needs `path` (a file or glob)")

    for i, r in enumerate(recipients):
        rd = _dict(r)
        for j, pur in enumerate(_list(rd.get("purposes"))):
            yield from purpose(("recipients", i, "purposes", j), pur)
        for j, f in enumerate(_list(rd.get("fields"))):
            yield from field_ref(("recipients", i, "fields", j), f)

    for i, rel in enumerate(_list(doc.get("releases"))):
        reld = _dict(rel)
        for j, f in enumerate(_list(reld.get("fields"))):
            yield from field_ref(("releases", i, "fields", j), f)
        rec = reld.get("recipient")
        if isinstance(rec, str) and rec not in recipient_names:
            yield Problem(("releases", i, "recipient"),
                          f"recipient {rec!r} is not declared under `recipients:`",
                          did_you_mean(rec, {str(n) for n in recipient_names if n}))

    for i, perm in enumerate(_list(doc.get("permissions"))):
        pd = _dict(perm)
        for j, pur in enumerate(_list(pd.get("purposes"))):
            yield from purpose(("permissions", i, "purposes", j), pur)
        yield from category(("permissions", i, "category"), pd.get("category"))

    consent = _dict(doc.get("consent"))
    for i, sep in enumerate(_list(consent.get("separate"))):
        sd = _dict(sep)
        yield from purpose(("consent", "separate", i, "purpose"), sd.get("purpose"))
        for j, c in enumerate(_list(sd.get("categories"))):
            yield from category(("consent", "separate", i, "categories", j), c)
        rec = sd.get("recipient")
        if isinstance(rec, str) and rec not in recipient_names:
            yield Problem(("consent", "separate", i, "recipient"),
                          f"recipient {rec!r} is not declared under `recipients:`",
                          did_you_mean(rec, {str(n) for n in recipient_names if n}))

    notice = _dict(doc.get("notice"))
    for i, v in enumerate(_list(notice.get("history"))):
        vd = _dict(v)
        for j, pur in enumerate(_list(vd.get("purposes"))):
            yield from purpose(("notice", "history", i, "purposes", j), pur)
        for j, c in enumerate(_list(vd.get("categories"))):
            yield from category(("notice", "history", i, "categories", j), c)

    tag_names = [t.get("name") for t in _list(doc.get("tags")) if isinstance(t, dict)]
    seen: set[Any] = set()
    for i, t in enumerate(_list(doc.get("tags"))):
        td = _dict(t)
        if td.get("name") in seen:
            yield Problem(("tags", i, "name"), f"tag {td.get('name')!r} is declared twice")
        seen.add(td.get("name"))
        yield from purpose(("tags", i, "purpose"), td.get("purpose"))
        yield from category(("tags", i, "infers"), td.get("infers"))
        tag_src = td.get("source")
        if isinstance(tag_src, str) and tag_src not in sources:
            yield Problem(("tags", i, "source"), f"tag source {tag_src!r} is not declared",
                          did_you_mean(tag_src, sources))
        kind = td.get("kind")
        if kind == "descriptive" and not tag_src:
            yield Problem(("tags", i), "a descriptive tag needs `source`")
        if kind in {"descriptive", "derived"} and not td.get("value"):
            yield Problem(("tags", i), f"a {kind} tag needs `value` (a SQL expression)")
        if kind == "predictive" and not td.get("model"):
            yield Problem(("tags", i), "a predictive tag needs `model`")

    apps = _dict(doc.get("applications"))
    for app_name, app in apps.items():
        ad = _dict(app)
        yield from purpose(("applications", app_name, "purpose"), ad.get("purpose"))
        for j, tag in enumerate(_list(ad.get("tags"))):
            if tag not in tag_names:
                yield Problem(("applications", app_name, "tags", j), f"unknown tag {tag!r}",
                              did_you_mean(str(tag), [str(n) for n in tag_names]))
        for j, rec in enumerate(_list(ad.get("recipients"))):
            if rec not in recipient_names:
                yield Problem(("applications", app_name, "recipients", j),
                              f"recipient {rec!r} is not declared under `recipients:`")
