"""PIPL 73: data released as "anonymized" must not be re-identifiable nor restorable."""

from __future__ import annotations

from collections.abc import Iterator

from profileguard.audit.context import AuditContext
from profileguard.audit.finding import Evidence
from profileguard.audit.rule import Hit, rule
from profileguard.taxonomy.categories import covers, is_direct_identifier

#: categories that are a per-person id even when not a direct identifier
STABLE_ID_CATEGORIES = ("user.unique_id", "user.device.device_id", "user.device.cookie_id")
#: transforms that keep a value per person stable (the key, or a dictionary of inputs, links)
LINKABLE_TRANSFORMS = ("pseudonymize", "hash")


@rule("PIPL-73-anonymized-release", law="PIPL", article="73", stage="process",
      severity="high", en="Data released as anonymized can still be re-identified",
      zh="声称匿名化的数据仍可重新识别或复原")
def anonymized_release(ctx: AuditContext) -> Iterator[Hit]:
    """*What it checks*: every ``releases`` entry with ``anonymized: true`` has no stable
    per-person id (``stable_id``), no re-link key or mapping kept by anyone
    (``relink_key``), and releases no field that is a direct identifier, a user or device
    id, or a pseudonymized or hashed value.

    *Why it matters*: PIPL 73: de-identified information (去标识化) cannot identify a
    person without extra information, but it is still personal information; only
    anonymized information (匿名化), which can neither be re-identified nor restored,
    falls outside the law. A release with a stable id or a kept key is de-identified:
    notice, legal basis, separate consent for provision (PIPL 23) and security duties all
    still apply.

    *Example*: ``releases: [{name: buyers_for_partner, anonymized: true, fields:
    [orders.user_id, orders.paid_amount]}]`` — ``orders.user_id`` is the keyed pseudonym,
    which the workspace key re-links to the person.

    *Fix*: drop the ids and destroy any re-link key, generalize the rest until
    ``profileguard risk`` passes for the release type, and keep ``anonymized: true``; or
    set ``anonymized: false`` and treat the release as personal information (basis,
    separate consent, contract with the recipient).
    """
    m = ctx.manifest
    for i, rel in enumerate(m.releases):
        if not rel.anonymized:
            continue
        reasons: list[str] = []
        evidence: list[Evidence] = [ctx.at("releases", i, "anonymized")]
        if rel.stable_id:
            reasons.append("it holds a stable per-person id")
            evidence.append(ctx.at("releases", i, "stable_id"))
        if rel.relink_key:
            reasons.append("a key or mapping that restores identity is kept")
            evidence.append(ctx.at("releases", i, "relink_key"))
        for j, ref in enumerate(rel.fields):
            src, _, col = ref.partition(".")
            decl = m.field(src, col)
            if decl is None or decl.transform == "drop":
                continue
            if decl.transform in LINKABLE_TRANSFORMS:
                why = f"{ref} is {decl.transform}d, a stable value per person"
            elif is_direct_identifier(decl.category) or any(
                    covers(c, decl.category) for c in STABLE_ID_CATEGORIES):
                why = f"{ref} is an identifier ({decl.category})"
            else:
                continue
            reasons.append(why)
            evidence.append(ctx.at("releases", i, "fields", j, detail=why))
        if reasons:
            yield Hit(f"release {rel.name} is called anonymized but " + "; ".join(reasons)
                      + ": it is de-identified personal information (PIPL 73)", evidence)
