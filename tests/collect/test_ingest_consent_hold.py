"""The gate holds back behaviour rows of people without consent, and releases them later."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from profileguard.collect.ingest import HELD
from profileguard.pipeline.ingest import consent_based_purposes, ingest_workspace
from profileguard.pipeline.services import open_services

MANIFEST = """\
organization: {name: Shop}
sources:
  clicks: {format: csv, path: clicks.csv, user: uid, time: ts}
fields:
  clicks:
    uid: {category: user.unique_id, purposes: [personalization]}
    ts: {category: user.behavior.browsing_history, type: timestamp, purposes: [personalization]}
    item: {category: user.behavior.browsing_history, purposes: [personalization]}
purposes:
  personalization: {basis: consent}
notice:
  version: "1"
  history: [{version: "1", purposes: [personalization], categories: [user]}]
"""


def test_rows_of_people_without_consent_are_held_then_released(tmp_path: Path) -> None:
    (tmp_path / "profileguard.yaml").write_text(MANIFEST)
    (tmp_path / "clicks.csv").write_text(
        "uid,ts,item\nU1,2025-01-01 00:00:00,a\nU2,2025-01-01 00:00:00,b\n"
        "U2,2025-01-02 00:00:00,c\n")
    now = dt.datetime(2026, 1, 1)
    with open_services(tmp_path / "profileguard.yaml") as svc:
        assert consent_based_purposes(svc, "clicks") == ["personalization"]
        svc.book.grant(svc.pid("U1"), "personalization", notice_version="1")
        report = ingest_workspace(svc, now=now)
        assert report.loaded == 1 and report.held == 2 and report.reconciles
        held = svc.engine.query_rows(f"SELECT user_pid FROM {HELD}")
        assert {r[0] for r in held} == {svc.pid("U2")}
        svc.book.grant(svc.pid("U2"), "personalization", notice_version="1")
        again = ingest_workspace(svc, now=now)
        assert again.released == {"clicks": 2}
        assert svc.engine.query_rows("SELECT count(*) FROM clicks")[0][0] == 3
        assert svc.engine.query_rows(f"SELECT count(*) FROM {HELD}")[0][0] == 0


def test_a_source_with_a_non_consent_purpose_is_not_held(tmp_path: Path) -> None:
    text = MANIFEST.replace("purposes: [personalization]}\n    ts",
                            "purposes: [personalization, security]}\n    ts").replace(
        "  personalization: {basis: consent}", "  personalization: {basis: consent}\n"
        "  security: {basis: legal_obligation}")
    (tmp_path / "profileguard.yaml").write_text(text)
    (tmp_path / "clicks.csv").write_text("uid,ts,item\nU1,2025-01-01 00:00:00,a\n")
    with open_services(tmp_path / "profileguard.yaml") as svc:
        report = ingest_workspace(svc, now=dt.datetime(2026, 1, 1))
        assert report.loaded == 1 and report.held == 0
