"""Pure logic of the embedded IPFS node: config hardening, multiaddrs, Go durations, CIDs and
blocks, keys, the call guard."""
from __future__ import annotations

import asyncio
import base64
import hashlib
import ipaddress
import threading

import aleph_cid
import pytest

from colonies.cfs.ipfs import addrs, blocks, keys
from colonies.cfs.ipfs.guard import CallGuard, CallTimeout, Unhealthy
from colonies.cfs.ipfs.repo_config import LOOPBACK_ONLY_FILTERS, harden
from colonies.cfs.ipfs.rpc import parse_duration
from colonies.cfs.storage import IpfsConfig

SWARM = "/ip4/127.0.0.1/tcp/40123"
KUBO_INIT = {
    "Bootstrap": ["/dnsaddr/bootstrap.libp2p.io/p2p/QmNnooDu7bfjPFoTZYxMNLWUQJyrVwtbZg5gBMjTezGAJN"],
    "Addresses": {"Swarm": ["/ip4/0.0.0.0/tcp/4001", "/ip6/::/udp/4001/quic-v1"], "Announce": [], "AppendAnnounce": [],
                  "NoAnnounce": [], "API": "/ip4/127.0.0.1/tcp/5001", "Gateway": "/ip4/127.0.0.1/tcp/8080"},
    "Discovery": {"MDNS": {"Enabled": True}},
    "Routing": {"AcceleratedDHTClient": False},
    "Swarm": {"DisableNatPortMap": False, "RelayClient": {}, "RelayService": {}, "Transports": {"Network": {}}},
    "AutoNAT": {},
    "Identity": {"PeerID": "Qm..."},
}


def test_harden_config() -> None:
    cfg = harden(KUBO_INIT, SWARM)
    assert cfg["Bootstrap"] == []
    assert cfg["Discovery"]["MDNS"]["Enabled"] is False
    assert cfg["Routing"]["Type"] == "none"
    a = cfg["Addresses"]
    assert a["Swarm"] == [SWARM] and a["Announce"] == [SWARM] and a["AppendAnnounce"] == []
    assert a["API"] == [] and a["Gateway"] == []
    s = cfg["Swarm"]
    assert s["DisableNatPortMap"] is True and s["EnableHolePunching"] is False
    assert s["RelayClient"]["Enabled"] is False and s["RelayService"]["Enabled"] is False
    assert s["Transports"]["Network"] == {"QUIC": False, "WebTransport": False, "Websocket": False, "Relay": False}
    assert s["AddrFilters"] == LOOPBACK_ONLY_FILTERS
    assert cfg["AutoNAT"]["ServiceMode"] == "disabled"
    assert cfg["Identity"] == KUBO_INIT["Identity"]
    assert KUBO_INIT["Bootstrap"], "the input is not modified"


def test_loopback_filters_cover_everything_but_loopback() -> None:
    nets = [ipaddress.ip_network(f.split("/")[2] + "/" + f.split("/")[4]) for f in LOOPBACK_ONLY_FILTERS]
    def filtered(ip: str) -> bool:
        return any(ipaddress.ip_address(ip) in n for n in nets if n.version == ipaddress.ip_address(ip).version)
    for ip in ("0.0.0.1", "10.1.2.3", "126.255.255.255", "128.0.0.1", "192.168.1.1", "255.255.255.255", "::1", "2001:db8::1"):
        assert filtered(ip), ip
    for ip in ("127.0.0.1", "127.255.0.9"):
        assert not filtered(ip), ip


def test_non_loopback_swarm_keeps_filters() -> None:
    cfg = harden({**KUBO_INIT, "Swarm": {"AddrFilters": ["/ip4/10.0.0.0/ipcidr/8"]}}, "/ip4/192.0.2.7/tcp/4001")
    assert cfg["Swarm"]["AddrFilters"] == ["/ip4/10.0.0.0/ipcidr/8"]
    assert cfg["Addresses"]["Announce"] == ["/ip4/192.0.2.7/tcp/4001"]


@pytest.mark.parametrize("bad", ["/ip4/127.0.0.1/tcp/0", "/ip4/127.0.0.1/udp/4001/quic", "/dns4/x/tcp/1", "/ip4/127.0.0.1/tcp/1/p2p/Qm"])
def test_harden_refuses_other_swarm_forms(bad: str) -> None:
    with pytest.raises(ValueError):
        harden(KUBO_INIT, bad)


def test_multiaddrs() -> None:
    assert addrs.parse_tcp("/ip4/127.0.0.1/tcp/5001/http") == ("127.0.0.1", 5001, "/http")
    assert addrs.parse_tcp("/ip6/::1/tcp/7") == ("::1", 7, "")
    assert addrs.with_peer("/ip4/127.0.0.1/tcp/1", "QmX") == "/ip4/127.0.0.1/tcp/1/p2p/QmX"
    assert addrs.peer_of("/ip4/127.0.0.1/tcp/1/p2p/QmX") == "QmX" and addrs.peer_of("/ip4/1.2.3.4/tcp/1") == ""
    assert addrs.is_loopback("127.0.0.2") and not addrs.is_loopback("10.0.0.1")
    for bad in ("/ip4/300.0.0.1/tcp/1", "/ip4/127.0.0.1/tcp/x", "ip4/127.0.0.1/tcp/1", "/ip6/127.0.0.1/tcp/1"):
        with pytest.raises(ValueError):
            addrs.parse_tcp(bad)


def test_ipfs_config_validation() -> None:
    assert IpfsConfig(api="/ip4/127.0.0.1/tcp/5001").client_addr == "/ip4/127.0.0.1/tcp/5001/http"
    assert IpfsConfig(api="/ip4/127.0.0.1/tcp/5001/http").client_addr == "/ip4/127.0.0.1/tcp/5001/http"
    for bad in ("http://127.0.0.1:5001", "/ip4/127.0.0.1/tcp/5001/https", "127.0.0.1:5001"):
        with pytest.raises(ValueError):
            IpfsConfig(api=bad)
    with pytest.raises(ValueError):
        IpfsConfig(timeout=0)


def test_go_durations() -> None:
    assert parse_duration("30s") == 30 and parse_duration("1m30s") == 90 and parse_duration("1.5h") == 5400
    assert parse_duration("500ms") == pytest.approx(0.5) and parse_duration("0") == 0
    for bad in ("30", "s", "1x", "1s2"):
        with pytest.raises(ValueError):
            parse_duration(bad)


def test_cids_and_blocks() -> None:
    v0 = aleph_cid.compute_cid(b"hello")
    codec, mh = blocks.decode_cid(v0)
    assert codec == blocks.DAG_PB and mh[:2] == b"\x12\x20"
    hasher = aleph_cid.CidHasher.for_ipfs_v1_raw_leaves()
    hasher.update(b"hello")
    v1 = hasher.finalize()
    codec, mh = blocks.decode_cid(v1)
    assert codec == blocks.RAW and mh == b"\x12\x20" + hashlib.sha256(b"hello").digest()
    assert blocks.b58decode(blocks.b58encode(b"\0\0abc")) == b"\0\0abc"
    key = base64.b32encode(blocks.decode_cid(v0)[1]).decode().rstrip("=")
    assert blocks.block_path("/r", v0).as_posix() == f"/r/blocks/{key[-3:-1]}/{key}.data"
    for bad in ("", "Qm123", "zdj7W", "hello"):
        assert not blocks.is_cid(bad)


def test_dag_pb_size_and_links() -> None:
    def varint(n: int) -> bytes:
        return keys._varint(n)

    child = b"\x12\x20" + bytes(32)
    link = b"\x0a" + varint(len(child)) + child + b"\x12\x00" + b"\x18" + varint(262158)
    node = b"\x12" + varint(len(link)) + link + b"\x0a\x04" + b"\x08\x02\x18\x05"
    assert blocks.dag_size(node) == len(node) + 262158
    assert blocks.child_cids(node) == [blocks.b58encode(child)]
    assert blocks.dag_size(b"raw bytes", blocks.RAW) == 9


def test_public_key_hashes_to_peer_id() -> None:
    # Ed25519 (libp2p protobuf: type 1, 64 bytes = seed || public key)
    public = bytes(range(32))
    priv = b"\x08\x01\x12\x40" + bytes(32) + public
    pub = keys.public_key(base64.b64encode(priv).decode())
    assert pub == b"\x08\x01\x12\x20" + public
    assert keys.peer_id(pub).startswith("12D3KooW")


def test_guard_times_out_counts_stuck_and_cleans_up_late() -> None:
    release = threading.Event()
    late = threading.Event()

    async def scenario() -> None:
        guard = CallGuard(max_stuck=1)
        assert await guard.run(lambda x: x + 1, 1, timeout=5) == 2
        with pytest.raises(ValueError):
            await guard.run(lambda: int("x"), timeout=5)
        with pytest.raises(CallTimeout):
            await guard.run(release.wait, timeout=0.05, late=late.set)
        assert guard.stuck == 1 and not guard.healthy
        with pytest.raises(Unhealthy):
            await guard.run(lambda: 1, timeout=5)
        release.set()
        await asyncio.to_thread(late.wait, 10)
        assert guard.stuck == 0 and guard.healthy

    asyncio.run(scenario())
    assert late.is_set()
