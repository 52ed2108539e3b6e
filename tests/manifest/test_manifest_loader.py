"""The manifest loader: every problem of a file at once, each at its line and column."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from profileguard.errors import ProfileguardError
from profileguard.manifest import ManifestError, load_manifest, parse_manifest

DEMO = Path(__file__).parents[2] / "src/profileguard/demo/manifests"

THREE_MISTAKES = """\
organization:
  name: Shop
  colour: blue
sources:
  users: {format: csv, path: users.csv, key: user_id, user: user_id}
fields:
  users:
    user_id: {category: user.unique_id, purposes: [account]}
    phone: {category: user.contact.phone, purposes: [account]}
    age: {category: user.demographic.age_range, type: number, purposes: [account]}
purposes:
  account: {basis: contract}
"""


def test_three_different_mistakes_are_all_reported_with_their_lines() -> None:
    with pytest.raises(ManifestError) as info:
        parse_manifest(THREE_MISTAKES, "shop.yaml")
    issues = {(i.line, i.path): i for i in info.value.issues}
    assert len(info.value.issues) == 3
    assert (3, "organization.colour") in issues
    assert "unknown key 'colour'" in issues[(3, "organization.colour")].message
    assert (9, "fields.users.phone.category") in issues
    assert "did you mean 'user.contact.phone_number'" in issues[(9, "fields.users.phone.category")].hint
    assert (10, "fields.users.age.type") in issues
    assert "'string'" in issues[(10, "fields.users.age.type")].message
    assert str(info.value.issues[0]).startswith("shop.yaml:3:3: organization.colour")


def test_unknown_purpose_and_undeclared_source_are_cross_reference_errors() -> None:
    text = """\
organization: {name: Shop}
sources: {}
fields:
  orders:
    id: {category: non_personal, purposes: [fulfillment]}
purposes:
  fulfilment: {basis: contract}
"""
    with pytest.raises(ManifestError) as info:
        parse_manifest(text, "m.yaml")
    messages = [str(i) for i in info.value.issues]
    assert any("m.yaml:4:3" in m and "undeclared source 'orders'" in m for m in messages)
    assert any("purpose 'fulfillment'" in m and "did you mean 'fulfilment'" in m for m in messages)


def test_recipient_naming_undeclared_purpose_and_field_is_reported() -> None:
    text = """\
organization: {name: Shop}
purposes:
  advertising: {basis: consent}
recipients:
  - name: AdNet
    role: controller
    purposes: [ads]
    fields: [users.phone]
"""
    with pytest.raises(ManifestError) as info:
        parse_manifest(text)
    lines = {i.line: i.message for i in info.value.issues}
    assert "purpose 'ads' is not declared" in lines[7]
    assert "field 'users.phone' is not declared" in lines[8]


def test_duplicate_keys_are_refused() -> None:
    with pytest.raises(ManifestError) as info:
        parse_manifest("organization: {name: A}\norganization: {name: B}\n")
    assert any("duplicate key 'organization'" in i.message and i.line == 2
               for i in info.value.issues)


def test_yaml_syntax_error_names_the_line() -> None:
    with pytest.raises(ManifestError) as info:
        parse_manifest("organization:\n  name: [unclosed\n", "x.yaml")
    assert info.value.issues[0].file == "x.yaml"
    assert "not valid YAML" in info.value.issues[0].message


def test_unknown_legal_basis_is_reported_with_valid_choices() -> None:
    with pytest.raises(ManifestError) as info:
        parse_manifest("organization: {name: A}\npurposes:\n  ads: {basis: concent}\n")
    issue = info.value.issues[0]
    assert issue.line == 3 and "unknown legal basis 'concent'" in issue.message
    assert "consent" in issue.hint


def test_both_demo_manifests_validate() -> None:
    for name in ("profileguard.yaml", "naive.yaml"):
        loaded = load_manifest(DEMO / name)
        assert loaded.manifest.tags and loaded.manifest.sources
        assert len(loaded.sha256) == 64


def test_line_of_finds_a_tag_in_the_demo_manifest() -> None:
    loaded = load_manifest(DEMO / "naive.yaml")
    index = next(i for i, t in enumerate(loaded.manifest.tags) if t.name == "pregnancy_likely")
    line = loaded.line_of("tags", index, "infers")
    assert "infers: user.health_and_medical" in (DEMO / "naive.yaml").read_text().splitlines()[line - 1]


def test_missing_file_and_non_utf8_give_clear_errors(tmp_path: Path) -> None:
    with pytest.raises(ManifestError, match="cannot read the manifest"):
        load_manifest(tmp_path / "nope.yaml")
    bad = tmp_path / "gbk.yaml"
    bad.write_bytes("organization: {name: 商店}\n".encode("gb18030"))
    with pytest.raises(ManifestError, match="not UTF-8"):
        load_manifest(bad)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=400))
def test_arbitrary_bytes_give_a_clear_error_never_a_traceback(tmp_path_factory: pytest.TempPathFactory,
                                                            data: bytes) -> None:
    path = tmp_path_factory.mktemp("m") / "profileguard.yaml"
    path.write_bytes(data)
    try:
        load_manifest(path)
    except ProfileguardError as exc:
        assert str(exc)


yaml_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=10),
    lambda children: st.lists(children, max_size=3)
    | st.dictionaries(st.sampled_from(["organization", "name", "sources", "fields", "tags",
                                       "purposes", "format", "category", "x"]), children,
                      max_size=4),
    max_leaves=12,
)


@settings(max_examples=200, deadline=None)
@given(yaml_values)
def test_arbitrary_yaml_documents_give_a_clear_error_never_a_traceback(doc: object) -> None:
    import yaml

    text = yaml.safe_dump(doc, allow_unicode=True)
    try:
        parse_manifest(text)
    except ManifestError as exc:
        assert exc.issues and all(i.line >= 1 for i in exc.issues)
