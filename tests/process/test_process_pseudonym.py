"""Pseudonyms: keyed, deterministic, different across keys and recipients, rotatable."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pyarrow as pa
import pytest

from profileguard.errors import ProfileguardError
from profileguard.process.pseudonym import (
    KEY_ENV,
    Pseudonymizer,
    load_key,
    rotation_table,
    translate,
)

KEY = b"k" * 32
OTHER = b"o" * 32
IDS = pa.array(["u1", "u2", "u1", None, "u3"])


def test_same_key_gives_same_pseudonym_for_same_value() -> None:
    out = Pseudonymizer(KEY).column(IDS).to_pylist()
    assert out[0] == out[2]
    assert out == Pseudonymizer(KEY).column(IDS).to_pylist()
    assert out[0] != out[1]


def test_pseudonym_is_short_prefixed_and_hides_the_value() -> None:
    p = Pseudonymizer(KEY).value("13812345678")
    assert p.startswith("p_") and len(p) == 28
    assert "13812345678" not in p


def test_nulls_stay_null() -> None:
    assert Pseudonymizer(KEY).column(IDS).to_pylist()[3] is None


def test_different_keys_give_different_pseudonyms() -> None:
    a = Pseudonymizer(KEY).column(IDS).to_pylist()
    b = Pseudonymizer(OTHER).column(IDS).to_pylist()
    assert not set(filter(None, a)) & set(filter(None, b))


def test_recipients_get_pseudonyms_that_cannot_be_joined() -> None:
    a = Pseudonymizer(KEY, recipient="partner_a").column(IDS).to_pylist()
    b = Pseudonymizer(KEY, recipient="partner_b").column(IDS).to_pylist()
    base = Pseudonymizer(KEY).column(IDS).to_pylist()
    assert not set(filter(None, a)) & set(filter(None, b))
    assert not set(filter(None, a)) & set(filter(None, base))
    assert a == Pseudonymizer(KEY, recipient="partner_a").column(IDS).to_pylist()


def test_numeric_ids_are_pseudonymized_as_text() -> None:
    out = Pseudonymizer(KEY).column(pa.array([1, 2, 1]))
    assert out.to_pylist()[0] == Pseudonymizer(KEY).value("1")


def test_missing_key_is_refused_with_a_clear_message(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(KEY_ENV, raising=False)
    with pytest.raises(ProfileguardError, match=KEY_ENV):
        load_key(None)


def test_short_key_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(KEY_ENV, "short")
    with pytest.raises(ProfileguardError, match="at least 16 bytes"):
        load_key(None)


def test_key_comes_from_file_or_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    key_file = tmp_path / "pseudonym.key"
    key_file.write_text("a-file-key-of-sufficient-length\n")
    assert load_key(key_file) == b"a-file-key-of-sufficient-length"
    monkeypatch.setenv(KEY_ENV, "an-env-key-of-sufficient-length")
    assert load_key(None) == b"an-env-key-of-sufficient-length"


def test_rotation_maps_old_pseudonyms_to_new_within_the_window() -> None:
    mapping = rotation_table(pa.array(["u1", "u2", "u3"]), KEY, OTHER, dt.date(2030, 1, 31))
    old = Pseudonymizer(KEY).column(pa.array(["u2", "u1"]))
    new = Pseudonymizer(OTHER).column(pa.array(["u2", "u1"]))
    mixed = pa.array([old[0].as_py(), new[1].as_py(), None])
    out = translate(mixed, mapping, today=dt.date(2030, 1, 1))
    assert out.to_pylist() == [new[0].as_py(), new[1].as_py(), None]


def test_rotation_window_closes() -> None:
    mapping = rotation_table(pa.array(["u1"]), KEY, OTHER, dt.date(2030, 1, 31))
    old = Pseudonymizer(KEY).column(pa.array(["u1"]))
    with pytest.raises(ProfileguardError, match="window closed"):
        translate(old, mapping, today=dt.date(2030, 2, 1))


def test_unknown_pseudonym_is_reported_with_its_row() -> None:
    mapping = rotation_table(pa.array(["u1"]), KEY, OTHER, dt.date(2030, 1, 31))
    with pytest.raises(ProfileguardError, match="row 1"):
        translate(pa.array([None, "p_unknown"]), mapping, today=dt.date(2030, 1, 1))
