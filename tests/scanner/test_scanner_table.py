"""scan_table: per-column summaries, masked examples, sampling, findings, the ingestion hook."""

from __future__ import annotations

import pyarrow as pa

from profileguard.collect.scanner import TableScanner, find_undeclared_pi, scan_table


def orders_table() -> pa.Table:
    return pa.table({
        "order_no": ["202401011234567890", "202401011234567891", "202401011234567892", "202401011234567893"],
        "phone": ["13812345678", "139-8765-4321", None, "+86 150 0000 1111"],
        "remark": ["尽快发货", "邮箱abc@example.com联系", "电话13912345678。", ""],
        "consignee": ["张三", "李四", "王五", "赵六"],
        "lat": [39.904211, 31.230416, 23.129112, 30.572815],
        "created": ["20240101123045", "20240102123045", "20240103123045", "20240104123045"],
    })


def test_each_column_reports_types_counts_share_example_and_category() -> None:
    report = scan_table(orders_table())
    cols = {c.name: c for c in report.columns}
    assert report.rows == 4
    (phone,) = cols["phone"].types
    assert (phone.type, phone.rows, phone.share, phone.example) == ("CN_MOBILE", 3, 0.75, "138****5678")
    assert phone.category == "user.contact.phone_number"
    assert cols["phone"].suggested_category == "user.contact.phone_number"
    assert {t.type for t in cols["remark"].types} == {"EMAIL", "CN_MOBILE"}
    assert cols["consignee"].suggested_category == "user.name"
    assert cols["lat"].suggested_category == "user.location.precise"
    assert cols["order_no"].types == [] and cols["created"].types == []


def test_findings_have_zero_based_rows_and_offsets_into_the_original_cell() -> None:
    table = orders_table()
    report = scan_table(table, findings=True)
    assert report.findings is not None
    remark = [f for f in report.findings if f.column == "remark"]
    assert [(f.row, f.type) for f in remark] == [(1, "EMAIL"), (2, "CN_MOBILE")]
    for f in report.findings:
        cell = str(table.column(f.column)[f.row].as_py())
        assert 0 <= f.start < f.end <= len(cell)
    assert table.column("remark")[2].as_py()[remark[1].start:remark[1].end] == "13912345678"


def test_report_dict_has_exactly_rows_columns_and_findings_keys() -> None:
    assert set(scan_table(orders_table()).to_dict()) == {"rows", "columns"}
    assert set(scan_table(orders_table(), findings=True).to_dict()) == {"rows", "columns", "findings"}


def test_head_sample_scans_only_the_first_rows() -> None:
    report = scan_table(orders_table(), sample=2, findings=True)
    assert report.rows == 2
    assert report.findings is not None and max(f.row for f in report.findings) == 1


def test_random_sample_keeps_original_row_numbers() -> None:
    table = pa.table({"phone": [f"1381234{i:04d}" if i % 2 else "none" for i in range(1000)]})
    report = scan_table(table, sample=100, random_sample=True, seed=3, findings=True)
    assert report.rows == 100
    assert report.findings and all(f.row % 2 == 1 for f in report.findings)
    assert len({f.row for f in report.findings}) == len(report.findings)


def test_batches_accumulate_into_one_report_with_running_row_numbers() -> None:
    scanner = TableScanner(collect_findings=True)
    scanner.add(pa.record_batch({"remark": ["电话13812345678", "无"]}))
    scanner.add(pa.record_batch({"remark": ["无", "邮箱a@example.com"]}))
    report = scanner.report()
    assert report.rows == 4
    assert [(f.row, f.type) for f in report.findings or []] == [(0, "CN_MOBILE"), (3, "EMAIL")]
    assert report.columns[0].types[0].share == 0.25


def test_struct_columns_are_flattened_and_lists_are_marked_not_scanned() -> None:
    table = pa.table({
        "buyer": pa.array([{"phone": "13812345678", "city": "北京"}]),
        "tags": pa.array([["a", "b"]]),
    })
    cols = {c.name: c for c in scan_table(table).columns}
    assert cols["buyer.phone"].types[0].type == "CN_MOBILE"
    assert cols["tags"].scanned is False


def test_undeclared_pi_in_a_free_text_column_is_reported() -> None:
    values = ["请尽快发货", "电话13812345678，邮箱abc@example.com"]
    findings = find_undeclared_pi("user.free_text", values, "remark")
    assert [(f.row, f.type, f.start, f.end) for f in findings] == [
        (1, "CN_MOBILE", 2, 13), (1, "EMAIL", 16, 31)]


def test_pi_covered_by_the_declared_category_is_not_reported() -> None:
    values = ["电话13812345678，邮箱abc@example.com"]
    assert find_undeclared_pi("user.contact", values, "contact") == []
    only_email = find_undeclared_pi("user.contact.phone_number", values, "contact")
    assert [f.type for f in only_email] == ["EMAIL"]
    assert find_undeclared_pi("user.free_text", ["尽快发货", None], "remark") == []
