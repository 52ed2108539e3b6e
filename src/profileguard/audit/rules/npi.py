"""Necessary-PI rules for apps (常见类型移动互联网应用程序必要个人信息范围规定, 2021)."""

from __future__ import annotations

from collections.abc import Iterator

from profileguard.audit.context import AuditContext
from profileguard.audit.rule import Hit, rule
from profileguard.audit.rules.lookups import NPI_SHOPPING_NECESSARY, key_columns, personal_fields
from profileguard.taxonomy import covers


def _necessary(category: str) -> bool:
    return any(covers(n, category) for n in NPI_SHOPPING_NECESSARY)


@rule("NPI-4-necessary-pi", law="NPI", article="4", stage="collect", severity="high",
      en="Online shopping requires PI beyond the necessary scope",
      zh="网上购物类App强制收集必要个人信息范围以外的信息")
def necessary_pi(ctx: AuditContext) -> Iterator[Hit]:
    """*What it checks*: for ``app_category: online_shopping``, every required field and
    permission is within the necessary scope: registered mobile number; consignee name,
    address and phone; payment time, amount and channel.

    *Why it matters*: NPI 4 (online shopping): only those items are necessary; anything
    else (location, contacts, camera, ID number …) may not be a condition for buying.

    *Example*: ``permissions: [{name: contacts, required: true}]`` or a required
    ``id_number``.

    *Fix*: ``required: false`` for everything else, and ask for it only when used.
    """
    m = ctx.manifest
    if m.organization.app_category != "online_shopping":
        return
    for src, col, decl in personal_fields(m):
        if decl.required and col not in key_columns(m, src) and not _necessary(decl.category):
            yield Hit(f"{src}.{col} ({decl.category}) is required to buy but is not necessary",
                      [ctx.at("fields", src, col, "required")])
    for i, perm in enumerate(m.permissions):
        if perm.required:
            yield Hit(f"permission {perm.name} is required to buy but is not necessary",
                      [ctx.at("permissions", i, "required")])
