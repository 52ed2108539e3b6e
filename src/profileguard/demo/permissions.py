"""``permissions.csv``: which app permissions each person was asked for and granted.

The demo app asks for notifications and precise location on first launch (like most
shopping apps) and for contacts, camera, photos and microphone less often; ~6% of grants
are later revoked in the phone's settings (a second, later row with ``granted=false``).
Precise location that is still granted decides whose sessions carry GPS in the events.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

from profileguard.demo.clock import DAY
from profileguard.demo.population import Population
from profileguard.demo.text_columns import pick, timestamps

BoolArray = npt.NDArray[np.bool_]

# permission, share asked, share granted when asked, asked on first launch
PERMISSIONS: tuple[tuple[str, float, float, bool], ...] = (
    ("contacts", 0.6, 0.3, True),
    ("location_precise", 0.9, 0.55, True),
    ("camera", 0.4, 0.8, False),
    ("microphone", 0.2, 0.7, False),
    ("notifications", 1.0, 0.65, True),
    ("photos", 0.5, 0.75, False),
)
REVOKE_SHARE = 0.06


def make_permissions(
    rng: np.random.Generator, pop: Population, now: int
) -> tuple[pa.Table, BoolArray]:
    """The permissions rows of a block and, per user, whether precise location is granted now."""
    users: list[npt.NDArray[np.int64]] = []
    kinds: list[npt.NDArray[np.int64]] = []
    granted: list[BoolArray] = []
    times: list[npt.NDArray[np.int64]] = []
    location_now = np.zeros(pop.size, dtype=np.bool_)
    for k, (name, asked_p, granted_p, at_launch) in enumerate(PERMISSIONS):
        asked = np.flatnonzero(rng.random(pop.size) < asked_p)
        delay = (
            rng.integers(5, 600, size=len(asked))
            if at_launch
            else (rng.exponential(30.0, size=len(asked)) * DAY).astype(np.int64)
        )
        when = pop.register[asked] + delay
        keep = when <= now
        asked, when = asked[keep], when[keep]
        yes = rng.random(len(asked)) < granted_p
        revoke = yes & (rng.random(len(asked)) < REVOKE_SHARE)
        revoke_at = when + (rng.random(len(asked)) * (now - when)).astype(np.int64)
        users += [asked, asked[revoke]]
        kinds += [
            np.full(len(asked), k, dtype=np.int64),
            np.full(int(revoke.sum()), k, dtype=np.int64),
        ]
        granted += [yes, np.zeros(int(revoke.sum()), dtype=np.bool_)]
        times += [when, revoke_at[revoke]]
        if name == "location_precise":
            location_now[asked[yes & ~revoke]] = True
    user = np.concatenate(users)
    kind = np.concatenate(kinds)
    ts = np.concatenate(times)
    order = np.lexsort((kind, user, ts))
    table = pa.table(
        {
            "user_id": pc.take(pop.user_id, pa.array(user[order])),
            "permission": pick([p[0] for p in PERMISSIONS], kind[order]),
            "granted": pa.array(np.concatenate(granted)[order]),
            "ts": timestamps(ts[order]),
        }
    )
    return table, location_now
