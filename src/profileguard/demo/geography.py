"""Cities of the demo shop's customers: province, city tier, ID-number area code, centre.

Faker's zh_CN provider draws province and city independently (杭州 in 黑龙江省), which would
make city-tier profiles and resident-ID area codes nonsense, so the demo keeps its own small
table of real prefecture-level cities. ``tier`` follows the common 一线 … 四线及以下 grouping
folded into 1..5 (1 一线, 2 新一线, 3 二线, 4 三线, 5 四线及以下); ``prefix`` is the first four
digits of the GB/T 2260 administrative division code, used in resident ID numbers; the
weight is a rough share of online shoppers.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt


@dataclass(frozen=True)
class City:
    """One prefecture-level city."""

    name: str
    province: str
    prefix: int
    tier: int
    lat: float
    lon: float
    weight: float


_ROWS: tuple[tuple[str, str, int, int, float, float, float], ...] = (
    ("北京市", "北京市", 1101, 1, 39.904, 116.407, 6.0),
    ("上海市", "上海市", 3101, 1, 31.230, 121.474, 6.0),
    ("广州市", "广东省", 4401, 1, 23.129, 113.264, 5.0),
    ("深圳市", "广东省", 4403, 1, 22.543, 114.058, 5.0),
    ("成都市", "四川省", 5101, 2, 30.573, 104.066, 3.5),
    ("重庆市", "重庆市", 5001, 2, 29.563, 106.551, 3.5),
    ("杭州市", "浙江省", 3301, 2, 30.274, 120.155, 3.5),
    ("武汉市", "湖北省", 4201, 2, 30.593, 114.305, 3.0),
    ("西安市", "陕西省", 6101, 2, 34.341, 108.940, 3.0),
    ("苏州市", "江苏省", 3205, 2, 31.299, 120.585, 3.0),
    ("南京市", "江苏省", 3201, 2, 32.060, 118.797, 3.0),
    ("天津市", "天津市", 1201, 2, 39.125, 117.190, 3.0),
    ("长沙市", "湖南省", 4301, 2, 28.228, 112.939, 2.5),
    ("郑州市", "河南省", 4101, 2, 34.747, 113.625, 2.5),
    ("东莞市", "广东省", 4419, 2, 23.021, 113.752, 2.5),
    ("青岛市", "山东省", 3702, 2, 36.067, 120.383, 2.5),
    ("沈阳市", "辽宁省", 2101, 2, 41.806, 123.432, 2.0),
    ("宁波市", "浙江省", 3302, 2, 29.868, 121.544, 2.0),
    ("昆明市", "云南省", 5301, 2, 25.038, 102.718, 2.0),
    ("合肥市", "安徽省", 3401, 3, 31.821, 117.227, 1.8),
    ("佛山市", "广东省", 4406, 3, 23.022, 113.122, 1.8),
    ("福州市", "福建省", 3501, 3, 26.074, 119.296, 1.6),
    ("无锡市", "江苏省", 3202, 3, 31.491, 120.312, 1.6),
    ("厦门市", "福建省", 3502, 3, 24.480, 118.089, 1.5),
    ("哈尔滨市", "黑龙江省", 2301, 3, 45.803, 126.535, 1.5),
    ("济南市", "山东省", 3701, 3, 36.651, 117.120, 1.5),
    ("温州市", "浙江省", 3303, 3, 27.994, 120.699, 1.4),
    ("大连市", "辽宁省", 2102, 3, 38.914, 121.615, 1.4),
    ("南宁市", "广西壮族自治区", 4501, 3, 22.817, 108.366, 1.3),
    ("长春市", "吉林省", 2201, 3, 43.817, 125.324, 1.3),
    ("泉州市", "福建省", 3505, 3, 24.874, 118.676, 1.2),
    ("石家庄市", "河北省", 1301, 3, 38.042, 114.515, 1.3),
    ("贵阳市", "贵州省", 5201, 3, 26.647, 106.630, 1.2),
    ("南昌市", "江西省", 3601, 3, 28.682, 115.858, 1.2),
    ("太原市", "山西省", 1401, 3, 37.870, 112.549, 1.1),
    ("洛阳市", "河南省", 4103, 4, 34.620, 112.454, 0.9),
    ("襄阳市", "湖北省", 4206, 4, 32.009, 112.122, 0.8),
    ("桂林市", "广西壮族自治区", 4503, 4, 25.274, 110.290, 0.8),
    ("绵阳市", "四川省", 5107, 4, 31.467, 104.679, 0.8),
    ("芜湖市", "安徽省", 3402, 4, 31.353, 118.433, 0.8),
    ("赣州市", "江西省", 3607, 4, 25.831, 114.935, 0.8),
    ("兰州市", "甘肃省", 6201, 4, 36.061, 103.834, 0.9),
    ("海口市", "海南省", 4601, 4, 20.044, 110.199, 0.8),
    ("呼和浩特市", "内蒙古自治区", 1501, 4, 40.842, 111.749, 0.7),
    ("乌鲁木齐市", "新疆维吾尔自治区", 6501, 4, 43.826, 87.617, 0.7),
    ("银川市", "宁夏回族自治区", 6401, 4, 38.487, 106.231, 0.6),
    ("湛江市", "广东省", 4408, 4, 21.271, 110.359, 0.7),
    ("天水市", "甘肃省", 6205, 5, 34.581, 105.725, 0.5),
    ("曲靖市", "云南省", 5303, 5, 25.490, 103.796, 0.5),
    ("邵阳市", "湖南省", 4305, 5, 27.239, 111.468, 0.5),
    ("南充市", "四川省", 5113, 5, 30.837, 106.111, 0.6),
    ("商丘市", "河南省", 4114, 5, 34.414, 115.656, 0.6),
    ("周口市", "河南省", 4116, 5, 33.626, 114.697, 0.6),
    ("六安市", "安徽省", 3415, 5, 31.735, 116.524, 0.5),
    ("黄冈市", "湖北省", 4211, 5, 30.453, 114.872, 0.5),
    ("拉萨市", "西藏自治区", 5401, 5, 29.652, 91.172, 0.3),
    ("西宁市", "青海省", 6301, 5, 36.617, 101.778, 0.4),
    ("牡丹江市", "黑龙江省", 2310, 5, 44.552, 129.633, 0.4),
    ("丽水市", "浙江省", 3311, 5, 28.467, 119.923, 0.4),
)

CITIES: tuple[City, ...] = tuple(City(*row) for row in _ROWS)


@dataclass(frozen=True)
class CityColumns:
    """The city table as parallel arrays, for vectorised lookups by city index."""

    names: list[str]
    provinces: list[str]
    prefix: npt.NDArray[np.int64]
    tier: npt.NDArray[np.int64]
    lat: npt.NDArray[np.float64]
    lon: npt.NDArray[np.float64]
    probability: npt.NDArray[np.float64]
    municipality: npt.NDArray[np.bool_]


def city_columns() -> CityColumns:
    """All cities as arrays; ``probability`` sums to one."""
    weight = np.array([c.weight for c in CITIES], dtype=np.float64)
    return CityColumns(
        names=[c.name for c in CITIES],
        provinces=[c.province for c in CITIES],
        prefix=np.array([c.prefix for c in CITIES], dtype=np.int64),
        tier=np.array([c.tier for c in CITIES], dtype=np.int64),
        lat=np.array([c.lat for c in CITIES], dtype=np.float64),
        lon=np.array([c.lon for c in CITIES], dtype=np.float64),
        probability=weight / weight.sum(),
        municipality=np.array([c.name == c.province for c in CITIES], dtype=np.bool_),
    )
