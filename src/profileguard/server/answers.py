"""JSON answers of the hot read endpoints, encoded once.

A FastAPI endpoint that returns a ``dict[str, Any]`` has it validated against that
response model and then serialized: a walk over every tag and input in Python on each
profile read. The bodies here are built from JSON-ready parts (the kept snapshot tags,
strings, numbers), so they are encoded directly with the C encoder — or, for a profile
read, joined from the JSON text of each kept tag; the route still declares its response
model, so /docs and the schema tests see the same contract.
"""

from __future__ import annotations

import json
import math
from typing import Any

from fastapi.responses import Response


def _finite(value: Any) -> Any:
    """``value`` with NaN and infinities as null (JSON has no such numbers)."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_finite(v) for v in value]
    return value


def json_text(value: Any) -> str:
    """``value`` as compact JSON text, non-finite numbers as null (JSON has no NaN)."""
    try:
        return json.dumps(value, ensure_ascii=False, allow_nan=False, separators=(",", ":"))
    except ValueError:  # a NaN somewhere: the rare slow path
        return json.dumps(_finite(value), ensure_ascii=False, allow_nan=False,
                          separators=(",", ":"))


def json_answer(body: dict[str, Any], status: int = 200) -> Response:
    """``body`` as an ``application/json`` response (non-finite numbers become null)."""
    return text_answer(json_text(body), status)


def text_answer(text: str, status: int = 200) -> Response:
    """JSON text already encoded (e.g. assembled from kept parts) as a response."""
    return Response(text.encode("utf-8"), status_code=status, media_type="application/json")
