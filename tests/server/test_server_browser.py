"""The pages in a real browser (Playwright driving Debian's chromium, headless).

A subject signs in with a login link, reads a tag's explanation, deletes the tag, turns
profiling off and then sees non-personalized recommendations — by keyboard-reachable
plain forms, at phone width; the DPO opens the dashboard and sees the naive manifest's
findings. No page logs a console error or requests anything outside the server; a
screenshot of each page is saved under tests/artifacts/.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from server_harness import Served, serve

ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync"]
ADULT = "U0000004"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def live(built_ws: Path) -> Iterator[tuple[Served, str]]:
    import uvicorn

    served = serve(built_ws)
    port = _free_port()
    server = uvicorn.Server(uvicorn.Config(served.app, host="127.0.0.1", port=port,
                                           log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.05)
    assert server.started
    try:
        yield served, f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


def _watch(page: Any, errors: list[str], outside: list[str], base: str) -> None:
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("request", lambda r: None if r.url.startswith(base) else outside.append(r.url))


@pytest.mark.browser
def test_subject_and_dpo_use_the_pages_in_chromium(chromium_path: str,
                                                   live: tuple[Served, str]) -> None:
    from playwright.sync_api import sync_playwright

    served, base = live
    ARTIFACTS.mkdir(exist_ok=True)
    errors: list[str] = []
    outside: list[str] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium_path, args=ARGS)
        try:
            phone = browser.new_context(viewport={"width": 390, "height": 844},
                                        locale="en-US")
            page = phone.new_page()
            _watch(page, errors, outside, base)
            page.goto(f"{base}/login?token={served.token(ADULT)}")
            page.goto(f"{base}/me?lang=en")
            page.keyboard.press("Tab")
            first_focus = page.evaluate("document.activeElement.className")
            card = page.locator("li.card").first
            tag = card.get_attribute("data-tag")
            explanation = card.locator(".explanation").inner_text()
            overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
            page.screenshot(path=str(ARTIFACTS / "server-privacy-center.png"), full_page=True)

            card.get_by_role("button", name="Delete this tag").click()
            page.wait_for_load_state()
            tag_gone = page.locator(f'li.card[data-tag="{tag}"]').count() == 0
            mode_before = page.locator("p.mode").get_attribute("data-mode")

            page.get_by_test_id("switch-stop_profiling").click()
            page.wait_for_load_state()
            pressed = page.get_by_test_id("switch-stop_profiling").get_attribute("aria-pressed")
            mode_after = page.locator("p.mode").get_attribute("data-mode")
            mode_text = page.locator("p.mode").inner_text()
            page.screenshot(path=str(ARTIFACTS / "server-privacy-center-off.png"),
                            full_page=True)

            page.goto(f"{base}/me?lang=zh")
            zh_switch = page.get_by_test_id("switch-stop_profiling").inner_text()
            page.goto(f"{base}/transparency?lang=en")
            transparency = page.locator("h1").inner_text()
            page.screenshot(path=str(ARTIFACTS / "server-transparency.png"), full_page=True)

            desk = browser.new_context(viewport={"width": 1280, "height": 900})
            dpo = desk.new_page()
            _watch(dpo, errors, outside, base)
            dpo.goto(f"{base}/dashboard/login?key={served.keys['dpo']}")
            dpo.goto(f"{base}/dashboard?manifest=naive.yaml")
            findings = dpo.locator("table.findings tbody tr").count()
            high = dpo.locator("table.findings tr.sev-high").count()
            score = int(dpo.get_by_test_id("score").inner_text())
            charts = dpo.locator("figure.chart svg").count()
            dpo.screenshot(path=str(ARTIFACTS / "server-dashboard-naive.png"), full_page=True)
            dpo.goto(f"{base}/docs")
            dpo.screenshot(path=str(ARTIFACTS / "server-docs.png"))
        finally:
            browser.close()

    assert first_focus == "skip"
    assert tag and explanation.strip() and "?" not in explanation
    assert overflow <= 0
    assert tag_gone and mode_before == "personalized"
    assert pressed == "true" and mode_after == "non_personalized"
    assert "Non-personalized" in mode_text
    assert "一键关闭" in zh_switch or "已开启" in zh_switch
    assert transparency == "Algorithm transparency"
    assert findings > 0 and high > 0 and score < 100 and charts >= 3
    assert errors == []
    assert outside == []
    for name in ("server-privacy-center.png", "server-privacy-center-off.png",
                 "server-transparency.png", "server-dashboard-naive.png", "server-docs.png"):
        assert (ARTIFACTS / name).stat().st_size > 1000
