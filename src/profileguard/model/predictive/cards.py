"""Model cards: what a predictive tag's model is, what it was trained on, how well it did.

Predictive tags are the high-risk kind of profile (algorithm filing, explanations), so
every fitted model is described by a small card stored with the snapshot: the model,
its parameters, the training window, how much data, validation metrics, and the
features (with their personal-information categories) it used. Cards are plain data and
round-trip through JSON.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass(frozen=True)
class ModelCard:
    """A serialisable description of one fitted model."""

    model: str
    parameters: dict[str, float]
    training_window: tuple[str, str]  # ISO dates: first and last day of training data
    data_size: dict[str, int]  # e.g. {"customers": ..., "transactions": ...}
    validation: dict[str, float] = field(default_factory=dict)
    features: tuple[str, ...] = ()
    feature_categories: dict[str, str] = field(default_factory=dict)
    notes: str = ""

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["training_window"] = list(self.training_window)
        data["features"] = list(self.features)
        return data

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), ensure_ascii=False, sort_keys=True, allow_nan=True)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ModelCard:
        window = data["training_window"]
        return cls(
            model=str(data["model"]),
            parameters={str(k): float(v) for k, v in data["parameters"].items()},
            training_window=(str(window[0]), str(window[1])),
            data_size={str(k): int(v) for k, v in data["data_size"].items()},
            validation={str(k): float(v) for k, v in data.get("validation", {}).items()},
            features=tuple(str(f) for f in data.get("features", ())),
            feature_categories={
                str(k): str(v) for k, v in data.get("feature_categories", {}).items()
            },
            notes=str(data.get("notes", "")),
        )

    @classmethod
    def from_json(cls, text: str) -> ModelCard:
        loaded = json.loads(text)
        if not isinstance(loaded, dict):
            raise ValueError("a model card is a JSON object")
        return cls.from_dict(loaded)
