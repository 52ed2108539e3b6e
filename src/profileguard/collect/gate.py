"""The collection gate, as SQL over a staged file.

A staged file has every declared column as read (text for CSV) plus ``__row``. The gate
classifies each row in one pass — the first matching reason wins — and the ingest step
moves clean rows into the source's table and the rest into ``pg_quarantine``:

``missing_key``  the primary key or the person's id is empty
``bad_type``     a value does not parse as the declared type (the column is named)
``unmapped_value`` a value mapping is declared and the value is neither a source nor a target value
``erased_user``  the person was erased (tombstone): late events stay out
``future_time``  the event time is after the ingest time
``before_start`` the event time is before the source's declared start
``duplicate_key`` the primary key repeats in the file or is already loaded
``held_no_consent`` (not a defect: held back in ``pg_held``) the person has not consented
                 to any purpose of a consent-based source; released when they do

With ``reprocess`` (``ingest --force``: re-reading files already ingested, e.g. to apply
tombstones) a row already in the table is counted ``already_loaded`` instead — neither
loaded again nor quarantined.

The checks read only the columns :func:`gate_reads` names; the others are carried through,
so the ingest may classify them as read and join their transformed values in afterwards.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime

from profileguard.manifest.model import FieldDecl, Source
from profileguard.store.engine import quote_ident as q

SQL_TYPES = {
    "string": "VARCHAR",
    "integer": "BIGINT",
    "decimal": "DECIMAL(18,2)",
    "float": "DOUBLE",
    "boolean": "BOOLEAN",
    "date": "DATE",
    "timestamp": "TIMESTAMP",
}

REASONS = ("missing_key", "bad_type", "unmapped_value", "erased_user", "future_time",
           "before_start", "duplicate_key")


def lit(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


@dataclass(frozen=True)
class GateSpec:
    source_name: str
    source: Source
    fields: dict[str, FieldDecl]  # canonical column -> declaration (drop-transformed excluded)
    target: str
    tombstones: str | None  # a table with column user_pid, or None
    now: datetime
    #: re-reading a file already ingested: rows already in the table are counted as
    #: ``already_loaded`` (not loaded again, not quarantined)
    reprocess: bool = False
    #: a table (user_pid) of people whose consent covers this source's purposes; rows of
    #: anyone else are held back (reason ``held_no_consent``), not loaded and not dropped
    consented: str | None = None
    #: the staged relation's column types (DuckDB spelling); a column not named is text
    staged_types: dict[str, str] | None = None
    #: a relation with ``__row`` and the key column as staged, cheaper to read than the staged
    #: one (the file before its transforms are joined in); default: the staged relation
    keys: str | None = None
    #: the keys that repeat, already computed by :func:`duplicates_sql` (the stage runs it
    #: while the transforms run); default: computed inside the classification
    duplicates: str | None = None
    #: build ``__raw`` (the row as staged, for the rows that fail) in the classification;
    #: False leaves it NULL, for the caller to fill in with :func:`raw_json` (when the staged
    #: relation does not hold the stored values of every column yet)
    raw_json: bool = True


def typed_expr(column: str, decl: FieldDecl, source: Source, staged: str | None = None) -> str:
    """The declared-type value of a staged column (NULL when it does not parse).

    ``staged`` is the column's type in the staged relation: text unless told otherwise
    (Parquet columns keep their own types; one already of the declared type is used as is).
    """
    c = q(column)
    sql_type = SQL_TYPES[decl.type]
    if staged == sql_type and decl.type != "string" and not (
            column == source.time and source.time_format):
        return c
    text = f"CAST({c} AS VARCHAR)"
    if decl.type == "timestamp" and column == source.time and source.time_format:
        fmt = source.time_format
        if fmt == "epoch_s":
            return f"to_timestamp(TRY_CAST({text} AS DOUBLE))::TIMESTAMP"
        if fmt == "epoch_ms":
            return f"to_timestamp(TRY_CAST({text} AS DOUBLE) / 1000.0)::TIMESTAMP"
        return f"TRY_STRPTIME({text}, {lit(fmt)})"
    mapping = source.values.get(column)
    if decl.type == "string":
        return c if not mapping and staged in (None, "VARCHAR") else _mapped(c, mapping)
    if decl.type == "boolean":
        return (f"CASE lower(trim({text})) WHEN 'true' THEN TRUE WHEN '1' THEN TRUE "
                f"WHEN 'yes' THEN TRUE WHEN 'false' THEN FALSE WHEN '0' THEN FALSE "
                f"WHEN 'no' THEN FALSE ELSE NULL END")
    return f"TRY_CAST(trim({text}) AS {sql_type})"


def _mapped(c: str, mapping: dict[str, str] | None) -> str:
    if not mapping:
        return f"CAST({c} AS VARCHAR)"
    whens = " ".join(f"WHEN {lit(k)} THEN {lit(v)}" for k, v in sorted(mapping.items()))
    return f"CASE CAST({c} AS VARCHAR) {whens} ELSE CAST({c} AS VARCHAR) END"


#: staged types whose text form is never empty, so "missing" means NULL
_NOT_TEXT = frozenset(SQL_TYPES.values()) - {"VARCHAR"}


def _blank(text: str) -> str:
    """``text`` is NULL or nothing but what ``trim`` removes: ``NULLIF(trim(text), '') IS
    NULL``, with the trim run only for values that start with a space, a non-ASCII character
    or nothing (a printable ASCII first character is never trimmed) — most values skip it."""
    return (f"CASE WHEN {text} IS NULL THEN TRUE WHEN ascii({text}) BETWEEN 33 AND 126 "
            f"THEN FALSE ELSE trim({text}) = '' END")


def gate_reads(source: Source, fields: dict[str, FieldDecl]) -> set[str]:
    """The columns the checks of :func:`classify_sql` read: the key, the person, the time,
    typed and mapped columns (every column when there is no key: a file read again is then
    compared row by row). The gate only carries the others through."""
    if not source.key:
        return set(fields)
    reads = {c for c in (source.key, source.user, source.time) if c}
    reads |= {c for c, d in fields.items() if d.type != "string"}
    reads |= {c for c, mapping in source.values.items() if mapping}
    return reads & set(fields)


def raw_json(fields: dict[str, FieldDecl], value: Callable[[str], str]) -> str:
    """The row as staged, as JSON text for the quarantine: every field's staged value
    (``value(column)``) as text."""
    return "to_json({" + ", ".join(
        f"{lit(c)}: CAST({value(c)} AS VARCHAR)" for c in fields) + "})"


def duplicates_sql(key: str, decl: FieldDecl, source: Source, staged_type: str | None,
                   keys: str) -> str:
    """The values of the key column ``key`` that repeat in ``keys`` (``__row`` and the
    column as staged), each with its first row: ``__dup_key`` (typed), ``__dup_first``.

    The keys that repeat are few: first by a 64-bit hash of the key (grouping integers is
    cheaper than grouping text; a hash that repeats only makes its rows candidates), then
    exactly, over the candidates alone."""
    k = typed_expr(key, decl, source, staged_type)
    rel = q(keys)
    return (f"SELECT {k} AS __dup_key, min(__row) AS __dup_first FROM {rel} "
            f"WHERE hash({k}) IN (SELECT hash({k}) AS __h FROM {rel} GROUP BY __h "
            f"HAVING count(*) > 1) GROUP BY __dup_key HAVING count(*) > 1")


def classify_sql(spec: GateSpec, staged: str) -> str:
    """SELECT over the staged table: typed columns, ``__reason``, ``__column``, ``__detail``.

    Three levels: the typed value of each column is computed once (``__t_``, beside the
    staged one ``__s_``), the checks become flags over them, and the first flag that holds
    names the reason. The row as read is turned into JSON only for rows that fail.
    """
    src, fields = spec.source, spec.fields
    types = spec.staged_types or {}
    typed = {col: typed_expr(col, d, src, types.get(col)) for col, d in fields.items()}

    def s(col: str) -> str:
        return q("__s_" + col)

    def t(col: str) -> str:
        return s(col) if typed[col] == q(col) else q("__t_" + col)

    checks: list[tuple[str, str, str, str]] = []  # (condition, reason, column, detail)
    for role in (src.key, src.user):
        if role and role in fields:
            empty = (f"{s(role)} IS NULL" if types.get(role) in _NOT_TEXT
                     else _blank(f"CAST({s(role)} AS VARCHAR)"))
            checks.append((empty, "missing_key", role, f"{role} is empty"))
    for col, d in fields.items():
        if d.type != "string" and t(col) != s(col):
            # a value given (not blank) that does not parse; the blank test only runs for
            # the few values that do not parse
            checks.append((f"CASE WHEN {t(col)} IS NOT NULL THEN FALSE "
                           f"ELSE NOT ({_blank(f'CAST({s(col)} AS VARCHAR)')}) END",
                           "bad_type", col, f"not a valid {d.type}"))
    for col, mapping in src.values.items():
        if col in fields and mapping:
            allowed = sorted(set(mapping) | set(mapping.values()))
            checks.append((f"{s(col)} IS NOT NULL AND CAST({s(col)} AS VARCHAR) NOT IN "
                           f"({', '.join(lit(v) for v in allowed)})",
                           "unmapped_value", col, "value not in the declared mapping"))
    if spec.tombstones and src.user and src.user in fields:
        checks.append((f"CAST({s(src.user)} AS VARCHAR) IN "
                       f"(SELECT user_pid FROM {q(spec.tombstones)})",
                       "erased_user", src.user, "the person was erased"))
    if src.time and src.time in fields:
        now = spec.now.strftime("%Y-%m-%d %H:%M:%S")
        checks.append((f"{t(src.time)} > TIMESTAMP {lit(now)}", "future_time", src.time,
                       f"after the ingest time {now}"))
        if src.start:
            start = src.start if isinstance(src.start, date) else date.fromisoformat(str(src.start))
            checks.append((f"{t(src.time)} < TIMESTAMP {lit(start.isoformat())}", "before_start",
                           src.time, f"before the source start {start.isoformat()}"))
    if src.key and src.key in fields:
        k = t(src.key)
        # a later row with the key of an earlier one (the first of each key is kept); the
        # keys that repeat are few, so they are found by one aggregate and joined back
        checks.append(("__dup_first IS NOT NULL AND __row > __dup_first",
                       "duplicate_key", src.key, "repeats an earlier row of this file"))
        checks.append((f"{k} IN (SELECT {q(src.key)} FROM {q(spec.target)})",
                       "already_loaded" if spec.reprocess else "duplicate_key", src.key,
                       "already loaded"))
    elif spec.reprocess:
        same = " AND ".join(f"t.{q(c)} IS NOT DISTINCT FROM {t(c)}" for c in fields)
        checks.append((f"EXISTS (SELECT 1 FROM {q(spec.target)} t WHERE {same})",
                       "already_loaded", src.user or next(iter(fields)), "already loaded"))
    if spec.consented and src.user and src.user in fields:
        checks.append((f"CAST({s(src.user)} AS VARCHAR) NOT IN "
                       f"(SELECT user_pid FROM {q(spec.consented)})",
                       "held_no_consent", src.user,
                       "no consent in force for this source's purposes; held until given"))
    if checks:
        reason = "CASE " + " ".join(
            f"WHEN __f{i} THEN {lit(r)}" for i, (_, r, _, _) in enumerate(checks)) + " END"
        column = "CASE " + " ".join(
            f"WHEN __f{i} THEN {lit(col)}" for i, (_, _, col, _) in enumerate(checks)) + " END"
        detail = "CASE " + " ".join(
            f"WHEN __f{i} THEN {lit(d)}" for i, (_, _, _, d) in enumerate(checks)) + " END"
    else:
        reason = column = detail = "NULL"
    level1 = ", ".join([f"{q(c)} AS {s(c)}" for c in fields]
                       + [f"{typed[c]} AS {t(c)}" for c in fields if t(c) != s(c)])
    carried = ", ".join([s(c) for c in fields] + [t(c) for c in fields if t(c) != s(c)])
    flags = "".join(f", ({c}) AS __f{i}" for i, (c, _, _, _) in enumerate(checks))
    typed_rows = f"SELECT __row, {level1} FROM {q(staged)}"
    if src.key and src.key in fields:
        # the keys that repeat are few: one aggregate over the key alone finds them (and the
        # first row of each), joined back to flag the later rows
        keys = spec.keys or staged
        dups = (q(spec.duplicates) if spec.duplicates
                else f"({duplicates_sql(src.key, fields[src.key], src, types.get(src.key), keys)})")
        typed_rows = (f"SELECT __typed.*, __dups.__dup_first FROM ({typed_rows}) __typed "
                      f"LEFT JOIN {dups} __dups ON __typed.{t(src.key)} = __dups.__dup_key")
    level2 = f"SELECT __row, {carried}{flags} FROM ({typed_rows})"
    outer_cols = ", ".join(f"{t(c)} AS {q(c)}" for c in fields)
    # the row as read, for the quarantine record: built only for rows that fail the gate
    raw = (f"CASE WHEN __reason IS NOT NULL THEN {raw_json(fields, s)} END" if spec.raw_json
           else "CAST(NULL AS VARCHAR)")
    return (f"SELECT __row, {', '.join(q(c) for c in fields)}, __reason, __column, "
            f"__detail, "
            f"{raw} AS __raw FROM (SELECT __row, {outer_cols}, {carried}, "
            f"{reason} AS __reason, {column} AS __column, {detail} AS __detail "
            f"FROM ({level2}))")
