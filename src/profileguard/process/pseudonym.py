"""Pseudonymous ids: keyed HMAC-SHA256, deterministic, short and stable.

Why a keyed HMAC and not a plain hash: a phone number or ID number has so few possible
values that an unkeyed hash is reversed by enumeration. The key lives outside the data (a
key file or the ``PROFILEGUARD_PSEUDONYM_KEY`` environment variable) and is never written
next to it, so the analytical store holds pseudonyms that cannot be linked back without it.

* Same key, same input → same pseudonym (joins across tables keep working).
* Per-recipient keys are derived as ``HMAC(key, "profileguard/recipient/" + name)``, so two
  recipients of the same data get pseudonyms that cannot be joined with each other.
* Key rotation: :func:`rotation_table` maps old-key pseudonyms to new-key pseudonyms with an
  expiry date, and :func:`translate` rewrites old pseudonyms during that window only.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import os
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc

from profileguard.errors import ProfileguardError
from profileguard.store.keys import pseudonym as store_pseudonym

KEY_ENV = "PROFILEGUARD_PSEUDONYM_KEY"
MIN_KEY_BYTES = 16
PREFIX = "p_"


def load_key(key_file: str | Path | None = None, env: str = KEY_ENV) -> bytes:
    """Read the pseudonymization key from ``key_file`` or the environment variable ``env``.

    Refuses to go on without a key: a default key would make every pseudonym reversible.
    """
    if key_file is not None:
        path = Path(key_file)
        if not path.is_file():
            raise ProfileguardError(
                f"pseudonymization key file {path} does not exist; pass an existing file "
                f"with --key-file or set {env}"
            )
        key = path.read_bytes().strip()
        source = str(path)
    else:
        value = os.environ.get(env)
        if not value:
            raise ProfileguardError(
                f"no pseudonymization key: pass --key-file FILE or set the environment "
                f"variable {env} (at least {MIN_KEY_BYTES} bytes); the key is never stored "
                "with the data"
            )
        key = value.strip().encode("utf-8")
        source = f"${env}"
    if len(key) < MIN_KEY_BYTES:
        raise ProfileguardError(
            f"pseudonymization key from {source} is {len(key)} bytes; at least "
            f"{MIN_KEY_BYTES} bytes are required"
        )
    return key


def recipient_key(key: bytes, recipient: str) -> bytes:
    """Derive the key for one recipient so recipients' pseudonyms cannot be joined."""
    label = b"profileguard/recipient/" + recipient.encode("utf-8")
    return hmac.new(key, label, hashlib.sha256).digest()


def pseudonym(value: str, key: bytes) -> str:
    """The pseudonym of one value: ``p_`` + base32 of the first 16 bytes of the HMAC.

    One definition for the whole system (the warehouse's user ids use the same function),
    so a release pseudonymized here joins the workspace's own ids under the same key.
    """
    return store_pseudonym(key, value)


class Pseudonymizer:
    """Pseudonymizes Arrow columns with one key (optionally derived for a recipient)."""

    def __init__(self, key: bytes, recipient: str | None = None) -> None:
        if len(key) < MIN_KEY_BYTES:
            raise ProfileguardError(
                f"pseudonymization key is {len(key)} bytes; at least {MIN_KEY_BYTES} required"
            )
        self._key = recipient_key(key, recipient) if recipient else key
        self.recipient = recipient

    def value(self, value: str) -> str:
        return pseudonym(value, self._key)

    def column(self, column: pa.Array | pa.ChunkedArray) -> pa.Array:
        """Pseudonymize a column; HMAC runs once per distinct value, nulls stay null."""
        arr = column.combine_chunks() if isinstance(column, pa.ChunkedArray) else column
        if not pa.types.is_string(arr.type) and not pa.types.is_large_string(arr.type):
            arr = pc.cast(arr, pa.string())
        encoded = pc.dictionary_encode(arr)
        dictionary = encoded.dictionary.to_pylist()
        mapped = pa.array([self.value(str(v)) for v in dictionary], type=pa.string())
        return mapped.take(encoded.indices)


def rotation_table(
    values: pa.Array | pa.ChunkedArray,
    old_key: bytes,
    new_key: bytes,
    valid_until: dt.date,
) -> pa.Table:
    """Old-key → new-key pseudonym mapping for the transition window ending ``valid_until``.

    ``values`` are the raw ids (read from the identity map in the operational database);
    the table holds pseudonyms only, so it can be shared with holders of old pseudonyms.
    """
    raw = pc.unique(values.combine_chunks() if isinstance(values, pa.ChunkedArray) else values)
    raw = raw.drop_null()
    old = Pseudonymizer(old_key).column(raw)
    new = Pseudonymizer(new_key).column(raw)
    until = pa.array([valid_until] * len(raw), type=pa.date32())
    return pa.table({"old_pseudonym": old, "new_pseudonym": new, "valid_until": until})


def translate(
    column: pa.Array | pa.ChunkedArray, mapping: pa.Table, today: dt.date | None = None
) -> pa.Array:
    """Rewrite old pseudonyms to new ones while the mapping window is open.

    Values already in the new form pass through; an old pseudonym missing from the
    mapping, or a mapping past its ``valid_until`` date, is an error (the window closed).
    """
    today = today or dt.date.today()
    arr = column.combine_chunks() if isinstance(column, pa.ChunkedArray) else column
    if mapping.num_rows:
        until = min(mapping.column("valid_until").to_pylist())
        if until < today:
            raise ProfileguardError(
                f"the key-rotation mapping window closed on {until.isoformat()}; old "
                "pseudonyms can no longer be translated (allowed: translate before that date)"
            )
    old = mapping.column("old_pseudonym").combine_chunks()
    new = mapping.column("new_pseudonym").combine_chunks()
    idx = pc.index_in(arr, value_set=old)
    translated = pc.take(new, idx)
    is_new = pc.is_in(arr, value_set=new)
    result = pc.if_else(is_new, arr, translated)
    unknown = pc.and_(pc.is_valid(arr), pc.is_null(result))
    if pc.any(unknown).as_py():
        row = pc.index(unknown, True).as_py()
        raise ProfileguardError(
            f"row {row}: pseudonym {arr[row].as_py()!r} is in neither the old-key mapping "
            "nor the new key's output"
        )
    return result
