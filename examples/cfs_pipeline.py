"""A CFS data pipeline: local files go to the label /pipeline/in, a snapshot of it is mounted
into a process of the `pipeline` executor (examples/cfs_upper.py), whose outputs come back as
the label /pipeline/out/<processid>; they are downloaded and printed.

    python examples/cfs_pipeline.py [DIR]      (default: two sample files)

Needs S3 for the bytes: the AWS_S3_* variables (AWS_S3_ENDPOINT, AWS_S3_ACCESSKEY,
AWS_S3_SECRETKEY, AWS_S3_REGION, AWS_S3_BUCKET, AWS_S3_TLS), here and at the executor.
"""
from __future__ import annotations

import asyncio
import os
import secrets
import sys
import tempfile
from pathlib import Path

import msgspec
from _env import colony, node_url, prvkey

from colonies import models
from colonies.cfs.remote import NodeRemote, StorageStore
from colonies.cfs.storage import S3Config, S3Storage
from colonies.cfs.sync import SyncEngine
from colonies.client import AsyncClient, func_spec
from colonies.models import SUCCESS


def mounts(snapshotid: str) -> models.Filesystem:
    keep_outputs = models.OnConflicts(onclose=models.ConflictPolicy(keeplocal=True))
    return models.Filesystem(
        snapshots=[models.SnapshotMount(snapshotid=snapshotid, label="/pipeline/in", dir="/in/{processid}")],
        dirs=[models.SyncDirMount(label="/pipeline/out/{processid}", dir="/out/{processid}", onconflicts=keep_outputs)],
    )


async def main(inputs: Path, work: Path) -> int:
    async with AsyncClient(node_url(), prvkey()) as client, S3Storage(S3Config.from_env(os.environ)) as storage:
        engine = SyncEngine(NodeRemote(client, colony()), StorageStore(storage))
        await engine.sync(inputs, "/pipeline/in", keeplocal=True, direction="upload")
        snapshot = await client.create_snapshot(colony(), "/pipeline/in", f"pipeline-in-{secrets.token_hex(4)}")
        spec = func_spec("cfs_upper.py", colony(), "pipeline", maxexectime=60)
        process = await client.submit(msgspec.structs.replace(spec, fs=mounts(snapshot.snapshotid)))
        done = await client.wait(process, timeout=60)
        if done.state != SUCCESS:
            print("\n".join(done.errors), file=sys.stderr)
            return 1
        outputs = work / "out"
        await engine.sync(outputs, f"/pipeline/out/{done.processid}", keeplocal=False, direction="download")
        for path in sorted(p for p in outputs.iterdir() if not p.name.startswith(".")):  # .cfs: the sync marker
            print(f"{path.name}: {path.read_text().strip()}")
    return 0


def sample(directory: Path) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "a.txt").write_text("hello cfs\n")
    (directory / "b.txt").write_text("data follows work\n")
    return directory


if __name__ == "__main__":
    with tempfile.TemporaryDirectory(prefix="cfs-pipeline-") as tmp:
        given = Path(sys.argv[1]) if len(sys.argv) > 1 else sample(Path(tmp) / "in")
        sys.exit(asyncio.run(main(given, Path(tmp))))
