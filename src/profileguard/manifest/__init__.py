"""The privacy-as-code manifest: models, loader with positioned errors, checks."""

from profileguard.manifest.durations import Duration, parse_duration
from profileguard.manifest.errors import ManifestError, ManifestIssue
from profileguard.manifest.loader import (
    MANIFEST_NAME,
    LoadedManifest,
    find_manifest,
    load_manifest,
    parse_manifest,
)
from profileguard.manifest.model import FieldDecl, Manifest, Purpose, Recipient, Source, Tag

__all__ = [
    "MANIFEST_NAME",
    "Duration",
    "FieldDecl",
    "LoadedManifest",
    "Manifest",
    "ManifestError",
    "ManifestIssue",
    "Purpose",
    "Recipient",
    "Source",
    "Tag",
    "find_manifest",
    "load_manifest",
    "parse_duration",
    "parse_manifest",
]
