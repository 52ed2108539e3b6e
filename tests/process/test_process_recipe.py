"""The YAML recipe: validation errors name file and line; application runs each transform."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pytest

from profileguard.errors import ProfileguardError
from profileguard.process.pseudonym import Pseudonymizer
from profileguard.process.recipe import apply_recipe, load_recipe, parse_recipe

KEY = b"recipe-test-key-0123456789"
GOOD = """\
unlisted: keep
columns:
  user_id: {transform: pseudonymize}
  phone: {transform: mask, preset: phone}
  ip: truncate_ip
  age: {transform: generalize, kind: age, edges: [18, 30, 45]}
  address: {transform: generalize, kind: address}
  remark: {transform: suppress, with: "*"}
  email: drop
"""


def _table() -> pa.Table:
    return pa.table(
        {
            "user_id": ["u1", "u2"],
            "phone": ["13812345678", "13987654321"],
            "ip": ["10.1.2.3", "10.9.8.7"],
            "age": [25, 50],
            "address": ["上海市浦东新区", "浙江省杭州市西湖区"],
            "remark": ["call 13812345678", "ok"],
            "email": ["a@b.cn", "c@d.cn"],
            "amount": [1.5, 2.5],
        }
    )


def test_recipe_applies_every_transform_and_keeps_unlisted_columns() -> None:
    out = apply_recipe(_table(), parse_recipe(GOOD, "r.yaml"), KEY)
    assert out.column_names == ["user_id", "phone", "ip", "age", "address", "remark", "amount"]
    row = out.to_pylist()[0]
    assert row["user_id"] == Pseudonymizer(KEY).value("u1")
    assert row["phone"] == "138****5678"
    assert row["ip"] == "10.1.2.0/24"
    assert row["age"] == "18-29"
    assert row["address"] == "上海市"
    assert row["remark"] == "*"
    assert row["amount"] == 1.5


def test_unlisted_drop_removes_columns_the_recipe_does_not_name() -> None:
    recipe = parse_recipe("unlisted: drop\ncolumns:\n  phone: {transform: mask}\n", "r.yaml")
    assert apply_recipe(_table(), recipe).column_names == ["phone"]


def test_unknown_transform_names_file_and_line() -> None:
    text = "columns:\n  phone: {transform: mask}\n  age: {transform: blur}\n"
    with pytest.raises(ProfileguardError, match=r"r\.yaml:3: .*unknown transform 'blur'"):
        parse_recipe(text, "r.yaml")


def test_unknown_option_names_line_and_allowed_options() -> None:
    text = "columns:\n\n  phone:\n    transform: mask\n    keep_front: 3\n"
    with pytest.raises(ProfileguardError, match=r"r\.yaml:3: .*keep_front.*allowed: char"):
        parse_recipe(text, "r.yaml")


def test_wrong_option_type_is_reported() -> None:
    text = "columns:\n  phone: {transform: mask, keep_first: three}\n"
    with pytest.raises(ProfileguardError, match=r"r\.yaml:2: .*must be int"):
        parse_recipe(text, "r.yaml")


def test_generalize_without_kind_is_reported() -> None:
    with pytest.raises(ProfileguardError, match=r"r\.yaml:2: .*kind"):
        parse_recipe("columns:\n  age: {transform: generalize}\n", "r.yaml")


def test_invalid_yaml_reports_its_line() -> None:
    with pytest.raises(ProfileguardError, match=r"r\.yaml:3: not valid YAML"):
        parse_recipe("columns:\n  a: drop\n  b: [unclosed\n", "r.yaml")


def test_column_missing_from_data_names_the_recipe_line(tmp_path: Path) -> None:
    path = tmp_path / "recipe.yaml"
    path.write_text("columns:\n  phone: {transform: mask}\n  wechat: drop\n")
    with pytest.raises(ProfileguardError, match=r"recipe\.yaml:3: column 'wechat' is not in"):
        apply_recipe(_table(), load_recipe(path))


def test_pseudonymize_without_key_is_refused() -> None:
    with pytest.raises(ProfileguardError, match="key is required"):
        apply_recipe(_table(), parse_recipe(GOOD, "r.yaml"), None)
