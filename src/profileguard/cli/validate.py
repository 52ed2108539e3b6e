"""``profileguard validate``: check the manifest and print every problem at once."""

from __future__ import annotations

import typer

from profileguard.cli._common import FormatOpt, ManifestOpt, console, print_json
from profileguard.errors import ProfileguardError
from profileguard.manifest import ManifestError, find_manifest, load_manifest


def validate(manifest: ManifestOpt = None, fmt: FormatOpt = "table") -> None:  # type: ignore[assignment]
    """Validate profileguard.yaml: unknown keys, types, categories, purposes, references."""
    path = manifest or find_manifest()
    if path is None:
        raise ProfileguardError("no profileguard.yaml here or in a parent; pass --manifest PATH")
    try:
        loaded = load_manifest(path)
    except ManifestError as exc:
        if fmt == "json":
            print_json({"valid": False, "file": str(path),
                        "problems": [i.as_dict() for i in exc.issues]})
            raise typer.Exit(1) from None
        console.print(f"[red]✗[/] {path}: {len(exc.issues)} problem(s)")
        for issue in exc.issues:
            console.print(f"  {issue}", highlight=False, soft_wrap=True)
        raise typer.Exit(1) from None
    m = loaded.manifest
    summary = {"valid": True, "file": str(path), "sha256": loaded.sha256,
               "sources": len(m.sources), "fields": sum(len(v) for v in m.fields.values()),
               "purposes": len(m.purposes), "tags": len(m.tags), "recipients": len(m.recipients)}
    if fmt == "json":
        print_json(summary)
        return
    console.print(f"[green]✓[/] {path} is valid: {summary['sources']} sources, "
                  f"{summary['fields']} fields, {summary['purposes']} purposes, "
                  f"{summary['tags']} tags, {summary['recipients']} recipients")


def register(app: typer.Typer) -> None:
    app.command("validate")(validate)
