"""YAML with positions: plain Python data plus the line and column of every key and value.

PyYAML's composer keeps marks on every node; we build the data ourselves from the node tree
so each path (tuple of keys and indices) maps to where it was written. Duplicate keys are
reported instead of silently keeping the last one.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import yaml

Path = tuple[str | int, ...]


@dataclass
class Located:
    data: Any
    #: path -> (line, column) of the value, 1-based
    values: dict[Path, tuple[int, int]] = field(default_factory=dict)
    #: path -> (line, column) of the mapping key that introduces the value, 1-based
    keys: dict[Path, tuple[int, int]] = field(default_factory=dict)
    duplicates: list[tuple[Path, tuple[int, int]]] = field(default_factory=list)

    def where(self, path: Path, *, key: bool = False) -> tuple[int, int]:
        """Best position for ``path``: the key or value itself, else the nearest parent."""
        p = tuple(path)
        while True:
            table = self.keys if key else self.values
            if p in table:
                return table[p]
            if p in self.values:
                return self.values[p]
            if not p:
                return (1, 1)
            p = p[:-1]


def _mark(node: yaml.Node) -> tuple[int, int]:
    return (node.start_mark.line + 1, node.start_mark.column + 1)


def load_located(text: str) -> Located:
    """Parse one YAML document; raise ``yaml.YAMLError`` on syntax errors."""
    loader = yaml.SafeLoader(text)
    try:
        node = loader.get_single_node()
        out = Located(None)
        if node is None:
            return out
        out.data = _build(node, (), out, loader)
        return out
    finally:
        loader.dispose()


def _build(node: yaml.Node, path: Path, out: Located, loader: yaml.SafeLoader) -> Any:
    out.values[path] = _mark(node)
    if isinstance(node, yaml.MappingNode):
        result: dict[Any, Any] = {}
        for key_node, value_node in node.value:
            key = loader.construct_object(key_node, deep=True)
            if not isinstance(key, str | int | float | bool) and key is not None:
                key = str(key)
            k = key if isinstance(key, str) else str(key)
            child = (*path, k)
            if k in result:
                out.duplicates.append((child, _mark(key_node)))
            out.keys[child] = _mark(key_node)
            result[k] = _build(value_node, child, out, loader)
        return result
    if isinstance(node, yaml.SequenceNode):
        return [_build(v, (*path, i), out, loader) for i, v in enumerate(node.value)]
    return loader.construct_object(node, deep=True)
