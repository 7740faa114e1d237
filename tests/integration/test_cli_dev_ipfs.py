"""`colonies dev --ipfs` as a user runs it: its own process (on uvloop, as the CLI runs nodes),
an embedded IPFS node whose API it prints, that node gone when the dev node stops."""
from __future__ import annotations

import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

from colonies.cfs.storage import IpfsConfig, IpfsStorage
from tests.support.env import clean_env


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def kubo_children(parent: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                cmdline = (entry / "cmdline").read_bytes()
                if b"colonies.cfs.ipfs.kubo_process" in cmdline and f"--parent-pid\0{parent}\0".encode() in cmdline:
                    found.append(int(entry.name))
            except OSError:
                continue
    return found


async def test_dev_ipfs_prints_a_working_api_and_takes_its_node_down(tmp_path: Path) -> None:
    env = clean_env()
    command = [sys.executable, "-m", "colonies.cli", "dev", "--ipfs", "--port", str(free_port()), "--data-dir", str(tmp_path / "dev")]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env, text=True)
    try:
        api = ""
        deadline = time.monotonic() + 60
        assert process.stdout is not None
        while not api and time.monotonic() < deadline:
            line = process.stdout.readline()
            assert line or process.poll() is None, "colonies dev exited"
            if "COLONIES_IPFS_API=" in line:
                api = line.split("COLONIES_IPFS_API=", 1)[1].strip()
        assert api.startswith("/ip4/127.0.0.1/tcp/"), api
        async with IpfsStorage(IpfsConfig(api=api)) as ipfs:
            identity = await ipfs.identity()
            assert identity.peer_id and all("/ip4/127.0.0.1/" in a for a in identity.addresses)
        assert len(kubo_children(process.pid)) == 1
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(10)
    deadline = time.monotonic() + 10
    while kubo_children(process.pid) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert kubo_children(process.pid) == []
