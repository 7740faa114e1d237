"""The embedded IPFS node (libkubo in a subprocess) driven through its Kubo RPC API with
ipfshttpclient: real Kubo 0.22, real bitswap between processes, everything on 127.0.0.1."""
from __future__ import annotations

import base64
import contextlib
import io
import json
import os
import select
import signal
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import aleph_cid
import ipfshttpclient
import psutil
import pytest
import requests

from colonies.cfs.ipfs import keys
from colonies.cfs.ipfs.embedded import EmbeddedIpfs, EmbeddedIpfsError
from colonies.cfs.ipfs.repo_config import LOOPBACK_ONLY_FILTERS
from tests.support.ipfs import (
    KiB,
    MiB,
    IpfsNodes,
    IpfsTestNode,
    corrupt_block,
    dag_blocks,
    seeded_bytes,
    swarm_connect,
    wait_for,
)

CHUNK = 256 * KiB
UNKNOWN_CID = aleph_cid.compute_cid(b"content no node on this machine holds " + bytes(40))


def add(client: Any, data: bytes, **kwargs: Any) -> str:
    return str(client.add(io.BytesIO(data), **kwargs)["Hash"])


def post(node: IpfsTestNode, command: str, method: str = "POST", **kwargs: Any) -> requests.Response:
    url = f"http://127.0.0.1:{node.embedded.api_port}/api/v0/{command}"
    return requests.request(method, url, timeout=30, **kwargs)


def test_id_and_version(ipfs_node: IpfsTestNode) -> None:
    with ipfs_node.client() as client:
        ident = client.id()
        assert ident["ID"] == ipfs_node.peer_id
        assert ident["AgentVersion"].startswith("kubo/0.22.0/")
        assert ident["Addresses"] == ipfs_node.swarm_addrs
        for addr in ident["Addresses"]:
            assert addr.startswith("/ip4/127.0.0.1/tcp/") and addr.endswith(f"/p2p/{ipfs_node.peer_id}")
        assert keys.peer_id(base64.b64decode(ident["PublicKey"])) == ident["ID"]
        version = client.version()
        assert version["Version"] == "0.22.0" and version["Repo"] == "14"


def test_add_cat_and_ranges(ipfs_node: IpfsTestNode) -> None:
    data = seeded_bytes(CHUNK * 3 + 11, seed=1)
    with ipfs_node.client() as client:
        answer = client.add(io.BytesIO(data))
        assert answer["Hash"] == aleph_cid.compute_cid(data)
        assert answer["Name"] == answer["Hash"]
        assert int(answer["Size"]) > len(data)  # the DAG's cumulative size, as Kubo reports it
        assert client.cat(answer["Hash"]) == data
        assert client.cat(answer["Hash"], offset=CHUNK - 5, length=10) == data[CHUNK - 5:CHUNK + 5]
        assert client.cat(answer["Hash"], offset=len(data) - 3) == data[-3:]
        assert client.cat(f"/ipfs/{answer['Hash']}", length=0) == b""
        streamed = b"".join(client.cat(answer["Hash"], stream=True))
        assert streamed == data
        assert client.add(io.BytesIO(data), only_hash=True)["Hash"] == answer["Hash"]


@pytest.mark.parametrize("size", [0, 1, CHUNK, CHUNK + 1, 5 * MiB + 7])
def test_cids_equal_aleph_cid(ipfs_node: IpfsTestNode, size: int) -> None:
    data = seeded_bytes(size, seed=size)
    with ipfs_node.client() as client:
        assert add(client, data) == aleph_cid.compute_cid(data)


def test_pins(ipfs_node: IpfsTestNode) -> None:
    data = seeded_bytes(CHUNK * 2 + 1, seed=2)
    with ipfs_node.client() as client:
        cid = add(client, data)
        _, leaves = dag_blocks(ipfs_node.repo, cid)
        assert client.pin.ls(type="recursive", timeout=30)["Keys"][cid] == {"Type": "recursive"}
        everything = client.pin.ls()["Keys"]
        assert {leaf: {"Type": "indirect"} for leaf in leaves}.items() <= everything.items()
        assert client.pin.ls(cid)["Keys"] == {cid: {"Type": "recursive"}}
        assert client.pin.rm(cid)["Pins"] == [cid]
        assert cid not in client.pin.ls(type="recursive")["Keys"]
        with pytest.raises(ipfshttpclient.exceptions.ErrorResponse, match="not pinned"):
            client.pin.rm(cid)
        with pytest.raises(ipfshttpclient.exceptions.ErrorResponse, match="is not pinned"):
            client.pin.ls(cid)
        assert client.pin.add(cid)["Pins"] == [cid]  # its blocks are still local
        assert cid in client.pin.ls(type="recursive")["Keys"]
        unpinned = add(client, seeded_bytes(100, seed=3), pin=False)
        assert unpinned not in client.pin.ls(type="recursive")["Keys"]


def test_kubo_http_conventions(ipfs_node: IpfsTestNode) -> None:
    assert post(ipfs_node, "id", method="GET").status_code == 405
    assert post(ipfs_node, "nosuchcommand").status_code == 404
    assert post(ipfs_node, "id", headers={"Origin": "http://evil.example"}).status_code == 403
    missing = post(ipfs_node, "cat")
    assert missing.status_code == 400
    assert missing.json() == {"Message": 'argument "ipfs-path" is required', "Code": 1, "Type": "error"}
    bad = post(ipfs_node, "cat", params={"arg": "not-a-cid"})
    assert bad.status_code == 500 and bad.json()["Type"] == "error" and "invalid path" in bad.json()["Message"]
    unsupported = post(ipfs_node, "add", params={"cid-version": "1"}, files={"file": ("x", b"x")})
    assert unsupported.status_code == 400 and "cid-version" in unsupported.json()["Message"]
    assert post(ipfs_node, "cat", params={"arg": UNKNOWN_CID, "timeout": "soon"}).status_code == 400


def test_fetch_between_processes(ipfs_node: IpfsTestNode, ipfs_peer: IpfsTestNode) -> None:
    data = seeded_bytes(12 * MiB + 3, seed=4)
    with ipfs_node.client() as a, ipfs_peer.client() as b:
        cid = add(a, data)
        connected = swarm_connect(b, ipfs_node.swarm_addrs[0])
        assert connected == {"Strings": [f"connect {ipfs_node.peer_id} success"]}
        peers = b.swarm.peers()["Peers"]
        assert any(p["Peer"] == ipfs_node.peer_id and p["Addr"].startswith("/ip4/127.0.0.1/") for p in peers)
        assert b.cat(cid, opts={"timeout": "30s"}) == data
        assert b.pin.add(cid)["Pins"] == [cid]


def test_unknown_cid_fails_within_the_timeout(ipfs_peer: IpfsTestNode) -> None:
    with ipfs_peer.client() as client:
        with pytest.raises(ipfshttpclient.exceptions.ErrorResponse, match="no result within 1s"):
            client.cat(UNKNOWN_CID, opts={"timeout": "1s"})
        with pytest.raises(ipfshttpclient.exceptions.ErrorResponse, match="no result within 1s"):
            client.pin.add(UNKNOWN_CID, opts={"timeout": "1s"})
        assert ipfs_peer.tmp_files() == []
        # still serving
        data = seeded_bytes(1000, seed=5)
        assert client.cat(add(client, data)) == data


def test_connect_failure_is_an_error(ipfs_node: IpfsTestNode, ipfs_nodes: IpfsNodes) -> None:
    gone = ipfs_nodes.start("gone")
    addr = gone.swarm_addrs[0]
    gone.stop()
    with ipfs_node.client() as client:
        with pytest.raises(ipfshttpclient.exceptions.ErrorResponse, match=f"connect {gone.peer_id} failure"):
            swarm_connect(client, addr)


def test_config_is_hardened_and_only_loopback_listens(ipfs_node: IpfsTestNode) -> None:
    cfg = json.loads((ipfs_node.repo / "config").read_text())
    swarm = ipfs_node.embedded.swarm
    assert cfg["Bootstrap"] == []
    assert cfg["Discovery"]["MDNS"]["Enabled"] is False
    assert cfg["Routing"]["Type"] == "none"
    assert cfg["Addresses"]["Swarm"] == [swarm] and cfg["Addresses"]["Announce"] == [swarm]
    assert cfg["Addresses"]["API"] == [] and cfg["Addresses"]["Gateway"] == []
    assert cfg["Swarm"]["DisableNatPortMap"] is True
    assert cfg["Swarm"]["RelayClient"]["Enabled"] is False and cfg["Swarm"]["RelayService"]["Enabled"] is False
    assert cfg["Swarm"]["AddrFilters"] == LOOPBACK_ONLY_FILTERS
    assert cfg["AutoNAT"]["ServiceMode"] == "disabled"
    pid = ipfs_node.embedded.pid
    assert pid is not None
    listening = [c for c in psutil.Process(pid).net_connections(kind="inet") if c.status == psutil.CONN_LISTEN]
    assert {c.laddr.port for c in listening} == {ipfs_node.embedded.api_port, ipfs_node.embedded.swarm_port}
    assert {c.laddr.ip for c in listening} == {"127.0.0.1"}
    assert not [c for c in psutil.Process(pid).net_connections(kind="udp")]


def test_corrupted_block_is_refused_by_a_fetching_peer(ipfs_nodes: IpfsNodes) -> None:
    a, b = ipfs_nodes.start("a"), ipfs_nodes.start("b", fetch_timeout=2)
    data = seeded_bytes(100 * KiB, seed=6)
    with a.client() as ca, b.client() as cb:
        cid = add(ca, data)
        corrupt_block(a.repo, cid)
        swarm_connect(cb, a.swarm_addrs[0])
        with pytest.raises(ipfshttpclient.exceptions.ErrorResponse, match="no result within"):
            cb.cat(cid)
        assert b.tmp_files() == []


def test_pins_survive_a_restart(ipfs_nodes: IpfsNodes) -> None:
    node = ipfs_nodes.start("a")
    data = seeded_bytes(CHUNK + 5, seed=7)
    with node.client() as client:
        cid = add(client, data)
    peer_id, pid = node.peer_id, node.embedded.pid
    node.restart()
    assert node.peer_id == peer_id and node.embedded.pid != pid
    with node.client() as client:
        assert client.pin.ls(type="recursive")["Keys"] == {cid: {"Type": "recursive"}}
        assert client.cat(cid) == data


def test_stuck_fetches_past_the_cap_restart_the_node(ipfs_nodes: IpfsNodes) -> None:
    node = ipfs_nodes.start("a", fetch_timeout=0.5, max_stuck=2)
    with node.client() as client:
        cid = add(client, b"kept across the restart")
    first_pid = node.embedded.pid
    with node.client() as client:
        with pytest.raises(ipfshttpclient.exceptions.ErrorResponse, match="no result within"):
            client.cat(UNKNOWN_CID)
        with pytest.raises(ipfshttpclient.exceptions.ErrorResponse, match="no result within"):
            client.cat(UNKNOWN_CID)  # the second stuck fetch: answered, then the process exits
    wait_for(lambda: node.embedded.pid not in (None, first_pid) and node.embedded.ready, 60, "the restart")
    assert node.embedded.restarts == 1
    with node.client() as client:
        assert client.cat(cid) == b"kept across the restart"


def test_child_gets_no_colonies_or_aws_environment(ipfs_nodes: IpfsNodes, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLONIES_PRVKEY", "secret")
    monkeypatch.setenv("AWS_S3_SECRETKEY", "secret")
    node = ipfs_nodes.start("a")
    env = psutil.Process(node.embedded.pid).environ()
    assert not [k for k in env if k.startswith(("COLONIES_", "AWS_"))]


def test_node_dies_with_its_parent(tmp_path: Path) -> None:
    script = textwrap.dedent(f"""
        import asyncio, sys
        from colonies.cfs.ipfs.embedded import EmbeddedIpfs
        async def main():
            node = EmbeddedIpfs({str(tmp_path / "repo")!r})
            await node.start()
            print(node.pid, flush=True)
            await asyncio.sleep(300)
        asyncio.run(main())
    """)
    parent = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True, cwd=str(tmp_path))
    child = 0
    try:
        assert parent.stdout is not None
        ready, _, _ = select.select([parent.stdout], [], [], 90)
        assert ready, "the parent did not start its node"
        child = int(parent.stdout.readline())
        assert psutil.pid_exists(child)
        os.kill(parent.pid, signal.SIGKILL)
        parent.wait(10)

        def gone() -> bool:
            try:
                return psutil.Process(child).status() == psutil.STATUS_ZOMBIE
            except psutil.NoSuchProcess:
                return True

        wait_for(gone, 30, "the orphaned node to exit")
    finally:
        if parent.poll() is None:
            parent.kill()
            parent.wait(10)
        if child:
            with contextlib.suppress(ProcessLookupError):
                os.kill(child, signal.SIGKILL)


def test_a_second_node_on_a_locked_repo_fails_clearly(ipfs_nodes: IpfsNodes) -> None:
    first = ipfs_nodes.start("a")
    second = EmbeddedIpfs(first.repo, startup_timeout=60)
    with pytest.raises(EmbeddedIpfsError, match="someone else has the lock") as info:
        first.loop.run(second.start())
    assert "\n" not in str(info.value) and not second.running
    with first.client() as client:
        assert client.id()["ID"] == first.peer_id
