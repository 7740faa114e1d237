"""CFS benchmark: our sync engine (node + S3) against raw boto3 on the same S3 server, IPFS
between two sites, and the cross-site scenario's time split.

Starts a real S3 server (`moto_server`, 127.0.0.1) and a dev node (`colonies dev`, loopback),
then measures, each next to raw boto3 doing the same transfers in the same run:
* 1,000 small files (`--small-files`, `--small-size` bytes each) synced up and down: files/s;
* one big file (`--big-mib`, 256) synced up and down: MB/s.
Ours also hashes every file (SHA-256), signs an RPC per file and records a revision; raw boto3 only
moves bytes. Then (unless `--no-ipfs`), with two embedded IPFS nodes (real Kubo, loopback):
* the same small files and big file added at node A and fetched by CID at node B (files/s, MB/s;
  B verifies every SHA-256), beside the S3 figures above;
* the cross-site scenario of docs/cfs.md (`--cross-files` inputs and a `--cross-mib` file synced
  into IPFS at A, a process mounting them forwarded to B, its output back at A), split into
  forward (submit at A → assigned at B), fetch (B's mounts before the run), run, upload (B's
  mounts after it) and report (closed at B → SUCCESSFUL at A).
Prints one JSON object.

    python benchmarks/cfs.py [--small-files 1000] [--small-size 1024] [--big-mib 256] [--parallel 8] [--seed 1]
                             [--no-ipfs] [--cross-files 100] [--cross-mib 32]
"""
from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import msgspec

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.benchkit import free_port  # noqa: E402
from colonies import dev  # noqa: E402
from colonies.cfs.remote import NodeRemote, StorageStore  # noqa: E402
from colonies.cfs.storage import S3Config, S3Storage  # noqa: E402
from colonies.cfs.sync import SyncEngine  # noqa: E402
from colonies.client import AsyncClient  # noqa: E402
from tests.support.s3 import raw_client, start_moto_server  # noqa: E402

MB = 1_000_000


def start_node(data_dir: Path) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("COLONIES_", "AWS_"))}
    command = [sys.executable, "-m", "colonies.cli", "dev", "--port", str(port), "--data-dir", str(data_dir)]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(f"{url}/health", timeout=1)
            return process, url
        except OSError:
            time.sleep(0.1)
    process.kill()
    raise RuntimeError("the dev node did not start")


def make_files(root: Path, count: int, size: int, rng: random.Random) -> None:
    root.mkdir(parents=True)
    for i in range(count):
        (root / f"f{i:05d}.bin").write_bytes(rng.randbytes(size))


def make_big(root: Path, mib: int, rng: random.Random) -> None:
    root.mkdir(parents=True)
    chunk = rng.randbytes(1 << 20)
    with (root / "big.bin").open("wb") as out:
        for i in range(mib):
            out.write(chunk[i % 97:] + chunk[: i % 97])  # distinct content per MiB, cheaply


def tree_bytes(root: Path) -> int:
    return sum(p.stat().st_size for p in root.iterdir() if p.is_file() and p.name != ".cfs")


async def ours(url: str, config: S3Config, src: Path, dst: Path, label: str, parallel: int) -> dict[str, float]:
    async with AsyncClient(url, dev.PRVKEY) as client, S3Storage(config) as storage:
        engine = SyncEngine(NodeRemote(client, dev.COLONY_NAME), StorageStore(storage))
        started = time.perf_counter()
        await engine.sync(src, label, keeplocal=True, direction="upload", parallel=parallel)
        up = time.perf_counter() - started
        started = time.perf_counter()
        await engine.sync(dst, label, keeplocal=False, direction="download", parallel=parallel)
        down = time.perf_counter() - started
    return {"up_s": up, "down_s": down}


def raw(config: S3Config, src: Path, dst: Path, prefix: str, parallel: int) -> dict[str, float]:
    """boto3's best way for each size: one PUT/GET per small file, managed (multipart, parallel
    parts) transfers for big ones."""
    client = raw_client(config)
    files = sorted(p for p in src.iterdir() if p.is_file())
    dst.mkdir(parents=True)
    small = all(p.stat().st_size < 8 << 20 for p in files)

    def put(path: Path) -> None:
        if small:
            client.put_object(Bucket=config.bucket, Key=f"{prefix}/{path.name}", Body=path.read_bytes())
        else:
            client.upload_file(str(path), config.bucket, f"{prefix}/{path.name}")

    def get(path: Path) -> None:
        if small:
            (dst / path.name).write_bytes(client.get_object(Bucket=config.bucket, Key=f"{prefix}/{path.name}")["Body"].read())
        else:
            client.download_file(config.bucket, f"{prefix}/{path.name}", str(dst / path.name))

    with ThreadPoolExecutor(parallel) as pool:
        started = time.perf_counter()
        list(pool.map(put, files))
        up = time.perf_counter() - started
        started = time.perf_counter()
        list(pool.map(get, files))
        down = time.perf_counter() - started
    return {"up_s": up, "down_s": down}


def rates(times: dict[str, float], count: int, size: int) -> dict[str, float]:
    return {
        "up_files_per_s": round(count / times["up_s"], 1),
        "down_files_per_s": round(count / times["down_s"], 1),
        "up_mb_per_s": round(size / MB / times["up_s"], 1),
        "down_mb_per_s": round(size / MB / times["down_s"], 1),
    }


def compare(name: str, ours_t: dict[str, float], raw_t: dict[str, float], count: int, size: int) -> dict[str, Any]:
    mine, theirs = rates(ours_t, count, size), rates(raw_t, count, size)
    key = "files_per_s" if name == "small" else "mb_per_s"
    return {
        "files": count,
        "bytes": size,
        "ours": mine,
        "raw_boto3": theirs,
        "up_ratio": round(mine[f"up_{key}"] / theirs[f"up_{key}"], 2),
        "down_ratio": round(mine[f"down_{key}"] / theirs[f"down_{key}"], 2),
    }


async def ipfs_transfer(tmp: Path, src: Path, parallel: int) -> dict[str, float]:
    """Add every file of `src` at IPFS node A, then fetch each by CID at node B (verified)."""
    from colonies.cfs.ipfs.embedded import EmbeddedIpfs
    from colonies.cfs.storage import IpfsConfig, IpfsStorage

    files = sorted(p for p in src.iterdir() if p.is_file())
    async with EmbeddedIpfs(tmp / "ipfs-a") as node_a, EmbeddedIpfs(tmp / "ipfs-b") as node_b:
        async with IpfsStorage(IpfsConfig(api=node_a.api_multiaddr)) as a, IpfsStorage(IpfsConfig(api=node_b.api_multiaddr, timeout=120)) as b:
            gate = asyncio.Semaphore(parallel)

            async def put(path: Path) -> Any:
                async with gate:
                    return await a.put_file(path)

            started = time.perf_counter()
            refs = await asyncio.gather(*(put(p) for p in files))
            up = time.perf_counter() - started
            await b.connect((await a.identity()).addresses)
            dest = tmp / "ipfs-down"
            dest.mkdir(parents=True)

            async def get(path: Path, ref: Any) -> None:
                async with gate:
                    await b.get_file(ref, dest / path.name, sha256=ref.sha256)

            started = time.perf_counter()
            await asyncio.gather(*(get(p, r) for p, r in zip(files, refs)))
            down = time.perf_counter() - started
    return {"up_s": up, "down_s": down}


def ipfs_rates(times: dict[str, float], count: int, size: int) -> dict[str, float]:
    return {
        "add_at_a_files_per_s": round(count / times["up_s"], 1),
        "b_from_a_files_per_s": round(count / times["down_s"], 1),
        "add_at_a_mb_per_s": round(size / MB / times["up_s"], 1),
        "b_from_a_mb_per_s": round(size / MB / times["down_s"], 1),
    }


def cross_site(tmp: Path, files: int, mib: int, rng: random.Random) -> dict[str, float]:
    """The scenario of tests/integration/test_ipfs_cross_site.py, timed phase by phase."""
    from colonies import models
    from colonies.cfs.mounts import Mounts
    from colonies.cfs.remote import NodeRemote, StorageStore
    from colonies.cfs.storage import IpfsConfig, IpfsStorage
    from colonies.client import func_spec
    from colonies.executor import Executor
    from tests.federation.sites import running_federation

    data = tmp / "cross-in"
    data.mkdir()
    (data / "big.bin").write_bytes(rng.randbytes(mib * (1 << 20)))
    for i in range(files):
        (data / f"small{i:03d}.txt").write_bytes(rng.randbytes(1024))

    async def scenario(fed: Any) -> dict[str, float]:
        cores = {site: fed.sites[site].node.node.core for site in ("a", "b")}
        api = {site: core.ipfs.embedded.api_multiaddr for site, core in cores.items()}
        b_key = fed.add_executor("b", "far")
        phases: dict[str, float] = {}
        async with AsyncClient(fed.url("a"), fed.user) as a, IpfsStorage(IpfsConfig(api=api["a"])) as a_ipfs, IpfsStorage(IpfsConfig(api=api["b"], timeout=120)) as b_ipfs:
            await SyncEngine(NodeRemote(a, fed.colony), StorageStore(ipfs=a_ipfs)).sync(data, "/cross", keeplocal=True, direction="upload")
            fs = models.Filesystem(dirs=[
                models.SyncDirMount(label="/cross", dir="/in/{processid}"),
                models.SyncDirMount(label="/cross-out/{processid}", dir="/out/{processid}", onconflicts=models.OnConflicts(onclose=models.ConflictPolicy(keeplocal=True))),
            ])
            root = tmp / "cross-executor"
            executor = Executor(fed.url("b"), fed.colony, b_key, "b-far", "far", store=StorageStore(ipfs=b_ipfs, put_to="ipfs"), fs_dir=root)
            mounts: Mounts = executor.mounts

            async def timed_before(process: Any) -> None:
                started = time.perf_counter()
                await Mounts.before(mounts, process)
                phases["fetch_s"] = time.perf_counter() - started
                phases["run_started"] = time.perf_counter()

            async def timed_after(process: Any) -> None:
                phases["run_s"] = time.perf_counter() - phases.pop("run_started")
                started = time.perf_counter()
                await Mounts.after(mounts, process)
                phases["upload_s"] = time.perf_counter() - started

            mounts.before, mounts.after = timed_before, timed_after  # type: ignore[method-assign]

            @executor.register_function("digest")
            def digest() -> int:
                out = root / "out"
                for pid_dir in (root / "in").iterdir():
                    total = sum(len(p.read_bytes()) for p in pid_dir.iterdir() if p.is_file())
                    (out / pid_dir.name).mkdir(parents=True, exist_ok=True)
                    (out / pid_dir.name / "total.txt").write_text(str(total))
                return 1

            # the executor is already waiting at B (live there), as in steady operation
            waiting = asyncio.ensure_future(executor.client.assign(fed.colony, 60))
            await asyncio.sleep(1.0)
            submitted = time.perf_counter()
            process = await a.submit(msgspec.structs.replace(func_spec("digest", fed.colony, "far"), fs=fs, maxexectime=300))
            assigned = await waiting
            phases["forward_s"] = time.perf_counter() - submitted
            await executor.execute(assigned)
            closed = time.perf_counter()
            await executor.client.aclose()
            while (await a.get_process(process.processid)).state not in (2, 3):
                await asyncio.sleep(0.01)
            phases["report_s"] = time.perf_counter() - closed
            phases["total_s"] = time.perf_counter() - submitted
        return {k: round(v, 3) for k, v in phases.items()}

    with running_federation(tmp / "cross-sites", ["a", "b"], ipfs_embedded=True, ipfs_timeout=120.0) as fed:
        return asyncio.run(scenario(fed))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--small-files", type=int, default=1000)
    parser.add_argument("--small-size", type=int, default=1024)
    parser.add_argument("--big-mib", type=int, default=256)
    parser.add_argument("--parallel", type=int, default=8, help="transfers in flight, ours and boto3's")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--no-ipfs", action="store_true", help="S3 figures only")
    parser.add_argument("--cross-files", type=int, default=100)
    parser.add_argument("--cross-mib", type=int, default=32)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    moto = start_moto_server()
    tmp = Path(tempfile.mkdtemp(prefix="colonies-cfs-bench-"))
    node, url = start_node(tmp / "node")
    result: dict[str, Any] = {"seed": args.seed, "parallel": args.parallel}
    try:
        config = moto.config()
        make_files(tmp / "small", args.small_files, args.small_size, rng)
        small = tree_bytes(tmp / "small")
        mine = asyncio.run(ours(url, config, tmp / "small", tmp / "small-down", "/bench/small", args.parallel))
        theirs = raw(config, tmp / "small", tmp / "small-raw", "raw-small", args.parallel)
        result["small"] = compare("small", mine, theirs, args.small_files, small)
        if args.big_mib:
            make_big(tmp / "big", args.big_mib, rng)
            big = tree_bytes(tmp / "big")
            mine = asyncio.run(ours(url, config, tmp / "big", tmp / "big-down", "/bench/big", args.parallel))
            theirs = raw(config, tmp / "big", tmp / "big-raw", "raw-big", args.parallel)
            result["big"] = compare("big", mine, theirs, 1, big)
        if not args.no_ipfs:
            result["ipfs_small"] = ipfs_rates(asyncio.run(ipfs_transfer(tmp / "ipfs-small", tmp / "small", args.parallel)), args.small_files, small)
            if args.big_mib:
                result["ipfs_big"] = ipfs_rates(asyncio.run(ipfs_transfer(tmp / "ipfs-big", tmp / "big", args.parallel)), 1, big)
            result["cross_site"] = cross_site(tmp, args.cross_files, args.cross_mib, rng)
    finally:
        node.terminate()
        node.wait(10)
        moto.stop()
        shutil.rmtree(tmp, ignore_errors=True)
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
