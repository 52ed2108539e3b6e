"""Rights over the warehouse: erasure reaches derived data and is verified; objection and
withdrawal stop processing at once; access and export give everything held."""

from __future__ import annotations

import csv
import datetime as dt
import json
import zipfile
from pathlib import Path

import pytest

from profileguard.apply.audience import AudienceSpec, select_audience
from profileguard.model import snapshot
from profileguard.pipeline.ingest import ingest_workspace
from profileguard.pipeline.profiles import build_profiles
from profileguard.pipeline.rights import handle
from profileguard.pipeline.services import Services, open_services

AS_OF = dt.datetime(2026, 11, 1)


def raw_user_with_everything(root: Path) -> dict[str, str]:
    """A user with a phone, e-mail and ID number, and with orders."""
    with (root / "data" / "orders.csv").open(encoding="utf-8") as fh:
        buyers = {r["user_id"] for r in csv.DictReader(fh)}
    with (root / "data" / "users.csv").open(encoding="utf-8") as fh:
        for r in csv.DictReader(fh):
            if r["email"] and r["id_number"] and r["user_id"] in buyers:
                return r
    raise AssertionError("no suitable demo user")


def tags_of(svc: Services, pid: str) -> list[str]:
    snap = snapshot.current(svc.engine)
    assert snap is not None
    return [r[0] for r in svc.engine.query_rows(
        f"SELECT tag FROM {snap.long} WHERE user_id = ?", [pid])]


def test_erasure_leaves_no_identifier_anywhere_and_keeps_late_rows_out(
        demo_state: tuple[Path, str | None]) -> None:
    demo_ws, url = demo_state
    root = demo_ws.parent
    person = raw_user_with_everything(root)
    with open_services(demo_ws, state_url=url) as svc:
        pid = svc.pid(person["user_id"])
        svc.book.grant(pid, "personalization", notice_version="2025.2")
        build_profiles(svc, AS_OF)
        assert tags_of(svc, pid)
        # an audience selection leaves a cache of guard verdicts keyed by user (apply/)
        spec = AudienceSpec("age_band IS NOT NULL", "personalization", min_size=1)
        select_audience(svc, spec, members=True)
        req = handle(svc, person["user_id"], "delete")
    result = req.result or {}
    assert req.state == "done"
    assert result["deleted"]["audience guards"] >= 1
    assert result["residuals"] == [] and result["verified"] is True
    assert result["deleted"]["users"] == 1 and result["deleted"]["snapshots"] > 0
    assert result["deleted"]["state.consents_current"] >= 1  # the derived consent state too
    assert result["restricted"]["orders"]["rows"] > 0  # ECL 31 legal hold: kept, not processed
    assert any(p.endswith("users.csv") for p in result["upstream_files"])
    # grep every file profileguard keeps for the raw identifiers
    secrets = [person["user_id"], person["phone"], person["email"], person["id_number"]]
    for path in (root / ".profileguard").rglob("*"):
        if path.is_file():
            data = path.read_bytes()
            for s in secrets:
                assert s.encode() not in data, (path, s)
    # the pseudonym survives only where kept by design (ledger, request record, tombstone)
    warehouse = (root / ".profileguard" / "warehouse.duckdb").read_bytes()
    assert warehouse.count(pid.encode()) <= 2
    with open_services(demo_ws, state_url=url) as svc:
        report = ingest_workspace(svc, sources=["users", "events"], now=AS_OF, force=True)
        assert report.quarantined["erased_user"] >= 1
        assert report.reconciles
        build_profiles(svc, AS_OF)
        assert tags_of(svc, pid) == []
        assert svc.engine.query_rows("SELECT count(*) FROM users WHERE user_id = ?", [pid])[0][0] == 0


def test_a_correction_shows_at_once_and_erasure_takes_it_away(demo_ws: Path) -> None:
    """The long snapshot is a view over the wide table and the corrections table: the rights
    desk's correction must show in it at once, and erasure must empty both tables."""
    person = raw_user_with_everything(demo_ws.parent)
    with open_services(demo_ws) as svc:
        pid = svc.pid(person["user_id"])
        svc.book.grant(pid, "personalization", notice_version="2025.2")
        build_profiles(svc, AS_OF)
        snap = snapshot.current(svc.engine)
        assert snap is not None and "age_band" in tags_of(svc, pid)
        handle(svc, person["user_id"], "correct", {"tag": "age_band", "value": "60+"})
        assert svc.engine.query_rows(
            f"SELECT value, kind, confidence FROM {snap.long} WHERE user_id = ? "
            "AND tag = 'age_band'", [pid]) == [("60+", "corrected", 1.0)]

        def held() -> list[int]:
            return [int(svc.engine.query_rows(f"SELECT count(*) FROM {table} WHERE user_id = ?",
                                              [pid])[0][0])
                    for table in (snap.wide, snap.corrections, snap.long)]

        assert held()[:2] == [1, 1]
        req = handle(svc, person["user_id"], "delete")
        assert (req.result or {})["residuals"] == []
        assert held() == [0, 0, 0]


def test_objection_removes_tags_at_once_and_from_later_builds(
        demo_state: tuple[Path, str | None]) -> None:
    demo_ws, url = demo_state
    with open_services(demo_ws, state_url=url) as svc:
        pid = svc.engine.query_rows("SELECT user_id FROM orders GROUP BY 1 ORDER BY count(*) DESC "
                                    "LIMIT 1")[0][0]
        svc.book.grant(pid, "personalization", notice_version="2025.2")
        svc.book.grant(pid, "tiered_operations", notice_version="2025.2")
        build_profiles(svc, AS_OF)
        assert tags_of(svc, pid)
        audience = AudienceSpec("rfm_segment IS NOT NULL OR age_band IS NOT NULL",
                                "tiered_operations", min_size=1)
        assert pid in select_audience(svc, audience, members=True).members
        req = handle(svc, pid, "object")
        assert (req.result or {})["tags_removed_now"] > 0
        assert tags_of(svc, pid) == []
        build_profiles(svc, AS_OF)
        assert tags_of(svc, pid) == []
        # outside every audience, with or without a recipient
        for spec in (audience, AudienceSpec("age_band IS NOT NULL", "advertising", "AdNet Ltd",
                                            min_size=1)):
            assert pid not in select_audience(svc, spec, members=True).members


@pytest.mark.parametrize("purpose", ["personalization", "tiered_operations"])
def test_withdrawn_or_never_given_consent_removes_the_purposes_tags(demo_ws: Path,
                                                                     purpose: str) -> None:
    with open_services(demo_ws) as svc:
        # adults: a minor's general consent does not allow the tags (guardian consent under
        # 14), and which two people come first depends on the workspace's pseudonym key
        users = [r[0] for r in svc.engine.query_rows(
            "SELECT user_id FROM orders WHERE status = 'paid' AND user_id IN (SELECT user_id "
            "FROM users WHERE birth_date <= DATE '2008-11-01') GROUP BY 1 "
            "HAVING count(*) >= 2 ORDER BY 1 LIMIT 2")]
        withdrawn, never = users
        for pid in users:
            for p in ("personalization", "tiered_operations"):
                svc.book.grant(pid, p, notice_version="2025.2")
        svc.book.withdraw(never, purpose)
        with svc.store.write() as conn:  # "never given": no record at all for the purpose
            import sqlalchemy as sa

            from profileguard.store import tables as t
            conn.execute(sa.delete(t.consents).where(t.consents.c.user_pid == never,
                                                     t.consents.c.purpose == purpose))
        build_profiles(svc, AS_OF)
        purpose_tags = {t.name for t in svc.manifest.tags if t.purpose == purpose}
        assert set(tags_of(svc, withdrawn)) & purpose_tags
        handle(svc, withdrawn, "withdraw", {"purpose": purpose})
        assert not set(tags_of(svc, withdrawn)) & purpose_tags  # at once
        build_profiles(svc, AS_OF)
        for pid in users:
            assert not set(tags_of(svc, pid)) & purpose_tags


def test_access_and_export_give_everything_held(demo_ws: Path) -> None:
    with open_services(demo_ws) as svc:
        pid = svc.engine.query_rows("SELECT user_id FROM orders GROUP BY 1 LIMIT 1")[0][0]
        svc.book.grant(pid, "personalization", notice_version="2025.2")
        build_profiles(svc, AS_OF)
        access = handle(svc, pid, "access", {"lang": "en"}).result or {}
        assert access["profile"] and all(t["explanation"] for t in access["profile"])
        assert "orders" in access["data_held"] and access["recipients"]
        assert any(c["purpose"] == "personalization" for c in access["consents"])
        exported = handle(svc, pid, "export").result or {}
    data = json.loads(Path(exported["json"]).read_text("utf-8"))
    assert data["records"]["orders"]
    with zipfile.ZipFile(exported["zip"]) as zf:
        assert "orders.csv" in zf.namelist() and "tags.csv" in zf.namelist()


def test_dsr_cli_delete_tag_and_status(demo_ws: Path) -> None:
    from typer.testing import CliRunner

    from profileguard.cli import app

    with open_services(demo_ws) as svc:
        pid = svc.engine.query_rows("SELECT user_id FROM orders GROUP BY 1 LIMIT 1")[0][0]
        svc.book.grant(pid, "personalization", notice_version="2025.2")
        build_profiles(svc, AS_OF)
    runner = CliRunner()
    out = runner.invoke(app, ["dsr", "delete-tag", pid, "gender", "--manifest", str(demo_ws),
                              "--format", "json"])
    assert out.exit_code == 0, out.output
    request = json.loads(out.output)
    assert request["state"] == "done"
    status = runner.invoke(app, ["dsr", "status", str(request["request"]), "--manifest",
                                 str(demo_ws), "--format", "json"])
    assert json.loads(status.output)["kind"] == "delete_tag"
    with open_services(demo_ws) as svc:
        assert "gender" not in tags_of(svc, pid)


def test_erasure_reports_an_identifier_another_account_holds_apart_and_keeps_that_account(
        demo_ws: Path) -> None:
    """Two accounts with one e-mail (a shared address or a second account of the person):
    erasing one must not delete the other's row on a guess, nor call the erasure clean
    without saying so — the other account is named for review, not counted as a residual."""
    root = demo_ws.parent
    person = raw_user_with_everything(root)
    with open_services(demo_ws) as svc:
        pid = svc.pid(person["user_id"])
        email = svc.engine.query_rows("SELECT email FROM users WHERE user_id = ?", [pid])[0][0]
        assert email
        other = svc.engine.query_rows(
            "SELECT user_id FROM users WHERE user_id <> ? ORDER BY user_id LIMIT 1", [pid])[0][0]
        svc.engine.execute("UPDATE users SET email = ? WHERE user_id = ?", [email, other])
        req = handle(svc, person["user_id"], "delete")
        result = req.result or {}
        assert req.state == "done"
        assert result["residuals"] == [] and result["verified"] is True
        shared = result["shared_with_other_accounts"]
        assert len(shared) == 1 and "users.email: 1 row(s)" in shared[0] and other in shared[0]
        assert svc.engine.query_rows("SELECT count(*) FROM users WHERE user_id = ?",
                                     [other])[0][0] == 1


def test_erasure_names_an_identifier_left_in_the_operational_store(demo_ws: Path) -> None:
    """Verification scans every text column of the operational store: a phone number written
    into another person's complaint survives the erasure (that row is not the requester's),
    so the erasure is not verified and the column is named with its row count."""
    import sqlalchemy as sa

    from profileguard.store import tables as t

    person = raw_user_with_everything(demo_ws.parent)
    now = dt.datetime.now(dt.UTC)
    with open_services(demo_ws) as svc:
        with svc.store.write() as conn:
            conn.execute(sa.insert(t.complaints), [
                {"user_pid": "p_someoneelse", "kind": "wrong_tag", "state": "open",
                 "text": f"my neighbour's number is {person['phone']}, not mine",
                 "received_at": now, "deadline": now, "resolution": None},
                {"user_pid": "p_someoneelse", "kind": "wrong_tag", "state": "open",
                 "text": "no identifier here", "received_at": now, "deadline": now,
                 "resolution": f"called {person['phone']} by mistake"}])
        req = handle(svc, person["user_id"], "delete")
    result = req.result or {}
    assert result["verified"] is False
    assert sorted(r for r in result["residuals"] if r.startswith("state ")) == [
        "state complaints.resolution: 1 row(s)", "state complaints.text: 1 row(s)"]
