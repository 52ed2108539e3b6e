"""The application commands: JSON alone on stdout; refusals raise the guard's error."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from profileguard.apply.criteria import CriterionRefused
from profileguard.cli import app


@pytest.fixture
def in_ws(built_ws: Path) -> Iterator[Path]:
    cwd = Path.cwd()
    os.chdir(built_ws.parent)
    yield built_ws
    os.chdir(cwd)


def _json(args: list[str]) -> dict[str, object]:
    result = CliRunner().invoke(app, [*args, "--format", "json"])
    assert result.exit_code == 0, result.output
    data: dict[str, object] = json.loads(result.stdout)
    return data


def test_recommend_search_and_evaluate_print_json(in_ws: Path) -> None:
    rec = _json(["recommend", "someone-unknown", "-n", "4"])
    assert rec["mode"] == "non_personalized" and len(rec["items"]) == 4  # type: ignore[arg-type]
    hits = _json(["search", "someone-unknown", "home", "--mode", "non_personalized"])
    assert hits["hits"]
    ev = _json(["evaluate", "recommend", "-k", "5"])
    assert {r["ranking"] for r in ev["results"]} == {  # type: ignore[attr-defined]
        "personalized", "popularity baseline"}


def test_audience_preview_reports_guards_and_sensitive_criterion_exits_2(in_ws: Path) -> None:
    out = _json(["audience", "preview", "rfm_segment IS NOT NULL", "--purpose",
                 "tiered_operations", "--min-size", "1"])
    assert [g["guard"] for g in out["removed"]] == [  # type: ignore[attr-defined]
        "objection", "consent", "recipient_consent", "minor"]
    bad = CliRunner().invoke(app, ["audience", "preview", "pregnancy_likely = true",
                                   "--purpose", "advertising", "--manifest",
                                   str(in_ws.parent / "naive.yaml")])
    assert isinstance(bad.exception, CriterionRefused)  # main() prints it and exits 2
    assert bad.exception.exit_code == 2 and bad.exception.rule.rule == "sensitive_inference"


def test_campaign_plan_and_insight_print_json(in_ws: Path) -> None:
    plan = _json(["campaign", "plan", "--name", "n1", "--kind", "message", "--channel", "sms",
                  "--text", "会员日", "--at", "2026-11-02T23:00", "--audience",
                  "rfm_segment IS NOT NULL"])
    assert plan["to_send"] == 0 and "quiet_hours" in plan["blocked_by"]  # type: ignore[operator]
    rep = _json(["insight", "--epsilon", "0.2"])
    assert rep["budget"]["spent"] == pytest.approx(0.2)  # type: ignore[index]
