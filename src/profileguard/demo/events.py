"""``events.parquet``: the clickstream with device, network and location per session.

Each session runs on the person's main phone, or for ~12% of sessions a second device with
another OS. IP addresses come from Chinese carriers' ranges, ~8% IPv6. Precise GPS
(six decimals near the home city) is recorded on sessions of people who granted
``location_precise``, tuned to ~10% of all events; every other event has null lat/lon.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

from profileguard.demo.catalog import Catalog
from profileguard.demo.geography import CityColumns
from profileguard.demo.pools import Pools
from profileguard.demo.population import OS_NAMES, Population
from profileguard.demo.sessions import EVENT_TYPES, SEARCH, Clickstream
from profileguard.demo.text_columns import (
    concat,
    pick,
    prefixed_ids,
    random_text,
    timestamps,
    with_nulls,
)
from profileguard.demo.vocabulary import CATEGORY_KEYS

IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]

_V4_FIRST_OCTETS = np.array(
    [
        36,
        39,
        42,
        49,
        58,
        59,
        60,
        61,
        101,
        106,
        110,
        111,
        112,
        113,
        114,
        115,
        116,
        117,
        119,
        120,
        121,
        122,
        123,
        124,
        125,
        139,
        171,
        175,
        180,
        182,
        183,
        202,
        210,
        211,
        218,
        219,
        220,
        221,
        222,
        223,
    ],
    dtype=np.int64,
)
_V6_PREFIXES = ("240e", "2408", "2409")
IPV6_SHARE = 0.08
GPS_SESSION_SHARE = 0.22


@dataclass(frozen=True)
class EventIds:
    """Where numbering continues in the next block."""

    last_event: int
    last_session: int


def _ip_addresses(rng: np.random.Generator, n: int) -> pa.Array:
    octets = [pa.array(_V4_FIRST_OCTETS[rng.integers(0, len(_V4_FIRST_OCTETS), size=n)])]
    octets += [pa.array(rng.integers(0, 256, size=n)) for _ in range(2)]
    octets += [pa.array(rng.integers(1, 255, size=n))]
    parts: list[pa.Array | str] = []
    for i, octet in enumerate(octets):
        parts += ([] if i == 0 else ["."]) + [pc.cast(octet, pa.string())]
    v4 = concat(*parts)
    v6 = concat(
        pick(_V6_PREFIXES, rng.integers(0, len(_V6_PREFIXES), size=n)),
        ":",
        random_text(rng, n, 4, "hex"),
        ":",
        random_text(rng, n, 4, "hex"),
        ":",
        random_text(rng, n, 4, "hex"),
        "::",
        random_text(rng, n, 3, "hex"),
    )
    return pc.if_else(pa.array(rng.random(n) < IPV6_SHARE), v6, v4)


def event_table(
    rng: np.random.Generator,
    stream: Clickstream,
    session_user: IntArray,
    pop: Population,
    catalog: Catalog,
    pools: Pools,
    cities: CityColumns,
    location_granted: BoolArray,
    ids: EventIds,
) -> tuple[pa.Table, EventIds]:
    """The events table of one block; ids continue from ``ids``."""
    n_sessions = len(session_user)
    order = np.full(n_sessions, -1, dtype=np.int64)
    seen = np.unique(stream.session, return_index=True)
    first_seen = np.argsort(seen[1], kind="stable")
    order[seen[0][first_seen]] = np.arange(len(first_seen))
    session_number = ids.last_session + 1 + order[stream.session]

    other_device = rng.random(n_sessions) < 0.12
    os_session = np.where(other_device, (pop.os[session_user] + 1) % 3, pop.os[session_user])
    device_session = pc.if_else(
        pa.array(other_device),
        pc.take(pop.second_device, pa.array(session_user)),
        pc.take(pop.device, pa.array(session_user)),
    )
    ip_session = _ip_addresses(rng, n_sessions)
    gps_session = (
        location_granted[session_user]
        & ~other_device
        & (rng.random(n_sessions) < GPS_SESSION_SHARE)
    )
    home = pop.city[session_user]
    lat_session = np.round(cities.lat[home] + rng.normal(0.0, 0.05, n_sessions), 6)
    lon_session = np.round(cities.lon[home] + rng.normal(0.0, 0.05, n_sessions), 6)

    s = stream.session
    user_index = session_user[s]
    n = stream.size
    take = pa.array(s)
    gps = gps_session[s]
    queries = _queries(rng, pools, stream.category)
    item = pc.take(catalog.item_id, pa.array(np.maximum(stream.item, 0)))
    table = pa.table(
        {
            "event_id": prefixed_ids("E", ids.last_event + 1 + np.arange(n), 12),
            "user_id": pc.take(pop.user_id, pa.array(user_index)),
            "session_id": prefixed_ids("SN", session_number, 10),
            "ts": timestamps(stream.ts),
            "event_type": pick(EVENT_TYPES, stream.kind),
            "item_id": with_nulls(item, stream.item < 0),
            "category": pick(CATEGORY_KEYS, stream.category),
            "query": with_nulls(queries, stream.kind != SEARCH),
            "dwell_ms": pa.array(stream.dwell_ms, type=pa.int64()),
            "device_os": pick(OS_NAMES, os_session[s]),
            "device_id": pc.take(device_session, take),
            "ip": pc.take(ip_session, take),
            "lat": pa.array(np.where(gps, lat_session[s], np.nan), mask=~gps, type=pa.float64()),
            "lon": pa.array(np.where(gps, lon_session[s], np.nan), mask=~gps, type=pa.float64()),
        }
    )
    return table, EventIds(ids.last_event + n, ids.last_session + len(first_seen))


def _queries(rng: np.random.Generator, pools: Pools, category: IntArray) -> pa.Array:
    """A search query of the event's category for every event (nulled later for non-searches)."""
    flat: list[str] = []
    offsets = [0]
    for key in CATEGORY_KEYS:
        flat += pools.queries[key]
        offsets.append(len(flat))
    start = np.array(offsets[:-1], dtype=np.int64)[category]
    size = np.diff(np.array(offsets, dtype=np.int64))[category]
    return pick(flat, start + (rng.random(len(category)) * size).astype(np.int64))
