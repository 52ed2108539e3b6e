"""Personal-information recognizers: one module per entity type, run over whole columns.

See :mod:`profileguard.collect.recognizers.base` for the shape and the scoring, and
``docs/scanner.md`` for the list of types and formats.
"""

from profileguard.collect.recognizers.base import Match, Pattern, Recognizer
from profileguard.collect.recognizers.normalize import normalize_column, normalize_text
from profileguard.collect.recognizers.registry import (
    RECOGNIZER_CLASSES,
    category_of,
    default_recognizers,
    entity_types,
)

__all__ = [
    "RECOGNIZER_CLASSES",
    "Match",
    "Pattern",
    "Recognizer",
    "category_of",
    "default_recognizers",
    "entity_types",
    "normalize_column",
    "normalize_text",
]
