"""Masking, IP truncation, generalization and suppression over Arrow columns."""

from __future__ import annotations

import datetime as dt
import ipaddress

import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from profileguard.errors import ProfileguardError
from profileguard.process import transforms as tf


def test_phone_mask_keeps_first_three_and_last_four() -> None:
    assert tf.mask(pa.array(["13812345678"]), *tf.MASK_PRESETS["phone"]).to_pylist() == [
        "138****5678"
    ]


def test_id_number_mask_keeps_region_prefix_and_last_four() -> None:
    out = tf.mask(pa.array(["110101199003071234"]), *tf.MASK_PRESETS["id_number"])
    assert out.to_pylist() == ["110***********1234"]


def test_generic_mask_handles_chinese_short_values_and_nulls() -> None:
    out = tf.mask(pa.array(["张三丰", "ab", None]), keep_first=1, keep_last=0)
    assert out.to_pylist() == ["张**", "a*", None]
    assert tf.mask(pa.array(["abc"]), 2, 2).to_pylist() == ["***"]


def test_truncate_ip_v4_to_24_and_v6_to_48_and_invalid_to_null() -> None:
    out = tf.truncate_ip(pa.array(["192.168.1.77", "2001:db8:abcd:12::1", "not-ip", None]))
    assert out.to_pylist() == ["192.168.1.0/24", "2001:db8:abcd::/48", None, None]


def _ipaddress_network(text: str, v6_prefix: int) -> str | None:
    """The reference: the network as :mod:`ipaddress` spells it (None when not an address)."""
    try:
        addr = ipaddress.ip_address(text.strip())
    except ValueError:
        return None
    prefix = 24 if addr.version == 4 else v6_prefix
    return str(ipaddress.ip_network(f"{addr}/{prefix}", strict=False))


_V6_TEXT = st.one_of(
    st.integers(0, 2**128 - 1).map(lambda n: str(ipaddress.IPv6Address(n))),
    st.integers(0, 2**128 - 1).map(lambda n: ipaddress.IPv6Address(n).exploded.upper()),
    st.integers(0, 2**32 - 1).map(lambda n: f"::ffff:{ipaddress.IPv4Address(n)}"),
    st.text(alphabet="0123456789abcdefABCDEF:.% \t", max_size=45),
)


@settings(max_examples=400, deadline=None)
@given(_V6_TEXT, st.sampled_from([0, 17, 48, 64, 80, 96, 128]))
def test_truncate_ip_v6_fast_path_spells_networks_as_ipaddress_does(text: str,
                                                                   prefix: int) -> None:
    out = tf.truncate_ip(pa.array([text]), v6_prefix=prefix).to_pylist()
    assert out == [_ipaddress_network(text, prefix)]


def test_age_becomes_band_with_configurable_edges() -> None:
    out = tf.generalize_age(pa.array([5, 18, 34, 35, 70, None]), edges=[18, 35, 60])
    assert out.to_pylist() == ["<18", "18-34", "18-34", "35-59", "60+", None]


def test_number_becomes_fixed_width_range() -> None:
    out = tf.generalize_number(pa.array([1500.5, 2000, None]), width=1000)
    assert out.to_pylist() == ["[1000, 2000)", "[2000, 3000)", None]


def test_date_becomes_month_or_year() -> None:
    dates = pa.array([dt.date(2024, 5, 3), None])
    assert tf.generalize_date(dates, "month").to_pylist() == ["2024-05", None]
    assert tf.generalize_date(pa.array(["2023-01-02 10:00:00"]), "year").to_pylist() == ["2023"]


def test_date_generalization_rejects_non_dates() -> None:
    with pytest.raises(ProfileguardError, match="not an ISO date"):
        tf.generalize_date(pa.array(["yesterday"]))


def test_gps_becomes_grid_cell() -> None:
    assert tf.generalize_gps(pa.array([31.2345, -121.47]), cell=0.1).to_pylist() == [
        "31.2",
        "-121.5",
    ]
    assert tf.generalize_gps(pa.array(["31.2345, 121.4737"]), cell=0.01).to_pylist() == [
        "31.23,121.47"
    ]


def test_address_becomes_city() -> None:
    out = tf.generalize_address(
        pa.array(
            ["广东省深圳市南山区科技园1号", "北京市朝阳区建国路", "西藏自治区某县", "朝阳路8号"]
        )
    )
    assert out.to_pylist() == ["广东省深圳市", "北京市", "西藏自治区", None]


def test_suppress_replaces_with_null_or_star() -> None:
    assert tf.suppress(pa.array(["a", "b"])).to_pylist() == [None, None]
    assert tf.suppress(pa.array([1, 2]), "*").to_pylist() == ["*", "*"]
