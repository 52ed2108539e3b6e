"""Incidents (affected people, PIPL 57 drafts, 72-hour clock, ledger), the evidence bundle,
the PIA and filing drafts, and the generated rules page."""

from __future__ import annotations

import datetime as dt
import hashlib
import zipfile
from pathlib import Path

import pytest

from profileguard.audit import incidents
from profileguard.audit.api import load_context
from profileguard.audit.docs_gen import coverage_rows, rules_markdown
from profileguard.audit.drafts.document import to_html, to_markdown
from profileguard.audit.drafts.filing import filing_document
from profileguard.audit.drafts.pia import pia_document
from profileguard.audit.engine import run_audit
from profileguard.audit.evidence import write_evidence
from profileguard.errors import ProfileguardError
from profileguard.pipeline.services import open_services
from profileguard.store.ledger_verify import verify

AS_OF = dt.date(2026, 11, 1)
DETECTED = dt.datetime(2026, 10, 30, 8, tzinfo=dt.UTC)
REPO = Path(__file__).resolve().parents[2]


def test_incident_lifecycle_counts_people_notifies_and_chains_the_ledger(demo_ws: Path) -> None:
    with open_services(demo_ws) as svc:
        cats = ["user.contact.phone_number"]
        affected = incidents.affected_users(svc.engine, svc.manifest, cats, None, None)
        phones = svc.engine.query_rows("SELECT count(DISTINCT user_id) FROM users "
                                       "WHERE phone IS NOT NULL")[0][0]
        assert affected.total == phones > 0
        inc = incidents.open_incident(svc.store, svc.ledger, svc.manifest, affected,
                                      title="CRM export left public", detected_at=DETECTED,
                                      categories=cats, window=(None, None))
        with pytest.raises(ProfileguardError, match="PIPL 57"):
            incidents.notify(svc.store, svc.ledger, inc["id"], "shop")
        ctx = load_context(demo_ws, as_of=AS_OF)[0]
        assert [f.rule for f in run_audit(ctx).findings if f.law == "PIPL" and
                f.article == "57"] == ["PIPL-57-breach-notice"]
        incidents.update_incident(svc.store, svc.ledger, inc["id"], {
            "cause": "public bucket", "harm": "spam calls", "remedies": "bucket closed"})
        done = incidents.notify(svc.store, svc.ledger, inc["id"], "小满优选")
        assert "spam calls" in done["notification"]["drafts"]["individuals"]
        assert "Categories of PI: user.contact.phone_number" in (
            done["notification"]["drafts"]["regulator"])
        incidents.close(svc.store, svc.ledger, inc["id"], "monthly bucket review")
        kinds = [e.kind for e in svc.ledger.tail(10) if e.kind.startswith("incident.")]
        assert kinds == ["incident.open", "incident.update", "incident.notify", "incident.close"]
        assert verify(svc.ledger).ok
    ctx = load_context(demo_ws, as_of=AS_OF)[0]
    assert not [f for f in run_audit(ctx).findings if f.rule == "PIPL-57-breach-notice"]


def test_incident_window_limits_event_sources_only(demo_ws: Path) -> None:
    with open_services(demo_ws) as svc:
        cats = ["user.behavior.purchase_history"]
        window = (dt.datetime(2026, 10, 1), dt.datetime(2026, 10, 31))
        inside = incidents.affected_users(svc.engine, svc.manifest, cats, *window)
        every = incidents.affected_users(svc.engine, svc.manifest, cats, None, None)
        buyers = svc.engine.query_rows(
            "SELECT count(DISTINCT user_id) FROM orders WHERE order_time BETWEEN "
            "TIMESTAMP '2026-10-01' AND TIMESTAMP '2026-10-31'")[0][0]
    assert 0 < inside.by_category[cats[0]] < every.by_category[cats[0]]
    assert inside.by_category[cats[0]] >= buyers


def test_evidence_bundle_holds_every_part_with_matching_digests(demo_ws: Path,
                                                                tmp_path: Path) -> None:
    ctx, sha = load_context(demo_ws, as_of=AS_OF)
    out = tmp_path / "evidence.zip"
    digests = write_evidence(ctx, out, sha)
    with zipfile.ZipFile(out) as zf:
        names = set(zf.namelist())
        assert {"audit/report.json", "audit/report.sarif", "ledger/verification.json",
                "pia/pia-draft.md", "manifest/profileguard.yaml", "manifest/sha256.txt",
                "rights/statistics.json", "SHA256SUMS"} <= names
        sums = dict(reversed(line.split("  ", 1)) for line in
                    zf.read("SHA256SUMS").decode().splitlines())
        for name, digest in sums.items():
            assert hashlib.sha256(zf.read(name)).hexdigest() == digest == digests[name]
        assert zf.read("manifest/sha256.txt").decode().startswith(sha)
        assert b'"ok": true' in zf.read("ledger/verification.json")


def test_pia_draft_lists_triggers_risks_measures_and_sign_off() -> None:
    ctx, sha = load_context(REPO / "src/profileguard/demo/manifests/naive.yaml", as_of=AS_OF,
                            data=False)
    md = to_markdown(pia_document(ctx, run_audit(ctx, sha256=sha)))
    for part in ("Processing inventory", "PIPL 55", "automated_decisions", "Risks per stage",
                 "Measures in place", "Residual risk", "sign-off", "events.lat"):
        assert part in md
    assert "| Collection | high |" in md


def test_filing_draft_reports_data_categories_and_open_self_assessment_items() -> None:
    ctx, sha = load_context(REPO / "src/profileguard/demo/manifests/naive.yaml", as_of=AS_OF,
                            data=False)
    doc = filing_document(ctx, run_audit(ctx, sha256=sha))
    md, html = to_markdown(doc), to_html(doc)
    assert "user.health_and_medical" in md or "pregnancy_likely" in md
    assert "| ALG 17 |" in md and "open: recommendation offers no off switch" in md
    assert "<table>" in html and "<script" not in html


def test_docs_rules_md_is_generated_from_the_code() -> None:
    assert (REPO / "docs/rules.md").read_text("utf-8") == rules_markdown()


def test_rules_page_covers_every_law_row_or_says_it_is_pending() -> None:
    for law, article, _, rules, note in coverage_rows():
        assert rules or note, f"{law} {article} neither covered nor explained"
