"""The pages as plain HTML forms (no script): the privacy center, the dashboard, the
transparency page and /docs — nothing loaded from outside, CSRF-protected forms."""

from __future__ import annotations

import re

from server_harness import Served

ADULT = "U0000004"


def _login(s: Served, user: str = ADULT) -> str:
    r = s.client.get(f"/login?token={s.token(user)}", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/me"
    page = s.client.get("/me?lang=en")
    assert page.status_code == 200
    m = re.search(r'name="csrf" value="([0-9a-f]+)"', page.text)
    assert m
    return m.group(1)


def test_login_link_opens_the_privacy_center_with_explained_tags(served: Served) -> None:
    _login(served)
    page = served.client.get("/me?lang=en").text
    assert "Stop profiling me (一键关闭)" in page and "Recommendations not based on me" in page
    assert 'class="explanation"' in page and "badge-fact" in page
    assert "Separate consents" in page and "AdNet Ltd" in page
    assert "<script" not in page
    zh = served.client.get("/me?lang=zh").text
    assert "停止为我建立画像" in zh and 'lang="zh-CN"' in zh


def test_forms_without_csrf_token_are_refused(served: Served) -> None:
    _login(served)
    r = served.client.post("/me/switches", data={"stop_profiling": "on"},
                           headers={"accept": "text/html"})
    assert r.status_code == 403
    assert not served.svc.book.preference(served.svc.store.resolve(ADULT)).objected


def test_plain_form_posts_delete_a_tag_and_stop_profiling(served: Served) -> None:
    csrf = _login(served)
    page = served.client.get("/me?lang=en").text
    tag = re.search(r'data-tag="([a-z0-9_]+)"', page)
    assert tag
    r = served.client.post(f"/me/tags/{tag.group(1)}/delete", data={"csrf": csrf},
                           follow_redirects=False)
    assert r.status_code == 303 and "done=1" in r.headers["location"]
    assert f'data-tag="{tag.group(1)}"' not in served.client.get("/me?lang=en").text
    served.client.post("/me/switches", data={"csrf": csrf, "stop_profiling": "on"})
    after = served.client.get("/me?lang=en").text
    assert 'data-mode="non_personalized"' in after
    assert "You stopped profiling" in after


def test_consent_forms_withdraw_and_grant_in_one_step_each(served: Served) -> None:
    csrf = _login(served)
    served.client.post("/me/consents/personalization/withdraw", data={"csrf": csrf})
    pid = served.svc.store.resolve(ADULT)
    assert served.svc.book.latest(pid, "personalization").status == "withdrawn"
    served.client.post("/me/consents/advertising/grant",
                       data={"csrf": csrf, "recipient": "AdNet Ltd"})
    rec = served.svc.book.latest(pid, "advertising", recipient="AdNet Ltd")
    assert rec.status == "granted" and rec.consent_type == "separate"
    assert rec.clicks_to_give == rec.clicks_to_withdraw == 1


def test_delete_my_data_needs_the_confirmation_box(served: Served) -> None:
    csrf = _login(served)
    r = served.client.post("/me/delete", data={"csrf": csrf}, headers={"accept": "text/html"})
    assert r.status_code == 400 and "tick the box" in r.text
    ok = served.client.post("/me/delete", data={"csrf": csrf, "confirm": "yes"})
    assert ok.status_code == 200 and ">delete<" in ok.text


def test_download_my_data_returns_my_json(served: Served) -> None:
    _login(served)
    r = served.client.get("/me/export")
    assert r.status_code == 200 and r.json()["user_pid"] == served.svc.store.resolve(ADULT)


def test_dashboard_shows_the_naive_manifests_findings(served: Served) -> None:
    assert served.client.get("/dashboard", follow_redirects=False).status_code == 303
    r = served.client.get(f"/dashboard/login?key={served.keys['dpo']}")
    assert r.status_code == 200
    naive = served.client.get("/dashboard?manifest=naive.yaml").text
    assert 'data-testid="score"' in naive and "Findings by stage and law" in naive
    assert naive.count('class="sev-high"') >= 1 and "<svg" in naive
    assert "Data map" in naive and "Tag catalog" in naive
    assert re.search(r'src="https?://|href="https?://[^"]*\.(js|css)', naive) is None
    served.client.cookies.clear()
    denied = served.client.get(f"/dashboard/login?key={served.keys['analyst']}",
                               headers={"accept": "text/html"})
    assert denied.status_code == 403


def test_transparency_page_is_public_and_generated(served: Served) -> None:
    en = served.client.get("/transparency?lang=en")
    assert en.status_code == 200
    text = en.text
    assert "algorithmic recommendation" in text and "How to turn it off" in text
    assert "网信算备" in text and "Rights requests and complaints handled" in text
    assert "Days since last purchase" in text
    assert en.headers["content-security-policy"].startswith("default-src 'self'")


def test_docs_lists_the_api_without_any_external_script(served: Served) -> None:
    r = served.client.get("/docs")
    assert r.status_code == 200 and "/api/me/profile" in r.text
    assert "<script" not in r.text and "cdn" not in r.text.lower()
    assert served.client.get("/openapi.json").json()["info"]["title"] == "profileguard"
