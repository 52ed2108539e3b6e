"""The audit's consent facts, read from consents_current, equal the facts recomputed from
the consent log itself (the tamper-evident source), on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
import random
from collections import Counter

from consent_log import in_force_from_log
from profileguard.audit import facts
from profileguard.audit.context import ConsentCount
from profileguard.consent import ConsentBook, ConsentPolicy
from profileguard.store.engine import DuckDBEngine
from profileguard.store.operational import OperationalStore

T0 = dt.datetime(2026, 3, 1, 9, 0, tzinfo=dt.UTC)
KEY = b"audit-consent-facts-key-00000000"
KIDS = {"p_u01", "p_u02", "p_u03", "p_u04"}


def populated(state_url: str) -> tuple[OperationalStore, ConsentBook]:
    rng = random.Random(11)
    store = OperationalStore(state_url, pseudonymize=KEY)
    book = ConsentBook(store, ConsentPolicy())
    for _ in range(240):
        book.record(
            f"p_u{rng.randrange(30):02d}",
            rng.choice(["personalization", "advertising", "analytics"]),
            rng.choice(["granted", "granted", "withdrawn", "refused"]),
            consent_type=rng.choice(["general", "separate", "guardian"]),
            recipient=rng.choice([None, None, "adnet"]),
            notice_version=rng.choice(["v1", "v2", None]),
            pre_ticked=rng.random() < 0.2, bundled=rng.random() < 0.2,
            given_at=T0 + dt.timedelta(hours=rng.randrange(8)),
        )
    store.register_identities(["raw-a", "raw-b"])  # known, no consent record
    book.object("p_u05")
    book.set_non_personalized("p_u06")
    book.object("p_only_prefs")  # known only through a preference
    return store, book


def test_consent_facts_equal_the_record_in_force_recomputed_from_the_log(
    state_url: str,
) -> None:
    store, _ = populated(state_url)
    engine = DuckDBEngine()
    engine.execute("CREATE TEMP TABLE _audit_births AS SELECT * FROM (VALUES "
                   + ", ".join(f"('{u}', 9)" for u in sorted(KIDS))
                   + ", ('p_u20', 30)) v(user_pid, age)")
    got = facts._consent(store, engine, births=True)

    latest = in_force_from_log(store)
    counts = Counter((r.purpose, r.recipient, r.status, r.consent_type, bool(r.pre_ticked),
                      bool(r.bundled), r.notice_version) for r in latest.values())
    expected = sorted((ConsentCount(*k, n) for k, n in counts.items()), key=repr)
    assert sorted(got.in_force, key=repr) == expected
    users = {k[0] for k in latest} | {store.resolve("raw-a"), store.resolve("raw-b"),
                                      "p_only_prefs", "p_u05", "p_u06"}
    assert got.users_known == len(users)
    guardian: Counter[str] = Counter()
    self_granted: Counter[str] = Counter()
    for (user, purpose, recipient), r in latest.items():
        if user in KIDS and recipient == "" and r.status == "granted":
            (guardian if r.consent_type == "guardian" else self_granted)[purpose] += 1
    assert sum(guardian.values()) and sum(self_granted.values())
    assert got.under14_guardian == dict(guardian)
    assert got.under14_self_granted == dict(self_granted)
    assert (got.objectors, got.non_personalized) == (2, 1)
    with store.read() as conn:
        withdrawn = facts._withdrawn(conn, ["personalization", "analytics"])
    assert {p: sorted(u) for p, u in withdrawn.items()} == {
        p: sorted(u for (u, pp, rc), r in latest.items()
                  if pp == p and rc == "" and r.status == "withdrawn")
        for p in ("personalization", "analytics")}
    engine.close()
    store.close()
