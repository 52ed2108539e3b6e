"""Each person's explained tags from the attached snapshot, kept per worker.

A profile read renders every tag of the person from the snapshot (two DuckDB queries and
the explanation templates). The warehouse is attached read-only and cannot change while
a worker has it attached, so that rendering is a pure function of the person and the
language for the worker's life: it is kept in a bounded least-recently-used map and
reused. What the person decided since the build (deletions, corrections, withdrawals,
objection) is *not* kept here: :func:`profileguard.server.people.visible_profile` applies
it from the operational store on every read.
"""

from __future__ import annotations

import datetime as dt
import json
import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from profileguard.model.explain import ExplainedTag
from profileguard.server.answers import json_text

#: persons kept per worker by default (a person's tags take a few kB)
DEFAULT_CAPACITY = 4096


@dataclass(frozen=True, slots=True)
class SnapshotTag:
    """One explained tag as the snapshot holds it, kept as JSON text.

    Text, not a dict: a kept person is then a handful of objects for the garbage
    collector instead of ~165 (a full collection walks every tracked object, and a cache
    of thousands of persons as dicts made those pauses last hundreds of milliseconds), and
    a profile read joins the texts instead of encoding the tags again.
    """

    tag: str
    purpose: str
    categories: tuple[str, ...]
    #: the body as the API sends it (non-finite numbers as null)
    wire: str
    #: the body with NaN or infinities as they are, only when it holds any
    nonfinite: str | None = None

    @classmethod
    def of(cls, tag: ExplainedTag) -> SnapshotTag:
        return cls.of_body(tag.tag, tag.purpose, tuple(tag.categories), tag.as_dict())

    @classmethod
    def of_body(cls, tag: str, purpose: str, categories: tuple[str, ...],
                body: dict[str, Any]) -> SnapshotTag:
        try:
            return cls(tag, purpose, categories, _encode(body, False))
        except ValueError:  # a NaN somewhere: keep it for the pages, null on the wire
            text = _encode(body, True)
            return cls(tag, purpose, categories, json_text(json.loads(text)), text)

    def body(self) -> dict[str, Any]:
        """A fresh dict of the body (dates as ISO text, decimals as numbers)."""
        found: dict[str, Any] = json.loads(self.nonfinite or self.wire)
        return found


def _json_value(value: object) -> object:
    """What FastAPI's encoder would make of a value JSON has no form for."""
    if isinstance(value, dt.date | dt.datetime | dt.time):
        return value.isoformat()
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, set | frozenset):
        return list(value)
    return str(value)


def _encode(body: dict[str, Any], allow_nan: bool) -> str:
    """``body`` as compact JSON text through the C encoder (dates in a tag's inputs, also
    inside lists, become ISO text); raises ValueError on NaN unless ``allow_nan``."""
    return json.dumps(body, default=_json_value, ensure_ascii=False, allow_nan=allow_nan,
                      separators=(",", ":"))


class ExplainedProfiles:
    """A bounded LRU of ``(pid, lang) -> explained tags`` with hit and miss counts."""

    def __init__(self, capacity: int = DEFAULT_CAPACITY) -> None:
        if capacity < 0:
            raise ValueError(f"profile cache capacity must be 0 or more, got {capacity}")
        self.capacity = capacity
        self.hits = 0
        self.misses = 0
        self._items: OrderedDict[tuple[str, str], tuple[SnapshotTag, ...]] = OrderedDict()
        self._lock = threading.Lock()

    def kept(self, pid: str, lang: str) -> tuple[SnapshotTag, ...] | None:
        """The person's tags if they are kept (counted as a hit), else None."""
        key = (pid, lang)
        with self._lock:
            found = self._items.get(key)
            if found is not None:
                self._items.move_to_end(key)
                self.hits += 1
            return found

    def get(self, pid: str, lang: str, render: Callable[[], list[ExplainedTag]]
            ) -> tuple[SnapshotTag, ...]:
        """The person's tags; ``render`` runs only when they are not kept yet."""
        found = self.kept(pid, lang)
        if found is not None:
            return found
        with self._lock:
            self.misses += 1
        key = (pid, lang)
        tags = tuple(SnapshotTag.of(t) for t in render())  # outside the lock: DuckDB reads
        if self.capacity:
            with self._lock:
                self._items[key] = tags
                while len(self._items) > self.capacity:
                    self._items.popitem(last=False)
        return tags

    def __len__(self) -> int:
        return len(self._items)

    def stats(self) -> dict[str, int]:
        return {"persons": len(self._items), "capacity": self.capacity, "hits": self.hits,
                "misses": self.misses}
