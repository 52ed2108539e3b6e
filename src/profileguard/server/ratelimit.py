"""A sliding-window rate limit on subject endpoints, per person and per client address.

Counts live in each worker's memory: with N workers a client gets at most N times the
limit, which is what the limit is for (stopping scripted scraping and brute force, not
metering). Keeping counters in the operational store would add a write to every read.
"""

from __future__ import annotations

import threading
import time
from collections import deque


class RateLimiter:
    def __init__(self, per_minute: int, window_s: float = 60.0) -> None:
        self.per_minute = per_minute
        self.window_s = window_s
        self._hits: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def allow(self, key: str) -> tuple[bool, int]:
        """Whether one more request from ``key`` is allowed; and seconds to wait if not."""
        now = time.monotonic()
        with self._lock:
            hits = self._hits.setdefault(key, deque())
            while hits and now - hits[0] > self.window_s:
                hits.popleft()
            if len(hits) >= self.per_minute:
                return False, int(self.window_s - (now - hits[0])) + 1
            hits.append(now)
            if len(self._hits) > 50_000:
                self._hits = {k: v for k, v in self._hits.items() if v and now - v[-1] <
                              self.window_s}
            return True, 0
