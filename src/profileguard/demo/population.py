"""The demo's customers: ``users.csv`` and the hidden traits that drive their behaviour.

Each person gets observable attributes (phone, Chinese name, some e-mail, a resident ID for
about a quarter, birth date by age band: ~3% under 14, ~6% aged 14–17, ~12% aged 60+,
gender, city and tier, registration, channel, membership, phone OS) and latent traits that
the order, event and pricing generators read: a BG/NBD purchase rate ``λ ~ Gamma(r=0.6,
α=0.12)`` per year and dropout probability ``p ~ Beta(0.7, 3.5)``, a Dirichlet category
preference, a browsing activity, and two planted segments (expecting parents, health buyers).

Dirt on purpose: ``remark`` holds free text with a phone number for ~2% of users, and
``wechat_id`` is a column no manifest declares.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

from profileguard.demo.clock import DAY, SHOP_START, at_shopping_hour, seconds
from profileguard.demo.geography import CityColumns
from profileguard.demo.identity import birth_dates, mobile_numbers, resident_ids, sample_ages
from profileguard.demo.pools import EMAIL_DOMAINS, Pools
from profileguard.demo.text_columns import (
    concat,
    digits,
    pick,
    prefixed_ids,
    random_text,
    timestamps,
    with_nulls,
)
from profileguard.demo.vocabulary import CATEGORIES, category_index

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]

OS_NAMES: tuple[str, ...] = ("iOS", "Android", "HarmonyOS")
CHANNELS: tuple[str, ...] = ("app", "web", "mini_program")
BGNBD_R, BGNBD_ALPHA = 0.6, 0.12
DROPOUT_A, DROPOUT_B = 0.7, 3.5
REMARK_WITH_PHONE = 0.02
_PHONE_REMARKS = ("请联系{}送货", "放门卫，电话{}", "备用电话{}", "周末送货，联系{}", "到了打{}")
_OTHER_REMARKS = ("请尽快发货", "不要放快递柜", "工作日白天不在家", "发票抬头写公司", "老客户")


@dataclass(frozen=True)
class Population:
    """One block of users: the published table and the traits behind it."""

    table: pa.Table
    first_index: int
    user_id: pa.Array
    phone: pa.Array
    name: pa.Array
    address: pa.Array
    band: IntArray
    age: IntArray
    female: BoolArray
    city: IntArray
    register: IntArray
    channel: IntArray
    os: IntArray
    member: BoolArray
    rate_per_day: FloatArray
    dropout: FloatArray
    buyer: BoolArray
    preference: FloatArray
    activity: FloatArray
    expecting: BoolArray
    health_buyer: BoolArray
    device: pa.Array
    second_device: pa.Array

    @property
    def size(self) -> int:
        return len(self.band)


def _names(rng: np.random.Generator, pools: Pools, female: BoolArray) -> pa.Array:
    n = len(female)
    family = pick(pools.family_names, rng.integers(0, len(pools.family_names), size=n))
    male_given = pick(pools.male_given, rng.integers(0, len(pools.male_given), size=n))
    female_given = pick(pools.female_given, rng.integers(0, len(pools.female_given), size=n))
    return concat(family, pc.if_else(pa.array(female), female_given, male_given))


def addresses(
    rng: np.random.Generator, pools: Pools, cities: CityColumns, city: IntArray
) -> pa.Array:
    """Street addresses in each person's city, e.g. ``广东省深圳市福田区…12号3栋1502室``."""
    n = len(city)
    province = pick(cities.provinces, city)
    province = with_nulls(province, cities.municipality[city])
    province = pc.fill_null(province, "")
    return concat(
        province,
        pick(cities.names, city),
        pick(pools.districts, rng.integers(0, len(pools.districts), size=n)),
        pick(pools.streets, rng.integers(0, len(pools.streets), size=n)),
        digits(rng.integers(1, 300, size=n), 1),
        "号",
        digits(rng.integers(1, 30, size=n), 1),
        "栋",
        digits(rng.integers(1, 33, size=n) * 100 + rng.integers(1, 7, size=n), 1),
        "室",
    )


def _device_ids(rng: np.random.Generator, os: IntArray) -> pa.Array:
    n = len(os)
    vendor = pc.utf8_upper(
        concat(
            random_text(rng, n, 8, "hex"),
            "-",
            random_text(rng, n, 4, "hex"),
            "-",
            random_text(rng, n, 4, "hex"),
            "-",
            random_text(rng, n, 4, "hex"),
            "-",
            random_text(rng, n, 12, "hex"),
        )
    )
    android = random_text(rng, n, 16, "hex")
    return pc.if_else(pa.array(os == 0), vendor, android)


def _preferences(
    rng: np.random.Generator, band: IntArray, expecting: BoolArray, health: BoolArray
) -> FloatArray:
    share = np.array([c.share for c in CATEGORIES], dtype=np.float64)
    pref = rng.dirichlet(share * 2.0, size=len(band))
    adult, baby, health_i = (category_index(k) for k in ("adult", "baby_mother", "health"))
    minor = band <= 1
    pref[minor, adult] = 0.0
    pref[minor, baby] *= 0.1
    pref[expecting, baby] += 1.5
    pref[health, health_i] += 0.6
    return np.asarray(pref / pref.sum(axis=1, keepdims=True), dtype=np.float64)


def _remarks(rng: np.random.Generator, n: int) -> pa.Array:
    kind = rng.random(n)
    phone_text = pick(_PHONE_REMARKS, rng.integers(0, len(_PHONE_REMARKS), size=n))
    filled = pc.replace_substring(phone_text, "{}", "\x00")
    parts = pc.split_pattern(filled, "\x00")
    with_phone = concat(
        pc.list_element(parts, 0), mobile_numbers(rng, n), pc.list_element(parts, 1)
    )
    other = pick(_OTHER_REMARKS, rng.integers(0, len(_OTHER_REMARKS), size=n))
    text = pc.if_else(pa.array(kind < REMARK_WITH_PHONE), with_phone, other)
    return with_nulls(text, kind >= REMARK_WITH_PHONE + 0.03)


def make_population(
    rng: np.random.Generator,
    pools: Pools,
    cities: CityColumns,
    first_index: int,
    n: int,
    as_of: datetime,
) -> Population:
    """Users ``first_index + 1 … first_index + n`` (``U0000001`` is the first)."""
    now = seconds(as_of)
    band, age = sample_ages(rng, n)
    birth = birth_dates(rng, age, as_of.date())
    gender_draw = rng.random(n)
    female = gender_draw < 0.52
    gender = with_nulls(pick(("男", "女"), female.astype(np.int64)), gender_draw > 0.985)
    city = rng.choice(len(cities.names), size=n, p=cities.probability).astype(np.int64)
    tier = cities.tier[city]
    start = seconds(SHOP_START)
    span_days = (now - start) // DAY - 2
    register_day = start + np.floor(rng.beta(2.0, 1.0, size=n) * span_days).astype(np.int64) * DAY
    register = np.minimum(at_shopping_hour(rng, register_day), now - DAY)
    ios_share = np.array([0.0, 0.46, 0.36, 0.28, 0.22, 0.17])[tier]
    os_draw = rng.random(n)
    os = np.where(os_draw < ios_share, 0, np.where(os_draw < ios_share + 0.14, 2, 1)).astype(
        np.int64
    )
    channel = rng.choice(3, size=n, p=[0.55, 0.15, 0.30]).astype(np.int64)

    rate_per_year = rng.gamma(BGNBD_R, 1.0 / BGNBD_ALPHA, size=n)
    dropout = rng.beta(DROPOUT_A, DROPOUT_B, size=n)
    buyer = rng.random(n) < np.where(band == 0, 0.5, 0.85)
    expecting = female & (age >= 22) & (age <= 40) & (rng.random(n) < 0.05)
    health_buyer = (rng.random(n) < np.where(band == 3, 0.30, 0.05)) & (band >= 2)
    preference = _preferences(rng, band, expecting, health_buyer)
    activity = rng.gamma(0.9, 1.0, size=n) * (0.5 + np.sqrt(rate_per_year / 5.0))
    member_odds = -2.0 + 0.9 * np.log1p(rate_per_year)
    member = rng.random(n) < 1.0 / (1.0 + np.exp(-member_odds))

    index = np.arange(first_index + 1, first_index + n + 1, dtype=np.int64)
    user_id = prefixed_ids("U", index, 7)
    phone = mobile_numbers(rng, n)
    name = _names(rng, pools, female)
    email_user = pick(pools.email_users, rng.integers(0, len(pools.email_users), size=n))
    email_digits = pc.if_else(
        pa.array(rng.random(n) < 0.5), digits(rng.integers(1, 9999, size=n), 1), ""
    )
    email_domain = pick(EMAIL_DOMAINS, rng.choice(len(EMAIL_DOMAINS), size=n, p=_EMAIL_P))
    email = with_nulls(concat(email_user, email_digits, "@", email_domain), rng.random(n) > 0.62)
    area_suffix = np.where(
        cities.municipality[city], rng.integers(1, 9, size=n), rng.integers(2, 9, size=n)
    )
    id_number = with_nulls(
        resident_ids(rng, cities.prefix[city] * 100 + area_suffix, birth, ~female),
        rng.random(n) > 0.25,
    )
    wechat_custom = concat(email_user, "_", digits(rng.integers(10, 99, size=n), 2))
    wechat = pc.if_else(
        pa.array(rng.random(n) < 0.7), concat("wxid_", random_text(rng, n, 14)), wechat_custom
    )
    wechat = with_nulls(wechat, rng.random(n) > 0.72)
    device = _device_ids(rng, os)
    second_device = _device_ids(rng, (os + 1) % 3)
    table = pa.table(
        {
            "user_id": user_id,
            "phone": phone,
            "name": name,
            "email": email,
            "id_number": id_number,
            "birth_date": pa.array(birth.astype("datetime64[D]"), type=pa.date32()),
            "gender": gender,
            "province": pick(cities.provinces, city),
            "city": pick(cities.names, city),
            "city_tier": pa.array(tier, type=pa.int8()),
            "register_time": timestamps(register),
            "register_channel": pick(CHANNELS, channel),
            "is_member": pa.array(member),
            "device_os": pick(OS_NAMES, os),
            "remark": _remarks(rng, n),
            "wechat_id": wechat,
        }
    )
    return Population(
        table=table,
        first_index=first_index,
        user_id=user_id,
        phone=phone,
        name=name,
        address=addresses(rng, pools, cities, city),
        band=band,
        age=age,
        female=female,
        city=city,
        register=register,
        channel=channel,
        os=os,
        member=member,
        rate_per_day=rate_per_year / 365.25,
        dropout=dropout,
        buyer=buyer,
        preference=preference,
        activity=activity,
        expecting=expecting,
        health_buyer=health_buyer,
        device=device,
        second_device=second_device,
    )


_EMAIL_P = np.array([30, 22, 10, 6, 8, 8, 5, 4, 3, 4], dtype=np.float64)
_EMAIL_P /= _EMAIL_P.sum()
