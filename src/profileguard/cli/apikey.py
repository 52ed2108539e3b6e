"""``profileguard apikey create|list|revoke``: staff API keys, stored hashed, with roles.

The key is printed once at creation and never again (only its SHA-256 is stored).
"""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from profileguard.cli._common import (
    Format,
    FormatOpt,
    ManifestOpt,
    StateUrlOpt,
    console,
    err_console,
    print_json,
)

apikey_app = typer.Typer(help="Staff API keys (roles: platform_admin, merchant, dpo, analyst).",
                         no_args_is_help=True)


@apikey_app.command("create")
def create(
    name: Annotated[str, typer.Argument(help="who or what the key is for")],
    role: Annotated[str, typer.Option("--role", help="platform_admin, merchant, dpo or analyst")],
    shop: Annotated[str | None, typer.Option("--shop", help="merchant keys: the shop_id")] = None,
    purpose: Annotated[list[str] | None, typer.Option(
        "--purpose", help="merchant keys: a purpose it is authorized for (repeat)")] = None,
    manifest: ManifestOpt = None,
    state_url: StateUrlOpt = None,
    output_format: FormatOpt = Format.table,
) -> None:
    """Create a key and print it (shown once)."""
    from profileguard.pipeline.services import open_services
    from profileguard.server.keys import create_key

    with open_services(manifest, state_url=state_url) as svc:
        key, plaintext = create_key(svc.store, svc.ledger, name, role, shop_id=shop,
                                    purposes=tuple(purpose or ()))
    if output_format is Format.json:
        print_json({"id": key.id, "name": key.name, "role": key.role, "shop_id": key.shop_id,
                    "purposes": list(key.purposes), "key": plaintext})
        return
    err_console.print(f"key {key.id} ({key.role}) created; it is shown once, store it now:")
    typer.echo(plaintext)


@apikey_app.command("list")
def list_(manifest: ManifestOpt = None, state_url: StateUrlOpt = None,
          output_format: FormatOpt = Format.table) -> None:
    """List keys (never the keys themselves)."""
    from profileguard.pipeline.services import open_services
    from profileguard.server.keys import list_keys

    with open_services(manifest, state_url=state_url) as svc:
        keys = list_keys(svc.store)
    if output_format is Format.json:
        print_json(keys)
        return
    table = Table("id", "name", "role", "shop", "purposes", "created", "revoked")
    for k in keys:
        table.add_row(str(k["id"]), str(k["name"]), str(k["role"]), str(k["shop_id"] or ""),
                      ", ".join(k["purposes"]),  # type: ignore[arg-type]
                      str(k["created_at"])[:19], str(k["revoked_at"] or "")[:19])
    console.print(table)


@apikey_app.command("revoke")
def revoke(key_id: Annotated[int, typer.Argument(help="the key's id (see list)")],
           manifest: ManifestOpt = None, state_url: StateUrlOpt = None) -> None:
    """Revoke a key (takes effect on every worker within seconds)."""
    from profileguard.pipeline.services import open_services
    from profileguard.server.keys import revoke_key

    with open_services(manifest, state_url=state_url) as svc:
        revoke_key(svc.store, svc.ledger, key_id)
    err_console.print(f"key {key_id} revoked")


def register(app: typer.Typer) -> None:
    app.add_typer(apikey_app, name="apikey")
