"""Where campaign messages go once every guard passed: a pluggable sink.

A sink receives only messages the guards let through, addressed by pseudonymous id (the
delivery service resolves addresses on its side). The default :class:`OutboxSink` appends
one JSON line per message to ``.profileguard/outbox/<campaign>.jsonl`` in the workspace.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Protocol


@dataclass(frozen=True)
class Outgoing:
    campaign: str
    to: str  # pseudonymous user id
    channel: str
    kind: str
    text: str  # rendered: sender identity and unsubscribe included
    send_at: str  # ISO 8601 with offset


class Sink(Protocol):
    def deliver(self, campaign: str, messages: Sequence[Outgoing]) -> int: ...


class OutboxSink:
    """Appends messages to a JSON-lines outbox file per campaign."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory

    def path(self, campaign: str) -> Path:
        slug = re.sub(r"[^A-Za-z0-9_-]+", "_", campaign).strip("_") or "campaign"
        return self.directory / f"{slug}.jsonl"

    def deliver(self, campaign: str, messages: Sequence[Outgoing]) -> int:
        self.directory.mkdir(parents=True, exist_ok=True)
        with self.path(campaign).open("a", encoding="utf-8") as fh:
            for m in messages:
                fh.write(json.dumps(asdict(m), ensure_ascii=False) + "\n")
        return len(messages)
