"""Which addresses a DHT node may bind and dial."""
from __future__ import annotations

import ipaddress
from collections.abc import Sequence
from functools import lru_cache

from colonies.dht.protocol import AddressFilter

LOOPBACK = ("127.0.0.0/8", "::1/128")


def parse_interface(interface: str, *, allow_wildcard: bool) -> ipaddress.IPv4Address | ipaddress.IPv6Address:
    try:
        address = ipaddress.ip_address(interface)
    except ValueError:
        raise ValueError(f"DHT interface must be an IP address, not {interface!r}") from None
    if address.is_unspecified and not allow_wildcard:
        raise ValueError(f"refusing to bind the DHT to {interface} (all interfaces); pass allow_wildcard=True to mean it")
    return address


def address_filter(networks: Sequence[str]) -> AddressFilter:
    allowed = [ipaddress.ip_network(n) for n in networks]

    @lru_cache(maxsize=4096)  # checked for every node in every reply
    def allowed_address(ip: str) -> bool:
        try:
            address = ipaddress.ip_address(ip)
        except ValueError:
            return False
        return any(address in network for network in allowed)

    return allowed_address


@lru_cache(maxsize=4096)
def allow_any(ip: str) -> bool:
    try:
        ipaddress.ip_address(ip)
    except ValueError:
        return False
    return True


def host_port(host: str, port: int) -> str:
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
