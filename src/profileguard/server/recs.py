"""Recommendations served: one recommender (item model built once) per worker."""

from __future__ import annotations

from typing import Any

from profileguard.apply.guards import Mode
from profileguard.apply.recommend import Recommender
from profileguard.server.state import ServerState

MAX_N = 50


def recommender(state: ServerState) -> Recommender:
    with state.lock:
        rec = state.cache.get("recommender")
        if rec is None:
            rec = Recommender(state.svc)
            _ = rec.model  # build the item model now, under the lock, once
            state.cache["recommender"] = rec
    out: Recommender = rec
    return out


def recommend_for(state: ServerState, pid: str, mode: str, n: int) -> dict[str, Any]:
    rec = recommender(state)
    chosen: Mode = "non_personalized" if mode == "non_personalized" else "personalized"
    result = rec.recommend(pid, max(1, min(n, MAX_N)), chosen)
    return result.as_dict()
