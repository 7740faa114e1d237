"""The few multiaddr forms the embedded node uses: `/ip4/<host>/tcp/<port>` (and `/ip6/...`),
optionally followed by `/http` or `/p2p/<peer id>`."""
from __future__ import annotations

import ipaddress


def parse_tcp(multiaddr: str) -> tuple[str, int, str]:
    """(host, port, rest) of `/ip4|ip6/<host>/tcp/<port>[rest]`; ValueError otherwise."""
    parts = multiaddr.split("/")
    if len(parts) < 5 or parts[0] != "" or parts[1] not in ("ip4", "ip6") or parts[3] != "tcp":
        raise ValueError(f"expected /ip4/<host>/tcp/<port>, got {multiaddr!r}")
    host, port = parts[2], parts[4]
    try:
        ip = ipaddress.ip_address(host)
    except ValueError:
        raise ValueError(f"bad IP address in {multiaddr!r}") from None
    if (ip.version == 4) != (parts[1] == "ip4") or not port.isdigit() or not 0 <= int(port) <= 65535:
        raise ValueError(f"bad address or port in {multiaddr!r}")
    rest = "/" + "/".join(parts[5:]) if len(parts) > 5 else ""
    return host, int(port), rest


def tcp_multiaddr(host: str, port: int) -> str:
    family = "ip6" if ":" in host else "ip4"
    return f"/{family}/{host}/tcp/{port}"


def is_loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return host == "localhost"


def with_peer(multiaddr: str, peer_id: str) -> str:
    """`multiaddr` ending in `/p2p/<peer_id>` (unchanged if it already names a peer)."""
    if "/p2p/" in multiaddr or "/ipfs/" in multiaddr:
        return multiaddr
    return f"{multiaddr.rstrip('/')}/p2p/{peer_id}"


def peer_of(multiaddr: str) -> str:
    """The peer id a `/.../p2p/<id>` multiaddr names ("" if none)."""
    for marker in ("/p2p/", "/ipfs/"):
        if marker in multiaddr:
            return multiaddr.rsplit(marker, 1)[1].split("/", 1)[0]
    return ""
