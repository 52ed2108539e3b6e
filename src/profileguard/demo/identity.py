"""Identity attributes: birth dates by age band, mainland mobile numbers, resident ID numbers.

Resident ID numbers follow GB 11643-1999: six digits of administrative area, the birth date
``YYYYMMDD``, a three-digit sequence whose last digit is odd for men and even for women, and
an ISO 7064 MOD 11-2 check character. The check is written here over a digit matrix
(vectorised) because Faker's ``ssn`` makes one string at a time and cannot be tied to a
birth date and gender chosen elsewhere.
"""

from __future__ import annotations

from datetime import date

import numpy as np
import numpy.typing as npt
import pyarrow as pa

from profileguard.demo.text_columns import concat, digits, pick

IntArray = npt.NDArray[np.int64]

AGE_BANDS: tuple[tuple[str, float], ...] = (
    ("under_14", 0.03),
    ("14_17", 0.06),
    ("18_59", 0.79),
    ("60_plus", 0.12),
)

ID_WEIGHTS = np.array([7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2], dtype=np.int64)
ID_CHECK = "10X98765432"

MOBILE_PREFIXES: tuple[str, ...] = (
    "130",
    "131",
    "132",
    "133",
    "134",
    "135",
    "136",
    "137",
    "138",
    "139",
    "145",
    "147",
    "150",
    "151",
    "152",
    "153",
    "155",
    "156",
    "157",
    "158",
    "159",
    "166",
    "173",
    "175",
    "176",
    "177",
    "178",
    "180",
    "181",
    "182",
    "183",
    "184",
    "185",
    "186",
    "187",
    "188",
    "189",
    "191",
    "193",
    "195",
    "196",
    "197",
    "198",
    "199",
)


def sample_ages(rng: np.random.Generator, n: int) -> tuple[IntArray, IntArray]:
    """Age band index (into :data:`AGE_BANDS`) and whole age in years, per person."""
    band = rng.choice(len(AGE_BANDS), size=n, p=[p for _, p in AGE_BANDS]).astype(np.int64)
    age = np.empty(n, dtype=np.int64)
    sizes = [int((band == b).sum()) for b in range(len(AGE_BANDS))]
    age[band == 0] = rng.integers(8, 14, size=sizes[0])
    age[band == 1] = rng.integers(14, 18, size=sizes[1])
    age[band == 2] = 18 + np.floor(rng.beta(2.0, 3.2, size=sizes[2]) * 42).astype(np.int64)
    age[band == 3] = np.minimum(60 + np.floor(rng.exponential(7.0, size=sizes[3])), 88).astype(
        np.int64
    )
    return band, age


def birth_dates(rng: np.random.Generator, ages: IntArray, on: date) -> npt.NDArray[np.datetime64]:
    """Birth dates such that each person is exactly ``ages`` whole years old on ``on``."""
    years = (on.year - ages - 1970).astype("datetime64[Y]")
    anniversary = (years.astype("datetime64[M]") + (on.month - 1)).astype("datetime64[D]") + (
        on.day - 1
    )
    back = rng.integers(1, 365, size=len(ages))
    return np.asarray(anniversary - back.astype("timedelta64[D]"), dtype="datetime64[D]")


def mobile_numbers(rng: np.random.Generator, n: int) -> pa.Array:
    """Valid-looking mainland mobile numbers: an operator prefix and eight digits."""
    prefix = pick(MOBILE_PREFIXES, rng.integers(0, len(MOBILE_PREFIXES), size=n))
    return concat(prefix, digits(rng.integers(0, 100_000_000, size=n), 8))


def id_check_characters(body: npt.NDArray[np.int64]) -> npt.NDArray[np.int64]:
    """Index into :data:`ID_CHECK` for each row of a ``(n, 17)`` digit matrix."""
    return np.asarray((body * ID_WEIGHTS).sum(axis=1) % 11, dtype=np.int64)


def date_as_int(days: npt.NDArray[np.datetime64]) -> IntArray:
    """Dates as ``YYYYMMDD`` integers."""
    d = days.astype("datetime64[D]")
    months = d.astype("datetime64[M]")
    year = months.astype("datetime64[Y]").astype(np.int64) + 1970
    month = months.astype(np.int64) % 12 + 1
    day = (d - months.astype("datetime64[D]")).astype(np.int64) + 1
    return np.asarray(year * 10_000 + month * 100 + day, dtype=np.int64)


def resident_ids(
    rng: np.random.Generator,
    area: IntArray,
    birth: npt.NDArray[np.datetime64],
    male: npt.NDArray[np.bool_],
) -> pa.Array:
    """18-character resident ID numbers consistent with area, birth date and gender."""
    birth_int = date_as_int(birth)
    gender_digit = rng.integers(0, 5, size=len(area)) * 2 + male.astype(np.int64)
    sequence = rng.integers(0, 100, size=len(area)) * 10 + gender_digit
    number = (area * 100_000_000 + birth_int) * 1000 + sequence
    powers = 10 ** np.arange(16, -1, -1, dtype=np.int64)
    body = (number[:, None] // powers[None, :]) % 10
    check = pick(list(ID_CHECK), id_check_characters(body))
    return concat(digits(number, 17), check)


def id_is_valid(value: str) -> bool:
    """Whether an 18-character resident ID number has the right check character."""
    if len(value) != 18 or not value[:17].isdigit():
        return False
    body = np.array([int(ch) for ch in value[:17]], dtype=np.int64)[None, :]
    return ID_CHECK[int(id_check_characters(body)[0])] == value[17].upper()
