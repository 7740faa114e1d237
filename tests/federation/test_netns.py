"""Two nodes in their own network namespaces, joined by a veth pair: addresses are not 127.0.0.1."""
from __future__ import annotations

import json
import os
import secrets
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from colonies import crypto
from tests.support.env import clean_env
from tests.support.missing import missing

SCENARIO = Path(__file__).with_name("netns_scenario.py")
IPFS_SCENARIO = Path(__file__).with_name("netns_ipfs_scenario.py")
ROOT = Path(__file__).resolve().parents[2]


def sh(*args: str) -> None:
    subprocess.run(args, check=True, capture_output=True, timeout=30)


def unavailable(reason: str) -> None:
    missing("network namespaces", reason)


@pytest.fixture
def namespaces():
    if shutil.which("ip") is None:
        unavailable("the `ip` command (Debian package iproute2) is not installed")
    if os.geteuid() != 0:
        unavailable("creating network namespaces needs root")
    tag = secrets.token_hex(3)
    ns_a, ns_b, veth_a, veth_b = f"cola{tag}", f"colb{tag}", f"va{tag}", f"vb{tag}"
    subnet = f"10.{200 + secrets.randbelow(50)}.{secrets.randbelow(250)}"
    try:
        sh("ip", "netns", "add", ns_a)
    except subprocess.CalledProcessError as err:
        unavailable(f"`ip netns add` failed: {err.stderr.decode().strip()}")
    try:
        sh("ip", "netns", "add", ns_b)
        sh("ip", "link", "add", veth_a, "type", "veth", "peer", "name", veth_b)
        sh("ip", "link", "set", veth_a, "netns", ns_a)
        sh("ip", "link", "set", veth_b, "netns", ns_b)
        for ns, dev, addr in ((ns_a, veth_a, f"{subnet}.1/24"), (ns_b, veth_b, f"{subnet}.2/24")):
            sh("ip", "-n", ns, "addr", "add", addr, "dev", dev)
            sh("ip", "-n", ns, "link", "set", dev, "up")
            sh("ip", "-n", ns, "link", "set", "lo", "up")
        yield ns_a, ns_b, f"{subnet}.1", f"{subnet}.2"
    finally:
        for ns in (ns_a, ns_b):
            subprocess.run(["ip", "netns", "del", ns], capture_output=True, timeout=30)


def wait_healthy_in(ns: str, url: str, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        probe = subprocess.run(
            ["ip", "netns", "exec", ns, sys.executable, "-c", f"import urllib.request; urllib.request.urlopen('{url}/health', timeout=1)"],
            capture_output=True, timeout=30,
        )
        if probe.returncode == 0:
            return
        assert process.poll() is None, process.stdout.read().decode() if process.stdout else ""
        time.sleep(0.2)
    raise AssertionError(f"{url} not healthy within 60 s")


def test_inputs_and_outputs_move_by_cid_between_ipfs_nodes_in_separate_network_namespaces(namespaces, tmp_path):
    ns_a, ns_b, host_a, host_b = namespaces
    server, authority, owner, user, executor = (crypto.generate_private_key() for _ in range(5))
    url_a, url_b = f"http://{host_a}:50080", f"http://{host_b}:50080"
    env = clean_env()
    node_b = subprocess.Popen(
        ["ip", "netns", "exec", ns_b, sys.executable, str(IPFS_SCENARIO), "peer", host_b, url_a, server, authority, owner, executor],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, cwd=ROOT,
    )
    try:
        wait_healthy_in(ns_b, url_b, node_b)
        scenario = subprocess.run(
            ["ip", "netns", "exec", ns_a, sys.executable, str(IPFS_SCENARIO), "origin", host_a, url_b, server, authority, owner, user],
            env=env, capture_output=True, timeout=240, cwd=ROOT,
        )
        assert scenario.returncode == 0, scenario.stdout.decode() + scenario.stderr.decode()[-3000:]
        outcome = json.loads(scenario.stdout.decode().strip().splitlines()[-1])
        assert outcome["read"] == 21
        # B's outputs were read at A from B's IPFS node, over the veth
        assert any(f"/ip4/{host_b}/tcp/4001/p2p/" in p for p in outcome["output_providers"]), outcome
    finally:
        node_b.kill()
        node_b.wait(10)


def test_work_is_forwarded_between_nodes_in_separate_network_namespaces(namespaces, tmp_path):
    ns_a, ns_b, host_a, host_b = namespaces
    server_prvkey, authority = crypto.generate_private_key(), crypto.generate_private_key()
    config = tmp_path / "b.toml"
    config.write_text(
        "\n".join(
            [
                "[node]",
                f'host = "{host_b}"',
                "port = 50080",
                f'data_dir = "{tmp_path / "b"}"',
                'federation_name = "netns"',
                f'federation_authority_id = "{crypto.id_from_private_key(authority)}"',
                f'federation_peers = "http://{host_a}:50080"',
            ]
        )
    )
    env = clean_env(COLONIES_SERVER_PRVKEY=server_prvkey, COLONIES_FEDERATION_AUTHORITY_PRVKEY=authority)
    node_b = subprocess.Popen(
        ["ip", "netns", "exec", ns_b, sys.executable, "-m", "colonies.cli", "server", "start", "--config", str(config)],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, cwd=ROOT,
    )
    try:
        wait_healthy_in(ns_b, f"http://{host_b}:50080", node_b)
        scenario = subprocess.run(
            ["ip", "netns", "exec", ns_a, sys.executable, str(SCENARIO), host_a, f"http://{host_b}:50080", server_prvkey, authority],
            capture_output=True, timeout=120, cwd=ROOT,
        )
        assert scenario.returncode == 0, scenario.stdout.decode() + scenario.stderr.decode()[-3000:]
        outcome = json.loads(scenario.stdout.decode().strip().splitlines()[-1])
        assert outcome["completed"] == 20
        assert outcome["origin"] == f"http://{host_a}:50080" and outcome["peer"] == f"http://{host_b}:50080"
    finally:
        node_b.kill()
        node_b.wait(10)
