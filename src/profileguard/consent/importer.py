"""Bulk import of a consent history from an Arrow table (e.g. the demo's consents.csv).

Columns: ``user_id`` (raw; pseudonymized through the store's key and recorded in the
identity map) or ``user_pid``, ``purpose``, ``recipient``, ``status``, ``consent_type``,
``notice_version``, ``surface``, ``pre_ticked``, ``bundled``, ``clicks_to_give``,
``clicks_to_withdraw``, ``ts``. Only ``purpose``, ``status`` and ``ts`` plus one id column
are required.

Rows are inserted in batches. Each batch commits together with ONE ledger entry
(``consent.import``) holding the row count, the first and last row numbers and the SHA-256
of the batch's canonical JSON: a per-row entry for millions of historic rows would make
the ledger as large as the table without proving more, since the digest pins every row.
Changes made one at a time (API, CLI, privacy center) get one entry each. The same
transaction folds the batch into ``consents_current`` (derived; see
:mod:`profileguard.store.consents_current`).
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections import Counter
from typing import TYPE_CHECKING, Any

import pyarrow as pa

from profileguard.consent.decisions import CONSENT_TYPES, STATUSES
from profileguard.errors import ProfileguardError
from profileguard.store import consents_current
from profileguard.store import tables as t
from profileguard.store.ledger import canonical_json
from profileguard.store.operational import as_utc, utcnow

if TYPE_CHECKING:
    from profileguard.consent.book import ConsentBook

REQUIRED = ("purpose", "status", "ts")
_TRUE = {"true", "1", "yes", "y", "t"}
_FALSE = {"false", "0", "no", "n", "f", ""}


def _bool(value: Any, row: int, column: str) -> bool:
    if value is None:
        return False
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise ProfileguardError(f"row {row}, column {column}: {value!r} is not a boolean "
                            "(allowed: true/false, 1/0, yes/no)")


def _int(value: Any, row: int, column: str) -> int | None:
    if value is None or value == "":
        return None
    try:
        return int(value)
    except (TypeError, ValueError):
        raise ProfileguardError(f"row {row}, column {column}: {value!r} is not a whole "
                                "number") from None


def _ts(value: Any, row: int) -> dt.datetime:
    if isinstance(value, dt.datetime):
        return as_utc(value)
    if isinstance(value, dt.date):
        return dt.datetime(value.year, value.month, value.day, tzinfo=dt.UTC)
    try:
        return as_utc(dt.datetime.fromisoformat(str(value)))
    except ValueError:
        raise ProfileguardError(f"row {row}, column ts: {value!r} is not an ISO 8601 "
                                "timestamp (e.g. 2025-03-01T09:30:00Z)") from None


def _text(value: Any) -> str | None:
    return None if value is None or value == "" else str(value)


def import_consents(
    book: ConsentBook,
    data: pa.Table,
    *,
    batch_size: int = 20_000,
    actor: str = "import",
    source: str = "import",
) -> int:
    """Insert every row of ``data`` into the consent history; returns rows imported."""
    names = set(data.column_names)
    missing = [c for c in REQUIRED if c not in names]
    id_column = "user_pid" if "user_pid" in names else "user_id"
    if id_column not in names:
        missing.insert(0, "user_id or user_pid")
    if missing:
        raise ProfileguardError(f"consent import: missing column(s) {', '.join(missing)}; "
                                f"found {', '.join(data.column_names)}")
    imported = 0
    for start in range(0, data.num_rows, batch_size):
        chunk = data.slice(start, batch_size).to_pylist()
        if id_column == "user_id":
            pids = book.store.register_identities(str(r["user_id"]) for r in chunk)
            ids = [pids[str(r["user_id"])] for r in chunk]
        else:
            ids = [str(r["user_pid"]) for r in chunk]
        rows = [_row(r, pid, start + i + 1, source) for i, (r, pid) in
                enumerate(zip(chunk, ids, strict=True))]
        digest = hashlib.sha256(
            canonical_json([{k: _jsonable(v) for k, v in r.items() if k != "recorded_at"}
                            for r in rows]).encode("utf-8")
        ).hexdigest()
        statuses = Counter(r["status"] for r in rows)
        with book.store.write() as conn:
            before = consents_current.last_log_id(conn)
            conn.execute(t.consents.insert(), rows)
            consents_current.fold(conn, before + 1)
            book.ledger.append(
                "consent.import", actor, None,
                {"rows": len(rows), "first_row": start + 1, "last_row": start + len(rows),
                 "sha256": digest, "statuses": dict(sorted(statuses.items())),
                 "source": source},
                conn=conn,
            )
        imported += len(rows)
    return imported


def _row(r: dict[str, Any], pid: str, row: int, source: str) -> dict[str, Any]:
    status = str(r.get("status") or "").strip()
    consent_type = str(r.get("consent_type") or "general").strip()
    if status not in STATUSES:
        raise ProfileguardError(f"row {row}, column status: {status!r} is not allowed; use "
                                f"one of {', '.join(STATUSES)}")
    if consent_type not in CONSENT_TYPES:
        raise ProfileguardError(f"row {row}, column consent_type: {consent_type!r} is not "
                                f"allowed; use one of {', '.join(CONSENT_TYPES)}")
    purpose = _text(r.get("purpose"))
    if purpose is None:
        raise ProfileguardError(f"row {row}, column purpose: empty; every consent is for a "
                                "purpose")
    return {
        "user_pid": pid,
        "purpose": purpose,
        "recipient": _text(r.get("recipient")) or "",
        "status": status,
        "consent_type": consent_type,
        "notice_version": _text(r.get("notice_version")),
        "surface": _text(r.get("surface")),
        "pre_ticked": _bool(r.get("pre_ticked"), row, "pre_ticked"),
        "bundled": _bool(r.get("bundled"), row, "bundled"),
        "clicks_to_give": _int(r.get("clicks_to_give"), row, "clicks_to_give"),
        "clicks_to_withdraw": _int(r.get("clicks_to_withdraw"), row, "clicks_to_withdraw"),
        "source": _text(r.get("source")) or source,
        "given_at": _ts(r.get("ts"), row),
        "recorded_at": utcnow(),
    }


def _jsonable(value: Any) -> Any:
    return value.isoformat() if isinstance(value, dt.datetime) else value
