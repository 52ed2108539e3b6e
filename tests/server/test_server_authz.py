"""Authorization matrix: every role × every endpoint, allowed or denied as designed; merchant
A never sees merchant B's customers; a subject never sees another subject."""

from __future__ import annotations

import pytest
from server_harness import Served, shop_customers

SUBJECT = "U0000004"
OTHER = "U0000006"
ROLES = ("anonymous", "subject", "admin", "dpo", "analyst", "merchant_a")
STAFF_PERSON = {"admin", "dpo", "merchant_a"}
QUEUE = {"admin", "dpo"}
AGG = {"admin", "dpo", "analyst"}

# (method, path, json body, roles allowed)
ENDPOINTS: list[tuple[str, str, dict[str, object] | None, set[str]]] = [
    ("GET", "/api/health", None, set(ROLES)),
    ("GET", "/api/me", None, {"subject"}),
    ("GET", "/api/me/profile", None, {"subject"}),
    ("POST", "/api/me/tags/gender/correct", {"value": "女"}, {"subject"}),
    ("POST", "/api/me/tags/city_tier/delete", {}, {"subject"}),
    ("GET", "/api/me/consents", None, {"subject"}),
    ("POST", "/api/me/consents/analytics/grant", {}, {"subject"}),
    ("POST", "/api/me/consents/analytics/withdraw", {}, {"subject"}),
    ("GET", "/api/me/switches", None, {"subject"}),
    ("PUT", "/api/me/switches", {"non_personalized": False}, {"subject"}),
    ("GET", "/api/me/recommendations", None, {"subject"}),
    ("GET", "/api/me/requests", None, {"subject"}),
    ("POST", "/api/me/requests", {"kind": "access"}, {"subject"}),
    ("GET", "/api/me/requests/1", None, {"subject"}),
    ("GET", "/api/me/export", None, {"subject"}),
    ("POST", "/api/me/complaints", {"kind": "wrong_tag", "text": "x"}, {"subject"}),
    ("GET", "/api/me/complaints", None, {"subject"}),
    ("GET", f"/api/users/{SUBJECT}/profile?purpose=personalization", None, STAFF_PERSON),
    ("GET", f"/api/users/{SUBJECT}/consent?purpose=personalization", None, STAFF_PERSON),
    ("GET", f"/api/users/{SUBJECT}/recommendations", None, STAFF_PERSON),
    ("POST", "/api/audiences/preview", {"expression": "orders_90d >= 1",
                                        "purpose": "personalization"}, AGG),
    ("POST", "/api/audiences/exports", {"expression": "orders_90d >= 1",
                                        "purpose": "advertising", "recipient": "AdNet Ltd"},
     {"admin"}),
    ("GET", "/api/audiences/exports", None, QUEUE),
    ("POST", "/api/audiences/exports/999/approve", {}, {"dpo"}),
    ("POST", "/api/audiences/exports/999/reject", {"reason": "no"}, {"dpo"}),
    ("GET", "/api/rights", None, QUEUE),
    ("POST", "/api/rights", {"user": SUBJECT, "kind": "explain", "verified_by": "phone call"},
     QUEUE),
    ("GET", "/api/rights/1", None, QUEUE),
    ("POST", "/api/rights/999/complete", {"outcome": "refused", "reason": "duplicate"}, QUEUE),
    ("GET", "/api/complaints", None, QUEUE),
    ("POST", "/api/complaints/999/resolve", {"resolution": "fixed"}, QUEUE),
    ("POST", "/api/audit/run", None, QUEUE),
    ("GET", "/api/audit/manifests", None, AGG),
    ("GET", "/api/audit/report?format=md", None, AGG),
    ("GET", "/api/audit/pia", None, QUEUE),
    ("GET", "/api/audit/filing", None, QUEUE),
    ("GET", "/api/ledger/verify", None, QUEUE),
    ("GET", "/api/stats", None, AGG),
]


def _headers(shared: Served, role: str) -> dict[str, str]:
    if role == "anonymous":
        return {}
    if role == "subject":
        return shared.as_subject(SUBJECT)
    return shared.as_staff(role)


def test_every_route_of_the_api_is_in_the_matrix(shared: Served) -> None:
    paths = shared.app.openapi()["paths"]
    documented = {(m.upper(), p) for p, ops in paths.items() for m in ops}
    covered = {(m, p.split("?")[0].replace(SUBJECT, "{user}").replace("/999/", "/{x}/")
                .replace("/1", "/{x}")) for m, p, _b, _r in ENDPOINTS}

    def norm(path: str) -> str:
        import re
        return re.sub(r"\{(request_id|export_id|complaint_id|tag|purpose)\}", "{x}", path) \
            .replace("/gender/", "/{x}/").replace("/city_tier/", "/{x}/") \
            .replace("/analytics/", "/{x}/")

    missing = {(m, p) for m, p in documented if (m, norm(p)) not in
               {(cm, norm(cp)) for cm, cp in covered}}
    assert not missing, f"endpoints missing from the authorization matrix: {sorted(missing)}"


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize(("method", "path", "body", "allowed"), ENDPOINTS,
                         ids=[f"{m} {p}" for m, p, _b, _a in ENDPOINTS])
def test_role_is_allowed_or_denied_as_designed(shared: Served, role: str, method: str,
                                               path: str, body: dict[str, object] | None,
                                               allowed: set[str]) -> None:
    r = shared.client.request(method, path, json=body, headers=_headers(shared, role))
    assert r.status_code < 500, r.text
    if role in allowed:
        assert r.status_code not in (401, 403), f"{role} was refused: {r.text}"
    else:
        assert r.status_code in (401, 403), f"{role} was let in: {r.status_code} {r.text[:200]}"
        assert "message" in r.json()["error"]


def test_merchant_a_never_sees_merchant_b_customers(shared: Served) -> None:
    svc = shared.svc
    only_b = sorted(shop_customers(svc, "S014") - shop_customers(svc, "S005"))
    only_a = sorted(shop_customers(svc, "S005") - shop_customers(svc, "S014"))
    assert only_a and only_b
    for pid in only_b[:5]:
        user = svc.store.user_id_for(pid)
        for what in ("profile", "consent", "recommendations"):
            r = shared.client.get(f"/api/users/{user}/{what}",
                                  params={"purpose": "personalization"},
                                  headers=shared.as_staff("merchant_a"))
            assert r.status_code == 404, (what, r.text)
        ok = shared.client.get(f"/api/users/{user}/profile", params={"purpose": "personalization"},
                               headers=shared.as_staff("merchant_b"))
        assert ok.status_code == 200
    user_a = svc.store.user_id_for(only_a[0])
    r = shared.client.get(f"/api/users/{user_a}/profile", params={"purpose": "personalization"},
                          headers=shared.as_staff("merchant_a"))
    assert r.status_code == 200


def test_merchant_is_refused_a_purpose_it_is_not_authorized_for(shared: Served) -> None:
    pid = sorted(shop_customers(shared.svc, "S005"))[0]
    user = shared.svc.store.user_id_for(pid)
    r = shared.client.get(f"/api/users/{user}/profile", params={"purpose": "advertising"},
                          headers=shared.as_staff("merchant_a"))
    assert r.status_code == 403
    assert "advertising" in r.json()["error"]["message"]


def test_subject_never_sees_another_subject(shared: Served) -> None:
    other = shared.client.post("/api/me/requests", json={"kind": "explain"},
                               headers=shared.as_subject(OTHER)).json()
    mine = shared.client.get(f"/api/me/requests/{other['id']}",
                             headers=shared.as_subject(SUBJECT))
    assert mine.status_code == 404
    own = shared.client.get("/api/me/profile", headers=shared.as_subject(SUBJECT)).json()
    assert own["user"] == shared.svc.store.resolve(SUBJECT)
    listed = shared.client.get("/api/me/requests", headers=shared.as_subject(SUBJECT)).json()
    assert other["id"] not in [r["id"] for r in listed]
    staff_view = shared.client.get(f"/api/users/{OTHER}/profile",
                                   params={"purpose": "personalization"},
                                   headers=shared.as_subject(SUBJECT))
    assert staff_view.status_code == 401


def test_forged_or_expired_subject_token_is_refused(shared: Served) -> None:
    token = shared.token(SUBJECT)
    forged = token[:-2] + ("AA" if token[-2:] != "AA" else "BB")
    assert shared.client.get("/api/me", headers={"Authorization": f"Bearer {forged}"}
                             ).status_code == 401
    state = shared.app.state.pg
    before = state.settings.token_max_age_s
    state.settings.token_max_age_s = -1
    try:
        assert shared.client.get("/api/me", headers=shared.as_subject(SUBJECT)).status_code == 401
    finally:
        state.settings.token_max_age_s = before
