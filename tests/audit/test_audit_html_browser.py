"""The HTML report renders in Chromium: loads, no console errors, finding rows present."""

from __future__ import annotations

import datetime as dt
import sys
from pathlib import Path

import pytest

from profileguard.audit.api import audit_path, render

ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync"]


@pytest.mark.browser
def test_html_report_renders_in_chromium_without_console_errors(
        chromium_path: str, tmp_path: Path) -> None:
    from playwright.sync_api import sync_playwright

    manifest = Path(__file__).resolve().parents[2] / "src/profileguard/demo/manifests/naive.yaml"
    result = audit_path(manifest, as_of=dt.date(2026, 11, 1), data=False)
    page_file = tmp_path / "audit.html"
    page_file.write_text(render(result, "html"), encoding="utf-8")
    ARTIFACTS.mkdir(exist_ok=True)
    errors: list[str] = []
    requests: list[str] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium_path, args=ARGS)
        try:
            page = browser.new_page()
            page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
            page.on("pageerror", lambda e: errors.append(str(e)))
            page.on("request", lambda r: requests.append(r.url))
            page.goto(page_file.as_uri())
            rows = page.locator("tr.finding").count()
            score = page.locator("#score").inner_text()
            charts = page.locator("svg").count()
            page.screenshot(path=str(ARTIFACTS / "audit-report-naive.png"), full_page=True)
        finally:
            browser.close()
    assert errors == []
    assert rows == len(result.findings) > 0
    assert score == f"{result.score}/100"
    assert charts >= 2
    assert [u for u in requests if not u.startswith("file:")] == [], sys.platform
