"""The de-identification recipe: a YAML file mapping columns to transforms.

```yaml
unlisted: keep            # keep | drop: columns the recipe does not name
columns:
  user_id: {transform: pseudonymize, recipient: partner_a}
  phone:   {transform: mask, preset: phone}
  ip:      {transform: truncate_ip}
  age:     {transform: generalize, kind: age, edges: [0, 18, 30, 45, 60]}
  address: {transform: generalize, kind: address}
  remark:  {transform: suppress}
  email:   {transform: drop}
```

Every validation error names the recipe file and the line of the offending entry, and
says what is allowed, so a recipe is fixed without guessing.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow as pa
import yaml
from yaml.constructor import SafeConstructor

from profileguard.errors import ProfileguardError
from profileguard.process import transforms as tf
from profileguard.process.pseudonym import Pseudonymizer

#: transform → option → allowed Python types (bool is excluded from numbers below)
OPTIONS: dict[str, dict[str, tuple[type, ...]]] = {
    "pseudonymize": {"recipient": (str,)},
    "mask": {"preset": (str,), "keep_first": (int,), "keep_last": (int,), "char": (str,)},
    "truncate_ip": {"v4_prefix": (int,), "v6_prefix": (int,)},
    "generalize": {
        "kind": (str,),
        "edges": (list,),
        "to": (str,),
        "cell": (int, float),
        "width": (int, float),
    },
    "suppress": {"with": (str, type(None))},
    "drop": {},
}
KINDS = ("age", "date", "gps", "address", "number")


@dataclass(frozen=True)
class Step:
    """One column's transform, with the recipe line it came from."""

    column: str
    transform: str
    options: dict[str, Any]
    line: int


@dataclass
class Recipe:
    path: str
    steps: list[Step] = field(default_factory=list)
    unlisted: str = "keep"

    @property
    def needs_key(self) -> bool:
        return any(s.transform == "pseudonymize" for s in self.steps)


def _err(path: str, line: int, msg: str) -> ProfileguardError:
    return ProfileguardError(f"{path}:{line}: {msg}")


def _value(node: yaml.Node) -> Any:
    return SafeConstructor().construct_object(node, deep=True)


def _check_options(path: str, line: int, column: str, transform: str, opts: dict[str, Any]) -> None:
    allowed = OPTIONS[transform]
    for name, value in opts.items():
        if name not in allowed:
            names = ", ".join(sorted(allowed)) or "none"
            raise _err(
                path,
                line,
                f"column {column!r}: {transform} has no option {name!r} (allowed: {names})",
            )
        types = allowed[name]
        if isinstance(value, bool) or not isinstance(value, types):
            kinds = " or ".join("null" if t is type(None) else t.__name__ for t in types)
            raise _err(
                path, line, f"column {column!r}: option {name!r} must be {kinds}, got {value!r}"
            )
    if transform == "mask" and "preset" in opts and opts["preset"] not in tf.MASK_PRESETS:
        raise _err(
            path,
            line,
            f"column {column!r}: unknown mask preset {opts['preset']!r} "
            f"(allowed: {', '.join(tf.MASK_PRESETS)})",
        )
    if transform == "generalize":
        kind = opts.get("kind")
        if kind not in KINDS:
            raise _err(
                path, line, f"column {column!r}: generalize needs kind: one of {', '.join(KINDS)}"
            )
        if kind == "date" and opts.get("to", "month") not in ("month", "year"):
            raise _err(path, line, f"column {column!r}: generalize date 'to' must be month or year")
        if kind == "number" and ("width" in opts) == ("edges" in opts):
            raise _err(
                path,
                line,
                f"column {column!r}: generalize number needs exactly one of width or edges",
            )
        edges = opts.get("edges")
        if edges is not None and (
            not edges
            or not all(isinstance(e, int | float) and not isinstance(e, bool) for e in edges)
            or list(edges) != sorted(edges)
        ):
            raise _err(
                path, line, f"column {column!r}: edges must be an increasing list of numbers"
            )


def parse_recipe(text: str, path: str = "<recipe>") -> Recipe:
    """Parse and validate recipe text; errors carry ``path:line``."""
    try:
        root = yaml.compose(text)
    except yaml.YAMLError as exc:
        # the construct being parsed (an unclosed bracket) beats where parsing gave up
        mark = getattr(exc, "context_mark", None) or getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else 1
        raise _err(path, line, f"not valid YAML: {getattr(exc, 'problem', exc)}") from exc
    if not isinstance(root, yaml.MappingNode):
        raise _err(path, 1, "a recipe is a mapping with a 'columns' key")
    recipe = Recipe(path=path)
    columns_node: yaml.MappingNode | None = None
    for key_node, value_node in root.value:
        key, line = _value(key_node), key_node.start_mark.line + 1
        if key == "columns":
            if not isinstance(value_node, yaml.MappingNode):
                raise _err(path, line, "'columns' must map column names to transforms")
            columns_node = value_node
        elif key == "unlisted":
            if _value(value_node) not in ("keep", "drop"):
                raise _err(path, line, "'unlisted' must be keep or drop")
            recipe.unlisted = str(_value(value_node))
        else:
            raise _err(path, line, f"unknown key {key!r} (allowed: columns, unlisted)")
    if columns_node is None:
        raise _err(path, 1, "the recipe has no 'columns' mapping")
    for key_node, value_node in columns_node.value:
        column, line = str(_value(key_node)), key_node.start_mark.line + 1
        spec = _value(value_node)
        if isinstance(spec, str):
            spec = {"transform": spec}
        if not isinstance(spec, dict) or "transform" not in spec:
            raise _err(
                path,
                line,
                f"column {column!r}: give a mapping with 'transform' (one of {', '.join(OPTIONS)})",
            )
        opts = dict(spec)
        transform = opts.pop("transform")
        if transform not in OPTIONS:
            raise _err(
                path,
                line,
                f"column {column!r}: unknown transform {transform!r} "
                f"(allowed: {', '.join(OPTIONS)})",
            )
        _check_options(path, line, column, transform, opts)
        recipe.steps.append(Step(column, str(transform), opts, line))
    return recipe


def load_recipe(path: str | Path) -> Recipe:
    p = Path(path)
    if not p.is_file():
        raise ProfileguardError(f"{p}: recipe file not found")
    return parse_recipe(p.read_text(encoding="utf-8"), str(p))


def _generalize(column: pa.ChunkedArray, opts: dict[str, Any]) -> pa.Array:
    kind = opts["kind"]
    if kind == "age":
        return tf.generalize_age(column, opts.get("edges", tf.DEFAULT_AGE_EDGES))
    if kind == "date":
        return tf.generalize_date(column, opts.get("to", "month"))
    if kind == "gps":
        return tf.generalize_gps(column, float(opts.get("cell", tf.CITY_CELL_DEGREES)))
    if kind == "address":
        return tf.generalize_address(column)
    width = opts.get("width")
    return tf.generalize_number(
        column, width=float(width) if width else None, edges=opts.get("edges")
    )


def apply_recipe(table: pa.Table, recipe: Recipe, key: bytes | None = None) -> pa.Table:
    """Apply ``recipe`` to ``table``; ``key`` is required when the recipe pseudonymizes."""
    if recipe.needs_key and key is None:
        raise ProfileguardError(
            f"{recipe.path}: the recipe pseudonymizes columns, so a key is "
            "required (--key-file or PROFILEGUARD_PSEUDONYM_KEY)"
        )
    named = {s.column for s in recipe.steps}
    out: dict[str, pa.Array | pa.ChunkedArray] = {}
    for step in recipe.steps:
        if step.column not in table.column_names:
            raise _err(
                recipe.path,
                step.line,
                f"column {step.column!r} is not in the data "
                f"(columns: {', '.join(table.column_names)})",
            )
    steps = {s.column: s for s in recipe.steps}
    for name in table.column_names:
        column = table.column(name)
        if name not in named:
            if recipe.unlisted == "keep":
                out[name] = column
            continue
        step = steps[name]
        try:
            result = _run(step, column, key)
        except ProfileguardError as exc:
            raise _err(recipe.path, step.line, f"column {name!r}: {exc}") from exc
        if result is not None:
            out[name] = result
    return pa.table(out)


def _run(step: Step, column: pa.ChunkedArray, key: bytes | None) -> pa.Array | None:
    o = step.options
    runners: dict[str, Callable[[], pa.Array | None]] = {
        "pseudonymize": lambda: Pseudonymizer(key or b"", o.get("recipient")).column(column),
        "mask": lambda: (
            tf.mask(column, *tf.MASK_PRESETS[o["preset"]], o.get("char", "*"))
            if "preset" in o
            else tf.mask(column, o.get("keep_first", 3), o.get("keep_last", 4), o.get("char", "*"))
        ),
        "truncate_ip": lambda: tf.truncate_ip(
            column, o.get("v4_prefix", 24), o.get("v6_prefix", 48)
        ),
        "generalize": lambda: _generalize(column, o),
        "suppress": lambda: tf.suppress(column, o.get("with")),
        "drop": lambda: None,
    }
    return runners[step.transform]()
