"""``profileguard scan``: file formats, JSON shape, sampling, errors naming the file."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from profileguard.cli import app
from profileguard.errors import ProfileguardError

CSV = (
    "order_no,phone,remark\n"
    "202401011234567890,13812345678,尽快发货\n"
    "202401011234567891,139-8765-4321,邮箱abc@example.com联系\n"
    "202401011234567892,,电话13912345678。\n"
)


def run(*args: str) -> dict[str, object]:
    result = CliRunner().invoke(app, ["scan", *args])
    assert result.exit_code == 0, result.output
    parsed: dict[str, object] = json.loads(result.stdout)
    return parsed


def test_json_output_has_rows_columns_and_findings_only_with_the_flag(tmp_path: Path) -> None:
    path = tmp_path / "orders.csv"
    path.write_text(CSV, encoding="utf-8")
    plain = run(str(path), "--format", "json")
    assert set(plain) == {"rows", "columns"} and plain["rows"] == 3
    full = run(str(path), "--format", "json", "--findings")
    assert set(full) == {"rows", "columns", "findings"}
    findings = full["findings"]
    assert isinstance(findings, list)
    assert {"row": 1, "column": "remark", "type": "EMAIL", "start": 2, "end": 17} .items() <= findings[2].items()
    assert all(set(f) == {"row", "column", "type", "start", "end", "score"} for f in findings)
    columns = {c["name"]: c for c in full["columns"]}  # type: ignore[union-attr,index]
    assert columns["phone"]["types"][0]["example"] == "138****5678"
    assert columns["order_no"]["types"] == []


def test_gb18030_csv_is_read(tmp_path: Path) -> None:
    path = tmp_path / "gbk.csv"
    path.write_bytes(CSV.encode("gb18030"))
    report = run(str(path), "--format", "json", "--findings")
    assert any(f["type"] == "EMAIL" for f in report["findings"])  # type: ignore[union-attr,index]


def test_parquet_and_json_lines_are_read(tmp_path: Path) -> None:
    table = pa.table({"remark": ["电话13812345678", "无"], "n": [1, 2]})
    pq.write_table(table, tmp_path / "t.parquet")
    (tmp_path / "t.jsonl").write_text(
        '{"remark": "电话13812345678", "n": 1}\n{"remark": "无", "n": 2}\n', encoding="utf-8")
    for name in ("t.parquet", "t.jsonl"):
        report = run(str(tmp_path / name), "--format", "json", "--findings")
        assert report["rows"] == 2
        assert [(f["row"], f["type"]) for f in report["findings"]] == [(0, "CN_MOBILE")]  # type: ignore[union-attr,index]


def test_sample_limits_rows_scanned(tmp_path: Path) -> None:
    path = tmp_path / "orders.csv"
    path.write_text(CSV, encoding="utf-8")
    assert run(str(path), "--format", "json", "--sample", "2")["rows"] == 2
    assert run(str(path), "--format", "json", "--sample", "2", "--random")["rows"] == 2


def test_table_format_prints_the_columns(tmp_path: Path) -> None:
    path = tmp_path / "orders.csv"
    path.write_text(CSV, encoding="utf-8")
    result = CliRunner().invoke(app, ["scan", str(path), "--findings"])
    assert result.exit_code == 0
    assert "CN_MOBILE" in result.stdout and "Findings" in result.stdout


@pytest.mark.parametrize("name, content", [("missing.csv", None), ("data.xlsx", b"x"),
                                           ("broken.parquet", b"not parquet"),
                                           ("broken.jsonl", b"{not json\n")])
def test_unreadable_file_raises_an_error_naming_the_file(tmp_path: Path, name: str,
                                                         content: bytes | None) -> None:
    path = tmp_path / name
    if content is not None:
        path.write_bytes(content)
    result = CliRunner().invoke(app, ["scan", str(path), "--format", "json"])
    assert isinstance(result.exception, ProfileguardError)
    assert str(path) in str(result.exception)


def test_header_only_csv_lists_its_columns_with_no_rows(tmp_path: Path) -> None:
    path = tmp_path / "empty.csv"
    path.write_text("phone,remark\n", encoding="utf-8")
    report = run(str(path), "--format", "json")
    assert report["rows"] == 0
    assert [c["name"] for c in report["columns"]] == ["phone", "remark"]  # type: ignore[union-attr,index]


def test_scan_a_workspace_source_by_name(demo_ws: Path) -> None:
    from typer.testing import CliRunner

    from profileguard.cli import app

    out = CliRunner().invoke(app, ["scan", "users", "--manifest", str(demo_ws), "--sample", "100",
                                   "--format", "json"])
    assert out.exit_code == 0, out.output
    report = json.loads(out.output)
    phone = next(c for c in report["columns"] if c["name"] == "phone")
    assert report["rows"] == 100 and phone["suggested_category"] == "user.contact.phone_number"
    bad = CliRunner().invoke(app, ["scan", "nosuch", "--manifest", str(demo_ws)])
    assert bad.exit_code != 0 and "not a source of the workspace manifest" in str(bad.exception)
