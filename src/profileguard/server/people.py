"""A person's profile as served: the snapshot with their later decisions applied.

The warehouse is read-only while serving, so what a person decided since the last build
is applied here, on every read: a deleted tag is not shown or used, a corrected tag shows
the person's value, a withdrawn purpose hides its tags, and an objection to profiling
hides them all. The next build makes the warehouse agree.

Staff reads state a purpose, see only the tags that serve it, and are written to the
ledger (who, which person, which purpose, which tags) before the answer leaves.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from fastapi.encoders import jsonable_encoder

from profileguard.model.explain import KIND_LABEL, profile_of
from profileguard.pipeline.services import Services
from profileguard.server.errors import ApiError
from profileguard.server.keys import StaffKey
from profileguard.store import tables as t
from profileguard.store.engine import quote_ident as q


def known(svc: Services, user: str) -> str:
    """The pid of ``user`` (own id or pid) when the operational store knows them; else 404."""
    if user:  # one lookup: by pseudonymous id or by the person's own id
        with svc.store.read() as conn:
            found = conn.execute(sa.select(t.identity_map.c.user_pid).where(sa.or_(
                t.identity_map.c.user_pid == user, t.identity_map.c.user_id == user))).first()
        if found is not None:
            return str(found[0])
    raise ApiError(404, "no such person (unknown id, or erased)")


def visible_profile(svc: Services, pid: str, lang: str = "zh",
                    purpose: str | None = None) -> list[dict[str, Any]]:
    """The person's tags as they stand now (decisions since the build applied)."""
    if svc.book.preference(pid).objected:
        return []
    active = svc.book.overrides(pid)
    deleted = {o.tag for o in active if o.action == "delete"}
    corrected = {o.tag: o.value for o in active if o.action == "correct"}
    allowed: dict[str, bool] = {}
    out = []
    for tag in profile_of(svc.engine, svc.manifest, svc.catalog, pid, lang):
        if tag.tag in deleted or (purpose is not None and tag.purpose != purpose):
            continue
        if tag.purpose not in allowed:
            allowed[tag.purpose] = svc.book.allows(pid, tag.purpose,
                                                   categories=tag.categories).allowed
        if not allowed[tag.purpose]:
            continue
        item = tag.as_dict()
        if tag.tag in corrected:
            item.update(value=corrected[tag.tag], kind="corrected", confidence=1.0,
                        kind_label=KIND_LABEL["corrected"][lang if lang in ("zh", "en")
                                                           else "en"],
                        explanation=("您已将此标签更正为 " if lang == "zh"
                                     else "You corrected this tag to ")
                        + str(corrected[tag.tag]))
        out.append(jsonable_encoder(item))  # dates in a tag's inputs become ISO text
    return out


def pending_tags(svc: Services, pid: str) -> int:
    """Tags still in the snapshot that the person's decisions already took out of use."""
    from profileguard.model import snapshot

    snap = snapshot.current(svc.engine)
    if snap is None:
        return 0
    n = int(svc.engine.query_rows(f"SELECT count(*) FROM {snap.long} WHERE user_id = ?",
                                  [pid])[0][0])
    return max(n - len(visible_profile(svc, pid, "en")), 0)


# -- merchant scope ---------------------------------------------------------------------

def shop_source(svc: Services) -> tuple[str, str] | None:
    """(source, user column) of the source that records which shop a person ordered from."""
    for name, src in svc.manifest.sources.items():
        if src.user and "shop_id" in svc.manifest.fields.get(name, {}):
            return name, src.user
    return None


def ordered_from(svc: Services, pid: str, shop: str) -> bool:
    found = shop_source(svc)
    if found is None or not svc.engine.table_exists(found[0]):
        return False
    name, ucol = found
    rows = svc.engine.query_rows(
        f"SELECT 1 FROM {q(name)} WHERE {q(ucol)} = ? AND shop_id = ? LIMIT 1", [pid, shop])
    return bool(rows)


def in_scope(svc: Services, key: StaffKey, pid: str) -> bool:
    """Whether ``key`` may see this person at all (merchants: only their own customers)."""
    if key.role != "merchant":
        return key.role in ("platform_admin", "dpo")
    return ordered_from(svc, pid, key.shop_id or "")


def check_purpose(svc: Services, key: StaffKey, purpose: str) -> None:
    if purpose not in svc.manifest.purposes:
        raise ApiError(400, f"purpose {purpose!r} is not declared in the manifest; declared: "
                       f"{', '.join(sorted(svc.manifest.purposes))}")
    if key.role == "merchant" and purpose not in key.purposes:
        raise ApiError(403, f"this merchant key is authorized for "
                       f"{', '.join(key.purposes) or 'no purpose'}, not {purpose!r}")


def staff_person(svc: Services, key: StaffKey, user: str, purpose: str) -> str:
    """Resolve a person for a staff read: purpose checked, person in the key's scope."""
    check_purpose(svc, key, purpose)
    pid = known(svc, user)
    if not in_scope(svc, key, pid):
        # the same answer as for an unknown person: a merchant learns nothing about
        # whether someone exists outside its shop
        raise ApiError(404, "no such person (unknown id, or erased)")
    return pid


def staff_profile(svc: Services, key: StaffKey, user: str, purpose: str, lang: str,
                  endpoint: str) -> dict[str, Any]:
    pid = staff_person(svc, key, user, purpose)
    tags = visible_profile(svc, pid, lang, purpose=purpose)
    svc.ledger.append("profile.read", key.actor, pid, {
        "purpose": purpose, "tags": [t["tag"] for t in tags], "endpoint": endpoint})
    return {"user": pid, "purpose": purpose, "tags": tags}
