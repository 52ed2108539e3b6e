"""JSON contract, Markdown/HTML reports, auditor findings and the CLI of the price audit."""

from __future__ import annotations

import json
from pathlib import Path
from xml.etree import ElementTree

import pytest
from typer.testing import CliRunner

from profileguard.audit.fairness.findings import pricing_findings
from profileguard.audit.fairness.html import to_html
from profileguard.audit.fairness.pricing import PricingResult, audit_pricing
from profileguard.audit.fairness.quotes import assemble
from profileguard.audit.fairness.report import to_markdown
from profileguard.audit.fairness.simulate import SimulationSpec, Surcharge, simulate_market
from profileguard.cli import app
from profileguard.errors import ProfileguardError

SPEC = SimulationSpec(n_quotes=12_000, seed=4, surcharges=(Surcharge("loyalty_tier", "gold", 0.05),))


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, Path]:
    market = simulate_market(SPEC)
    root = tmp_path_factory.mktemp("quotes")
    paths = root / "quotes.csv", root / "users.csv", root / "items.csv"
    market.quotes.to_csv(paths[0], index=False)
    market.users.to_csv(paths[1], index=False)
    market.items.to_csv(paths[2], index=False)
    return paths


@pytest.fixture(scope="module")
def result() -> PricingResult:
    market = simulate_market(SPEC)
    return audit_pricing(assemble(market.quotes, market.users, market.items))


def test_json_has_exactly_the_documented_keys(result: PricingResult) -> None:
    doc = result.to_dict()
    assert set(doc) == {"controlled_for", "not_controlled_for", "tests", "flagged_attributes", "pairs"}
    assert set(doc["tests"][0]) == {
        "attribute", "group", "category", "gap_pct", "ci", "p_value", "p_adjusted", "n", "cells", "flagged"
    }
    assert any(t["category"] is None for t in doc["tests"])
    assert doc["flagged_attributes"] == ["loyalty_tier"]
    json.dumps(doc)


def test_findings_cover_pipl_24_and_alg_21_and_gdpr_22_only_for_the_eu(result: PricingResult) -> None:
    cn = pricing_findings(result, ("CN",), source="quotes.csv")
    assert {(f["law"], f["article"]) for f in cn} == {("PIPL", "24"), ("ALG", "21")}
    assert all(f["severity"] == "review" and f["stage"] == "apply" for f in cn)
    assert cn[0]["rule"] == "PIPL-24-price-differential"
    assert set(cn[0]["title"]) == {"zh", "en"}
    kinds = {e["kind"] for e in cn[0]["evidence"]}
    assert {"price_gap", "matched_pair", "not_controlled_for"} <= kinds
    eu = pricing_findings(result, ("CN", "EU"))
    assert ("GDPR", "22") in {(f["law"], f["article"]) for f in eu}


def test_findings_are_empty_when_nothing_is_flagged() -> None:
    market = simulate_market(SimulationSpec(n_quotes=8_000, seed=12))
    clean = audit_pricing(assemble(market.quotes, market.users, market.items))
    assert clean.flagged_attributes == []
    assert pricing_findings(clean, ("CN", "EU")) == []


def test_markdown_states_controls_before_the_numbers(result: PricingResult) -> None:
    md = to_markdown(result)
    assert md.index("## Controlled for") < md.index("## Not controlled for") < md.index("## Tests")
    assert "supplier" in md and "FLAG" in md


def test_html_has_one_svg_chart_per_attribute_and_no_scripts(result: PricingResult) -> None:
    page = to_html(result)
    attributes = {t.attribute for t in result.tests}
    assert page.count("<svg") == len(attributes)
    assert "<script" not in page and "http://" not in page.replace("http://www.w3.org/2000/svg", "")
    assert "#c0392b" in page  # a flagged gap drawn in red
    for chunk in page.split("<svg")[1:]:
        ElementTree.fromstring("<svg" + chunk.split("</svg>")[0] + "</svg>")  # well-formed


def test_cli_pricing_json_is_alone_on_stdout(files: tuple[Path, Path, Path]) -> None:
    quotes, users, items = files
    out = CliRunner().invoke(
        app, ["audit", "pricing", str(quotes), "--users", str(users), "--items", str(items), "--format", "json"]
    )
    assert out.exit_code == 0, out.output
    assert json.loads(out.stdout)["flagged_attributes"] == ["loyalty_tier"]


def test_cli_writes_html_to_out(files: tuple[Path, Path, Path], tmp_path: Path) -> None:
    quotes, users, items = files
    target = tmp_path / "report.html"
    out = CliRunner().invoke(
        app,
        ["audit", "pricing", str(quotes), "--users", str(users), "--items", str(items),
         "--attributes", "loyalty_tier", "--format", "html", "--out", str(target)],
    )
    assert out.exit_code == 0, out.output
    assert target.read_text().startswith("<!DOCTYPE html>")


def test_cli_without_users_says_to_pass_users(files: tuple[Path, Path, Path]) -> None:
    out = CliRunner().invoke(app, ["audit", "pricing", str(files[0])])
    assert isinstance(out.exception, ProfileguardError)
    assert "--users" in str(out.exception)


def test_cli_unknown_attribute_lists_allowed(files: tuple[Path, Path, Path]) -> None:
    quotes, users, _ = files
    out = CliRunner().invoke(app, ["audit", "pricing", str(quotes), "--users", str(users), "--attributes", "shoe_size"])
    assert isinstance(out.exception, ProfileguardError)
    assert "loyalty_tier" in str(out.exception)


def test_audit_help_lists_the_fairness_subcommands() -> None:
    out = CliRunner().invoke(app, ["audit", "--help"])
    assert out.exit_code == 0
    assert "pricing" in out.output and "targeting" in out.output


def test_cli_targeting_json(tmp_path: Path) -> None:
    sel = tmp_path / "sel.csv"
    sel.write_text("user_id,selected,tier,age\n" + "".join(
        f"u{i},{int(i % 3 == 0)},{'a' if i % 2 else 'b'},{15 if i == 0 else 30}\n" for i in range(60)
    ))
    out = CliRunner().invoke(app, ["audit", "targeting", str(sel), "--format", "json"])
    assert out.exit_code == 0, out.output
    doc = json.loads(out.stdout)
    assert doc["ages"]["selected_minors"] == 1
    assert {g["group"] for g in doc["groups"]} == {"a", "b"}


def test_cli_table_shows_controls_and_flags(files: tuple[Path, Path, Path]) -> None:
    quotes, users, items = files
    out = CliRunner().invoke(
        app, ["audit", "pricing", str(quotes), "--users", str(users), "--items", str(items),
              "--attributes", "loyalty_tier,device_os", "--time-bucket", "hour"],
        env={"COLUMNS": "200"},
    )
    assert out.exit_code == 0, out.output
    assert "controlled for:" in out.output and "not controlled for:" in out.output
    assert "FLAG" in out.output and "gold" in out.output
