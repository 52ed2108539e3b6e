"""The API's behaviour: ledgered staff reads, decisions applied at once, rights requests,
complaints, audiences with approval, audit reports, errors without stack traces."""

from __future__ import annotations

import hashlib
import json

import sqlalchemy as sa
from server_harness import Served

from profileguard.store import tables as t

ADULT = "U0000004"  # has personalization consent and tags in the 300-user demo


def _tags(s: Served, user: str = ADULT, lang: str = "en") -> dict[str, dict[str, object]]:
    r = s.client.get("/api/me/profile", params={"lang": lang}, headers=s.as_subject(user))
    assert r.status_code == 200, r.text
    return {x["tag"]: x for x in r.json()["tags"]}


def test_staff_profile_read_states_a_purpose_and_is_ledgered(served: Served) -> None:
    before = served.svc.ledger.count()
    r = served.client.get(f"/api/users/{ADULT}/profile",
                          params={"purpose": "personalization", "lang": "en"},
                          headers=served.as_staff("dpo"))
    assert r.status_code == 200
    tags = r.json()["tags"]
    assert tags and {x["purpose"] for x in tags} == {"personalization"}
    entry = served.svc.ledger.tail(1)[0]
    assert served.svc.ledger.count() == before + 1
    assert entry.kind == "profile.read" and entry.subject == served.svc.store.resolve(ADULT)
    assert entry.payload["purpose"] == "personalization"
    assert entry.actor.endswith(":dpo")
    missing = served.client.get(f"/api/users/{ADULT}/profile", headers=served.as_staff("dpo"))
    assert missing.status_code == 422
    assert served.svc.ledger.count() == before + 1


def test_api_keys_are_stored_only_as_hashes(served: Served) -> None:
    with served.svc.store.read() as conn:
        rows = conn.execute(sa.select(t.api_keys.c.key_hash)).scalars().all()
    plain = served.keys["dpo"]
    assert hashlib.sha256(plain.encode()).hexdigest() in rows
    assert all(plain not in h for h in rows)


def test_revoked_key_is_refused(served: Served) -> None:
    from profileguard.server.keys import create_key, revoke_key

    key, plain = create_key(served.svc.store, served.svc.ledger, "temp", "dpo")
    revoke_key(served.svc.store, served.svc.ledger, key.id)
    r = served.client.get("/api/rights", headers={"X-API-Key": plain})
    assert r.status_code == 401


def test_deleted_tag_disappears_from_every_read_at_once(served: Served) -> None:
    tag = next(iter(_tags(served)))
    r = served.client.post(f"/api/me/tags/{tag}/delete", json={"reason": "wrong"},
                           headers=served.as_subject(ADULT))
    assert r.status_code == 200 and r.json()["state"] == "done"
    assert tag not in _tags(served)
    staff = served.client.get(f"/api/users/{ADULT}/profile",
                              params={"purpose": "personalization"},
                              headers=served.as_staff("admin")).json()
    assert tag not in {x["tag"] for x in staff["tags"]}
    assert [o.tag for o in served.svc.book.overrides(served.svc.store.resolve(ADULT))] == [tag]


def test_corrected_tag_shows_the_persons_value(served: Served) -> None:
    r = served.client.post("/api/me/tags/gender/correct", json={"value": "其他"},
                           headers=served.as_subject(ADULT))
    assert r.status_code == 200, r.text
    tag = _tags(served)["gender"]
    assert tag["value"] == "其他" and tag["kind"] == "corrected" and tag["confidence"] == 1.0


def test_stop_profiling_empties_the_profile_and_forces_non_personalized(served: Served) -> None:
    h = served.as_subject(ADULT)
    assert served.client.get("/api/me/recommendations", headers=h).json()["mode"] == \
        "personalized"
    r = served.client.put("/api/me/switches", json={"stop_profiling": True}, headers=h)
    assert r.json() == {"stop_profiling": True, "non_personalized": False}
    assert _tags(served) == {}
    recs = served.client.get("/api/me/recommendations", headers=h).json()
    assert recs["mode"] == "non_personalized" and recs["forced_by"]["rule"] == "consent"
    assert all("not based on you" in i["explanation"] for i in recs["items"])


def test_non_personalized_choice_changes_recommendations(served: Served) -> None:
    h = served.as_subject(ADULT)
    served.client.put("/api/me/switches", json={"non_personalized": True}, headers=h)
    assert served.client.get("/api/me/recommendations", headers=h).json()["mode"] == \
        "non_personalized"
    explicit = served.client.get("/api/me/recommendations",
                                 params={"mode": "non_personalized"}, headers=h).json()
    assert explicit["mode"] == "non_personalized" and explicit["forced_by"] is None


def test_withdrawing_consent_is_one_call_like_granting_and_hides_tags(served: Served) -> None:
    h = served.as_subject(ADULT)
    out = served.client.post("/api/me/consents/personalization/withdraw", headers=h)
    assert out.status_code == 200 and out.json()["status"] == "withdrawn"
    assert not any(x["purpose"] == "personalization" for x in _tags(served).values())
    back = served.client.post("/api/me/consents/personalization/grant", headers=h)
    assert back.json()["status"] == "granted"
    assert any(x["purpose"] == "personalization" for x in _tags(served).values())
    view = served.client.get("/api/me/consents", headers=h).json()
    assert [c["recipient"] for c in view["separate"]] == ["AdNet Ltd"]
    contract = served.client.post("/api/me/consents/fulfilment/withdraw", headers=h)
    assert contract.status_code == 400 and "contract" in contract.json()["error"]["message"]


def test_erasure_request_is_queued_and_stops_processing_at_once(served: Served) -> None:
    h = served.as_subject(ADULT)
    req = served.client.post("/api/me/requests", json={"kind": "delete"}, headers=h).json()
    assert req["state"] == "in_progress" and req["queued_for_warehouse"]
    assert served.svc.book.preference(served.svc.store.resolve(ADULT)).objected
    done = served.client.post(f"/api/rights/{req['id']}/complete",
                              json={"outcome": "done", "reason": "erased"},
                              headers=served.as_staff("dpo"))
    assert done.status_code == 409 and "profileguard serve" in done.json()["error"]["message"]
    mine = served.client.get("/api/me/requests", headers=h).json()
    assert mine[0]["id"] == req["id"] and mine[0]["deadline"] > mine[0]["received_at"]


def test_pending_erasure_runs_when_the_server_starts(served: Served) -> None:
    from profileguard.server.pending import apply_pending

    req = served.client.post("/api/me/requests", json={"kind": "delete"},
                             headers=served.as_subject(ADULT)).json()
    served.app.state.pg.close()
    report = apply_pending(served.manifest)
    assert report.requests_done == [req["id"]] and not report.requests_failed
    from profileguard.pipeline.services import open_services

    with open_services(served.manifest) as svc:
        with svc.store.read() as conn:
            state = conn.execute(sa.select(t.rights_requests.c.state).where(
                t.rights_requests.c.id == req["id"])).scalar_one()
        assert state == "done"
        assert svc.store.user_id_for(svc.pid(ADULT)) is None


def test_staff_refusal_needs_a_reason_and_is_shown_to_the_person(served: Served) -> None:
    r = served.client.post("/api/rights", json={"user": ADULT, "kind": "delete",
                                                "verified_by": "ID card at the counter"},
                           headers=served.as_staff("dpo")).json()
    empty = served.client.post(f"/api/rights/{r['id']}/complete",
                               json={"outcome": "refused", "reason": ""},
                               headers=served.as_staff("dpo"))
    assert empty.status_code == 422
    ok = served.client.post(f"/api/rights/{r['id']}/complete",
                            json={"outcome": "refused", "reason": "orders kept under ECL 31"},
                            headers=served.as_staff("dpo"))
    assert ok.json()["state"] == "refused"
    mine = served.client.get(f"/api/me/requests/{r['id']}", headers=served.as_subject(ADULT))
    assert mine.json()["refusal_reason"] == "orders kept under ECL 31"


def test_access_request_is_answered_with_the_visible_profile(served: Served) -> None:
    r = served.client.post("/api/me/requests", json={"kind": "access", "details": {"lang": "en"}},
                           headers=served.as_subject(ADULT)).json()
    assert r["state"] == "done"
    assert {x["tag"] for x in r["result"]["profile"]} == set(_tags(served))


def test_complaint_lands_in_the_dpo_queue_with_a_deadline(served: Served) -> None:
    c = served.client.post("/api/me/complaints",
                           json={"kind": "unfair_price", "text": "I paid more than my friend"},
                           headers=served.as_subject(ADULT)).json()
    queue = served.client.get("/api/complaints", headers=served.as_staff("dpo")).json()
    assert [q["id"] for q in queue] == [c["id"]]
    import datetime as dt
    days = (dt.datetime.fromisoformat(c["deadline"]) -
            dt.datetime.fromisoformat(c["received_at"])).days
    assert days == 15
    res = served.client.post(f"/api/complaints/{c['id']}/resolve",
                             json={"resolution": "same price after the coupon"},
                             headers=served.as_staff("dpo")).json()
    assert res["state"] == "resolved"
    assert served.svc.ledger.tail(1)[0].kind == "complaint.resolved"


def test_audience_export_needs_a_dpo_approval_and_not_the_askers(built_ws) -> None:  # type: ignore[no-untyped-def]
    from server_harness import serve

    body = {"expression": "age_band IS NOT NULL", "purpose": "advertising",
            "recipient": "AdNet Ltd"}
    small = serve(built_ws)
    refused = small.client.post("/api/audiences/exports", json=body,
                                headers=small.as_staff("admin"))
    assert refused.status_code == 400
    assert "below the minimum" in refused.json()["error"]["message"]
    small.app.state.pg.close()
    text = built_ws.read_text("utf-8").replace("min_audience: 50", "min_audience: 10")
    built_ws.write_text(text, "utf-8")
    s = serve(built_ws)
    preview = s.client.post("/api/audiences/preview", json=body,
                            headers=s.as_staff("analyst")).json()
    assert 10 <= preview["size"] < preview["matched"] and preview["refused"] is None
    ask = s.client.post("/api/audiences/exports", json=body, headers=s.as_staff("admin")).json()
    assert ask["state"] == "pending"
    assert not list(s.svc.ws.exports_dir.glob("audience_*.csv"))
    approved = s.client.post(f"/api/audiences/exports/{ask['id']}/approve", json={},
                             headers=s.as_staff("dpo")).json()
    assert approved["state"] == "approved" and approved["rows"] == preview["size"]
    assert len(list(s.svc.ws.exports_dir.glob("audience_*.csv"))) == 1
    again = s.client.post(f"/api/audiences/exports/{ask['id']}/approve", json={},
                          headers=s.as_staff("dpo"))
    assert again.status_code == 409


def test_audit_report_in_every_format(served: Served) -> None:
    h = served.as_staff("dpo")
    run = served.client.post("/api/audit/run", params={"manifest": "naive.yaml"}, headers=h)
    naive = run.json()
    assert naive["score"] < 100 and naive["findings"]
    as_json = json.loads(served.client.get("/api/audit/report", params={"format": "json"},
                                           headers=h).text)
    assert "stage_scores" in as_json
    assert served.client.get("/api/audit/report", params={"format": "md"},
                             headers=h).text.startswith("#")
    assert "<html" in served.client.get("/api/audit/report", params={"format": "html"},
                                        headers=h).text.lower()
    sarif = json.loads(served.client.get("/api/audit/report", params={"format": "sarif"},
                                         headers=h).text)
    assert sarif["version"] == "2.1.0"
    for draft in ("pia", "filing"):
        for fmt in ("md", "html"):
            r = served.client.get(f"/api/audit/{draft}", params={"format": fmt}, headers=h)
            assert r.status_code == 200 and len(r.text) > 200
    nope = served.client.get("/api/audit/report", params={"manifest": "../x.yaml"}, headers=h)
    assert nope.status_code == 404


def test_ledger_verifies_after_server_activity(served: Served) -> None:
    served.client.put("/api/me/switches", json={"stop_profiling": True},
                      headers=served.as_subject(ADULT))
    r = served.client.get("/api/ledger/verify", headers=served.as_staff("dpo")).json()
    assert r["ok"] is True


def test_errors_are_json_with_a_message_and_no_stack_trace(served: Served) -> None:
    def boom() -> None:
        raise RuntimeError("secret internals")

    served.app.add_api_route("/api/boom", boom)
    r = served.client.get("/api/boom")
    assert r.status_code == 500
    body = r.json()["error"]
    assert "reference" in body and "secret internals" not in r.text and "Traceback" not in r.text
    missing = served.client.get("/api/nothing-here").json()["error"]
    assert missing["status"] == 404 and "/docs" in missing["message"]


def test_subject_endpoints_are_rate_limited(built_ws) -> None:  # type: ignore[no-untyped-def]
    from server_harness import serve

    s = serve(built_ws, subject_rate_per_minute=3)
    h = s.as_subject(ADULT)
    codes = [s.client.get("/api/me/switches", headers=h).status_code for _ in range(4)]
    assert codes == [200, 200, 200, 429]
    last = s.client.get("/api/me/switches", headers=h)
    assert int(last.headers["Retry-After"]) >= 1


def test_health_reports_the_snapshot(served: Served) -> None:
    assert served.client.get("/api/health").json()["snapshot"] == 1
