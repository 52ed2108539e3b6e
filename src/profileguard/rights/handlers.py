"""What each rights request does (PIPL 44–48, GDPR 15–22, ECL 24).

Every handler takes the request's pseudonymous id and details and returns a JSON-able
result; :class:`~profileguard.rights.requests.RightsDesk` stores it and chains a digest in
the ledger. Decisions that change processing (delete a tag, object, withdraw) also take
the person out of the *current* snapshot at once — they do not wait for the next build
(ALG 17: "stop at once").
"""

from __future__ import annotations

import csv
import dataclasses
import datetime as dt
import io
import json
import zipfile
from typing import Any

import sqlalchemy as sa

from profileguard.errors import ProfileguardError
from profileguard.model import snapshot
from profileguard.model.explain import profile_of
from profileguard.rights.context import RightsContext
from profileguard.store import tables as t
from profileguard.store.engine import Engine
from profileguard.store.engine import quote_ident as q


def _jsonable(value: Any) -> Any:
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {k: _jsonable(v) for k, v in dataclasses.asdict(value).items()}
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if value is None or isinstance(value, str | int | float | bool):
        return value
    return str(value)


def drop_from_current(ctx: RightsContext, pid: str, tags: list[str] | None = None) -> int:
    """Remove the person's tags (all, or the named ones) from the current snapshot now."""
    engine = ctx.engine()
    snap = snapshot.current(engine)
    if snap is None:
        return 0
    # the long table is (on DuckDB) a view over these: editing them edits it
    held = snapshot.person_tables(engine, snap)
    if tags is None:
        n = engine.query_rows(f"SELECT count(*) FROM {snap.long} WHERE user_id = ?", [pid])[0][0]
        for table in held:
            engine.execute(f"DELETE FROM {table} WHERE user_id = ?", [pid])
        return int(n)
    cols = set(engine.columns(snap.wide))
    removed = 0
    for tag in tags:
        removed += int(engine.query_rows(
            f"SELECT count(*) FROM {snap.long} WHERE user_id = ? AND tag = ?", [pid, tag])[0][0])
        for table in held:
            if table != snap.wide:
                engine.execute(f"DELETE FROM {table} WHERE user_id = ? AND tag = ?", [pid, tag])
        nulls = [c for c in cols if c == tag or c.startswith(tag + "__")]
        if nulls:
            engine.execute(f"UPDATE {snap.wide} SET " + ", ".join(f"{q(c)} = NULL" for c in nulls)
                           + " WHERE user_id = ?", [pid])
    return removed


def rows_held(ctx: RightsContext, pid: str) -> dict[str, dict[str, Any]]:
    """Per source: rows held about the person and the categories of their columns."""
    engine = ctx.engine()
    out: dict[str, dict[str, Any]] = {}
    for name, src in ctx.manifest.sources.items():
        if not src.user or not engine.table_exists(name):
            continue
        n = int(engine.query_rows(f"SELECT count(*) FROM {q(name)} WHERE {q(src.user)} = ?",
                                  [pid])[0][0])
        held = engine.table_exists(f"pg_legal_hold_{name}") and int(engine.query_rows(
            f"SELECT count(*) FROM {q('pg_legal_hold_' + name)} WHERE {q(src.user)} = ?",
            [pid])[0][0])
        if n or held:
            fields = ctx.manifest.fields.get(name, {})
            out[name] = {
                "rows": n, "restricted_rows": int(held or 0),
                "restriction": (f"kept under legal hold ({src.legal_hold.basis}); stored only, "
                                "not processed") if held and src.legal_hold else None,
                "categories": sorted({d.category for d in fields.values()
                                      if d.transform != "drop"}),
                "retention": {c: (d.retention.text if d.retention else None)
                              for c, d in fields.items() if d.transform != "drop"},
            }
    return out


def access(ctx: RightsContext, pid: str, details: dict[str, Any]) -> dict[str, Any]:
    lang = str(details.get("lang", "zh"))
    tags = profile_of(ctx.engine(), ctx.manifest, ctx.catalog, pid, lang)
    pref = ctx.book.preference(pid)
    m = ctx.manifest
    return {
        "user_pid": pid,
        "profile": [t.as_dict() for t in tags],
        "consents": [_jsonable(r) for r in ctx.book.in_force(pid)],
        "preferences": _jsonable(pref),
        "data_held": rows_held(ctx, pid),
        "recipients": [{"name": r.name, "role": r.role, "purposes": r.purposes,
                        "fields": r.fields, "country": r.country} for r in m.recipients],
        "retention_default": m.retention.default.text if m.retention.default else None,
        "controller": {"name": m.organization.name, "contact": m.organization.contact},
    }


def export(ctx: RightsContext, pid: str, details: dict[str, Any]) -> dict[str, Any]:
    """A machine-readable copy (PIPL 45, GDPR 20): one JSON file and a zip of CSVs."""
    engine = ctx.engine()
    stamp = dt.datetime.now().strftime("%Y%m%dT%H%M%S")
    base = ctx.exports_dir / f"subject-{pid}-{stamp}"
    report = access(ctx, pid, details)
    tables: dict[str, list[dict[str, Any]]] = {}
    for name, src in ctx.manifest.sources.items():
        if src.user and engine.table_exists(name):
            rows = engine.query_arrow(f"SELECT * EXCLUDE (_file_id) FROM {q(name)} "
                                      f"WHERE {q(src.user)} = ?", [pid]).to_pylist()
            if rows:
                tables[name] = [{k: _jsonable(v) for k, v in r.items()} for r in rows]
    report["records"] = tables
    json_path = base.with_suffix(".json")
    json_path.write_text(json.dumps(report, ensure_ascii=False, indent=2, default=str), "utf-8")
    zip_path = base.with_suffix(".zip")
    with zipfile.ZipFile(zip_path, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, rows in {**tables, "tags": report["profile"]}.items():
            if not rows:
                continue
            buf = io.StringIO()
            writer = csv.DictWriter(buf, fieldnames=list(rows[0]))
            writer.writeheader()
            for r in rows:
                writer.writerow({k: json.dumps(v, ensure_ascii=False) if isinstance(v, dict | list)
                                 else v for k, v in r.items()})
            zf.writestr(f"{name}.csv", buf.getvalue())
    with ctx.store.write() as conn:
        for path in (json_path, zip_path):
            export_id = int(conn.execute(t.exports.insert().values(
                kind="subject_export", recipient=None, purpose="data_portability",
                path=str(path), rows=sum(len(v) for v in tables.values()),
                created_at=dt.datetime.now(dt.UTC)).returning(t.exports.c.id)).scalar_one())
            conn.execute(t.export_members.insert().values(export_id=export_id, user_pid=pid))
    return {"json": str(json_path), "zip": str(zip_path),
            "tables": {k: len(v) for k, v in tables.items()}, "tags": len(report["profile"])}


def correct(ctx: RightsContext, pid: str, details: dict[str, Any]) -> dict[str, Any]:
    value = details.get("value")
    if value is None:
        raise ProfileguardError("a correction needs `value`")
    if details.get("tag"):
        tag = str(details["tag"])
        if ctx.manifest.tag(tag) is None:
            raise ProfileguardError(f"unknown tag {tag!r}")
        override = ctx.book.correct_tag(pid, tag, str(value), reason=details.get("reason"))
        engine = ctx.engine()
        snap = snapshot.current(engine)
        if snap is not None:
            _correct_now(engine, snap, pid, tag, str(value))
        return {"tag": tag, "value": value, "override": override}
    field = str(details.get("field") or "")
    source, _, column = field.partition(".")
    decl = ctx.manifest.field(source, column)
    src = ctx.manifest.sources.get(source)
    if decl is None or src is None or not src.user:
        raise ProfileguardError(f"cannot correct {field!r}: name a tag (`tag`) or a declared "
                                "field as source.column of a source with a user column")
    engine = ctx.engine()
    from profileguard.collect.gate import SQL_TYPES

    engine.execute(f"UPDATE {q(source)} SET {q(column)} = TRY_CAST(? AS {SQL_TYPES[decl.type]}) "
                   f"WHERE {q(src.user)} = ?", [str(value), pid])
    return {"field": field, "value": value, "note": "takes effect in the next build"}


def _correct_now(engine: Engine, snap: snapshot.SnapshotInfo, pid: str, tag: str,
                 value: str) -> None:
    """Show the corrected value in the current snapshot at once (where it holds the tag):
    a row of the corrections table the long view reads, or, in a snapshot whose long table
    is stored, that table's row."""
    for table in snapshot.person_tables(engine, snap):
        if table == snap.corrections:
            engine.execute(f"DELETE FROM {table} WHERE user_id = ? AND tag = ?", [pid, tag])
            engine.execute(f"INSERT INTO {table} VALUES (?, ?, ?)", [pid, tag, value])
        elif table == snap.long:
            engine.execute(f"UPDATE {table} SET value = ?, kind = 'corrected', confidence = 1.0"
                           " WHERE user_id = ? AND tag = ?", [value, pid, tag])


def delete_tag(ctx: RightsContext, pid: str, details: dict[str, Any]) -> dict[str, Any]:
    tag = str(details.get("tag") or "")
    if ctx.manifest.tag(tag) is None:
        raise ProfileguardError(f"unknown tag {tag!r}")
    override = ctx.book.delete_tag(pid, tag, reason=details.get("reason"))
    return {"tag": tag, "override": override, "removed_now": drop_from_current(ctx, pid, [tag])}


def object_(ctx: RightsContext, pid: str, details: dict[str, Any]) -> dict[str, Any]:
    ctx.book.object(pid, True, actor="rights")
    return {"objected": True, "tags_removed_now": drop_from_current(ctx, pid)}


def withdraw(ctx: RightsContext, pid: str, details: dict[str, Any]) -> dict[str, Any]:
    purpose = str(details.get("purpose") or "")
    if purpose not in ctx.manifest.purposes:
        raise ProfileguardError(f"unknown purpose {purpose!r}; declared: "
                                f"{', '.join(sorted(ctx.manifest.purposes))}")
    recipient = details.get("recipient")
    ctx.book.withdraw(pid, purpose, recipient=recipient)
    tags = [t.name for t in ctx.manifest.tags if t.purpose == purpose]
    return {"purpose": purpose, "recipient": recipient,
            "tags_removed_now": drop_from_current(ctx, pid, tags) if tags else 0}


def explain(ctx: RightsContext, pid: str, details: dict[str, Any]) -> dict[str, Any]:
    lang = str(details.get("lang", "zh"))
    tags = profile_of(ctx.engine(), ctx.manifest, ctx.catalog, pid, lang)
    wanted = details.get("tag")
    chosen = [x.as_dict() for x in tags if not wanted or x.tag == wanted]
    if wanted and not chosen:
        return {"tag": wanted, "explanation": None,
                "note": "no value is held for this tag (no consent, deleted, or not built)"}
    return {"tags": chosen}


def consent_records(ctx: RightsContext, pid: str) -> list[dict[str, Any]]:
    with ctx.store.read() as conn:
        rows = conn.execute(sa.select(t.consents).where(t.consents.c.user_pid == pid)
                            .order_by(t.consents.c.given_at)).mappings().all()
    return [_jsonable(dict(r)) for r in rows]
