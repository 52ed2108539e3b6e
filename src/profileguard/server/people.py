"""A person's profile as served: the snapshot with their later decisions applied.

The warehouse is read-only while serving, so what a person decided since the last build
is applied here, on every read: a deleted tag is not shown or used, a corrected tag shows
the person's value, a withdrawn purpose hides its tags, and an objection to profiling
hides them all. The next build makes the warehouse agree.

Staff reads state a purpose, see only the tags that serve it, and are written to the
ledger (who, which person, which purpose, which tags) before the answer leaves (through
the worker's :class:`~profileguard.server.ledger_writer.LedgerWriter`, which commits the
entries of concurrent reads together). The snapshot part of a profile is rendered once
per person and worker (:mod:`profileguard.server.explained`) and kept as JSON text, so a
staff read's answer is joined from it; the person's decisions are read every time, in one
transaction (:meth:`ConsentBook.standing <profileguard.consent.book.ConsentBook.standing>`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import sqlalchemy as sa
from starlette.concurrency import run_in_threadpool

from profileguard.model.explain import KIND_LABEL, ExplainedTag, profile_of
from profileguard.pipeline.services import Services
from profileguard.server.answers import json_text
from profileguard.server.errors import ApiError
from profileguard.server.explained import SnapshotTag
from profileguard.server.keys import StaffKey
from profileguard.server.ledger_writer import LedgerWriter
from profileguard.server.warehouse import ReadOnlyWarehouse
from profileguard.store import tables as t
from profileguard.store.engine import quote_ident as q

T = TypeVar("T")

_PID_OF = sa.select(t.identity_map.c.user_pid).where(sa.or_(
    t.identity_map.c.user_pid == sa.bindparam("user"),
    t.identity_map.c.user_id == sa.bindparam("user")))


def known(svc: Services, user: str) -> str:
    """The pid of ``user`` (own id or pid) when the operational store knows them; else 404."""
    if user:  # one lookup: by pseudonymous id or by the person's own id
        with svc.store.read() as conn:
            found = conn.execute(_PID_OF, {"user": user}).first()
        if found is not None:
            return str(found[0])
    raise ApiError(404, "no such person (unknown id, or erased)")


def explained(svc: Services, pid: str, lang: str) -> tuple[SnapshotTag, ...]:
    """The person's tags as the snapshot holds them (kept per worker while it is attached)."""
    def render() -> list[ExplainedTag]:
        return profile_of(svc.engine, svc.manifest, svc.catalog, pid, lang)

    engine = svc.engine
    if isinstance(engine, ReadOnlyWarehouse):
        return engine.profiles.get(pid, lang, render)
    return tuple(SnapshotTag.of(tag) for tag in render())


async def from_store(svc: Services, read: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """Run ``read`` (operational-store reads) for the event loop: inline on SQLite, where a
    read is a short local file access and cheaper than a thread hop; on a thread for a
    database server (PostgreSQL), whose network round trips other requests should not
    wait behind."""
    if svc.store.dialect == "sqlite":
        return read(*args, **kwargs)
    return await run_in_threadpool(read, *args, **kwargs)


async def explained_async(svc: Services, pid: str, lang: str) -> tuple[SnapshotTag, ...]:
    """:func:`explained` for the event loop: kept tags at once, DuckDB reads on a thread
    (another thread may hold the warehouse for seconds, e.g. an audit run)."""
    engine = svc.engine
    if isinstance(engine, ReadOnlyWarehouse):
        found = engine.profiles.kept(pid, lang)
        if found is not None:
            return found
    return await run_in_threadpool(explained, svc, pid, lang)


def visible_tags(svc: Services, pid: str, lang: str = "zh", purpose: str | None = None,
                 snapshot: tuple[SnapshotTag, ...] | None = None) -> list[SnapshotTag]:
    """The person's tags as they stand now (decisions since the build applied, read in one
    transaction); ``snapshot`` is the person's :func:`explained` tags when the caller has
    them. Kept tags come back as they are kept; a corrected tag is a new one."""
    standing = svc.book.standing(pid, None if purpose is None else (purpose,))
    if standing.preference.objected:
        return []
    deleted = {o.tag for o in standing.overrides if o.action == "delete"}
    corrected = {o.tag: o.value for o in standing.overrides if o.action == "correct"}
    # one decision per purpose AND category set: a tag over sensitive PI needs the separate
    # consent its categories call for, which another tag of the same purpose does not
    allowed: dict[tuple[str, tuple[str, ...]], bool] = {}
    out = []
    for tag in snapshot if snapshot is not None else explained(svc, pid, lang):
        if tag.tag in deleted or (purpose is not None and tag.purpose != purpose):
            continue
        key = (tag.purpose, tag.categories)
        if key not in allowed:
            allowed[key] = standing.allows(tag.purpose, categories=tag.categories).allowed
        if not allowed[key]:
            continue
        out.append(_corrected(tag, corrected[tag.tag], lang) if tag.tag in corrected else tag)
    return out


def _corrected(tag: SnapshotTag, value: str | None, lang: str) -> SnapshotTag:
    """``tag`` showing the value the person corrected it to (the kept tag is unchanged)."""
    body = tag.body()
    body.update(value=value, kind="corrected", confidence=1.0,
                kind_label=KIND_LABEL["corrected"][lang if lang in ("zh", "en") else "en"],
                explanation=("您已将此标签更正为 " if lang == "zh" else "You corrected this tag to ")
                + str(value))
    return SnapshotTag.of_body(tag.tag, tag.purpose, tag.categories, body)


def visible_profile(svc: Services, pid: str, lang: str = "zh",
                    purpose: str | None = None,
                    snapshot: tuple[SnapshotTag, ...] | None = None) -> list[dict[str, Any]]:
    """:func:`visible_tags` as dicts (for pages and answers that are not assembled)."""
    return [tag.body() for tag in visible_tags(svc, pid, lang, purpose, snapshot)]


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


async def staff_person(svc: Services, key: StaffKey, user: str, purpose: str) -> str:
    """Resolve a person for a staff read: purpose checked, person in the key's scope
    (a merchant's scope is read from the warehouse, on a thread)."""
    check_purpose(svc, key, purpose)
    pid = await from_store(svc, known, svc, user)
    scoped = (await run_in_threadpool(in_scope, svc, key, pid) if key.role == "merchant"
              else in_scope(svc, key, pid))
    if not scoped:
        # the same answer as for an unknown person: a merchant learns nothing about
        # whether someone exists outside its shop
        raise ApiError(404, "no such person (unknown id, or erased)")
    return pid


async def staff_profile(svc: Services, ledger: LedgerWriter, key: StaffKey, user: str,
                        purpose: str, lang: str, endpoint: str) -> str:
    """A staff read of a person's tags for ``purpose``, as the JSON text of the answer
    ``{"user", "purpose", "tags"}`` (joined from the kept tags' text), returned once its
    ledger entry is committed."""
    pid = await staff_person(svc, key, user, purpose)
    snapshot = await explained_async(svc, pid, lang)
    tags = await from_store(svc, visible_tags, svc, pid, lang, purpose, snapshot)
    await ledger.append_async("profile.read", key.actor, pid, {
        "purpose": purpose, "tags": [t.tag for t in tags], "endpoint": endpoint})
    return (f'{{"user":{json_text(pid)},"purpose":{json_text(purpose)},"tags":['
            + ",".join(t.wire for t in tags) + "]}")
