"""Load ``profileguard.yaml``: YAML with positions → schema check → cross-reference checks.

Every problem of the file is collected and raised at once as a :class:`ManifestError`
whose lines read ``file:line:column: path: what is wrong; what would be valid``.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ValidationError

from profileguard.manifest.checks import check, did_you_mean
from profileguard.manifest.errors import ManifestError, ManifestIssue
from profileguard.manifest.model import Manifest
from profileguard.manifest.yamlpos import Located, load_located

MANIFEST_NAME = "profileguard.yaml"


@dataclass
class LoadedManifest:
    """A valid manifest with where it came from and where each part was written."""

    manifest: Manifest
    path: Path
    located: Located
    sha256: str

    @property
    def root(self) -> Path:
        return self.path.parent

    def line_of(self, *path: str | int) -> int:
        return self.located.where(tuple(path), key=True)[0]


def _dotted(path: tuple[str | int, ...]) -> str:
    out = ""
    for p in path:
        out += f"[{p}]" if isinstance(p, int) else (f".{p}" if out else str(p))
    return out or "(document)"


def _allowed_keys(loc: tuple[str | int, ...]) -> list[str]:
    """Field names of the model that sits at ``loc`` (for "did you mean" on unknown keys)."""
    model: Any = Manifest
    for part in loc:
        if isinstance(part, int):
            continue
        if isinstance(model, type) and issubclass(model, BaseModel):
            info = model.model_fields.get(part)
            if info is None:
                return []
            model = _inner_model(info.annotation)
        elif model == "dict":
            model = "dict-value"
        else:
            return []
    if isinstance(model, type) and issubclass(model, BaseModel):
        return list(model.model_fields)
    return []


def _inner_model(annotation: Any) -> Any:
    import typing

    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    if origin in (list, tuple):
        return _inner_model(args[0]) if args else None
    if origin is dict:
        return _inner_model(args[1]) if len(args) == 2 else None
    for arg in args:  # Optional / Union
        inner = _inner_model(arg)
        if inner is not None:
            return inner
    return None


def _schema_issues(exc: ValidationError, located: Located, file: str) -> list[ManifestIssue]:
    issues = []
    for err in exc.errors():
        loc = tuple(err["loc"])
        kind = err["type"]
        if kind == "extra_forbidden":
            key = str(loc[-1])
            line, col = located.where(loc, key=True)
            allowed = _allowed_keys(loc[:-1])
            hint = did_you_mean(key, allowed) if allowed else ""
            issues.append(ManifestIssue(file, line, col, _dotted(loc),
                                        f"unknown key {key!r}", hint))
            continue
        line, col = located.where(loc)
        msg = err["msg"]
        if kind == "missing":
            line, col = located.where(loc[:-1])
            msg = f"required key {loc[-1]!r} is missing"
        issues.append(ManifestIssue(file, line, col, _dotted(loc), msg))
    return issues


def parse_manifest(text: str, file: str = MANIFEST_NAME) -> tuple[Manifest, Located]:
    """Validate manifest text; raise :class:`ManifestError` with every problem found."""
    try:
        located = load_located(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
        line = mark.line + 1 if mark else 1
        col = mark.column + 1 if mark else 1
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise ManifestError([ManifestIssue(file, line, col, "(document)",
                                           f"not valid YAML: {problem}")]) from None
    if not isinstance(located.data, dict):
        raise ManifestError([ManifestIssue(
            file, 1, 1, "(document)", "the manifest must be a mapping",
            "start with `organization:`, `sources:`, `fields:` … (see `profileguard init`)")])
    issues: list[ManifestIssue] = []
    for path, (line, col) in located.duplicates:
        issues.append(ManifestIssue(file, line, col, _dotted(path),
                                    f"duplicate key {path[-1]!r}", "each key may appear once"))
    manifest: Manifest | None = None
    try:
        manifest = Manifest.model_validate(located.data)
    except ValidationError as exc:
        issues.extend(_schema_issues(exc, located, file))
    for problem in check(located.data):
        line, col = located.where(problem.path, key=problem.on_key)
        issues.append(ManifestIssue(file, line, col, _dotted(problem.path), problem.message,
                                    problem.hint))
    if issues or manifest is None:
        raise ManifestError(issues)
    return manifest, located


def load_manifest(path: str | Path) -> LoadedManifest:
    p = Path(path)
    try:
        raw = p.read_bytes()
    except OSError as exc:
        raise ManifestError([ManifestIssue(str(p), 1, 1, "(document)",
                                           f"cannot read the manifest: {exc.strerror}")]) from None
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise ManifestError([ManifestIssue(str(p), line, 1, "(document)",
                                           "not UTF-8 text", "save the manifest as UTF-8")]) from None
    manifest, located = parse_manifest(text, str(p))
    return LoadedManifest(manifest, p.resolve(), located, hashlib.sha256(raw).hexdigest())


def find_manifest(start: Path | None = None) -> Path | None:
    """``profileguard.yaml`` in ``start`` or its nearest parent, as git finds its repository."""
    here = (start or Path.cwd()).resolve()
    for d in (here, *here.parents):
        candidate = d / MANIFEST_NAME
        if candidate.is_file():
            return candidate
    return None
