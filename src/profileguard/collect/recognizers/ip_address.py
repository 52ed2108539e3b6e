"""IP_ADDRESS: IPv4 and IPv6 addresses.

Format: IPv4 dotted quad (RFC 791); IPv6 in full, compressed (``::1``,
``2001:db8::ff00:42:8329``), IPv4-embedded (``::ffff:192.0.2.1``) and scoped
(``fe80::1%eth0``) forms (RFC 4291, RFC 5952, RFC 4007). Regexes only find candidates;
the standard library's :mod:`ipaddress` decides what is an address, so ``999.1.1.1``, a
clock time ``12:30:45`` and a MAC address are rejected. A candidate touching a letter on
either side (``std::vector``) is not taken.
"""

from __future__ import annotations

import ipaddress
from typing import ClassVar

import numpy as np

from profileguard.collect.recognizers.base import Pattern, Recognizer

__all__ = ["IpAddressRecognizer"]

_V4 = r"(?:\d{1,3}\.){3}\d{1,3}"


def _is_ip(value: str) -> bool:
    try:
        ipaddress.ip_address(value)
    except ValueError:
        return False
    return True


class IpAddressRecognizer(Recognizer):
    """IPv4 or IPv6 address (IP地址)."""

    entity = "IP_ADDRESS"
    category = "user.device.ip_address"
    prefilter = r"\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3}|[0-9A-Fa-f]{0,4}:[0-9A-Fa-f]{0,4}:"
    patterns: ClassVar[tuple[Pattern, ...]] = (
        Pattern("ipv6", r"(?<![0-9A-Za-z_:.%])(?:[0-9A-Fa-f]{1,4}|:)(?=[0-9A-Fa-f:]*:)[0-9A-Fa-f:]{1,38}"
                r"(?:(?<=:)" + _V4 + r")?(?:%[0-9A-Za-z_.]{1,15})?(?![0-9A-Za-z_:.])", 0.7),
        Pattern("ipv4", r"(?<![\d.])" + _V4 + r"(?!\.?\d)", 0.6),
    )
    context = ("ip", "ipv4", "ipv6", "ipaddr", "ip_address", "ip地址", "地址", "登录", "host",
               "client", "remote", "address")
    negative_context = ("version", "版本", "ver", "v.")

    def validate_result(self, values: list[str]) -> np.ndarray:
        return np.array([_is_ip(v) for v in values], dtype=bool)

    def mask(self, value: str) -> str:
        """``192.168.*.*`` for IPv4; the first two groups and ``:*`` for IPv6."""
        if ":" in value:
            groups = value.split("%", 1)[0].split(":")
            return ":".join(groups[:2]) + ":*"
        return ".".join(value.split(".")[:2]) + ".*.*"
