"""Files through a real node and a real S3 server (moto_server): our sync engine and the unmodified
pycolonies SDK read what the other wrote."""
from __future__ import annotations

from pathlib import Path

import pytest
from pycolonies import Colonies

from colonies.cfs.remote import NodeRemote, StorageStore
from colonies.cfs.storage import S3Storage
from colonies.cfs.sync import SyncEngine
from colonies.client import AsyncClient


@pytest.fixture
def member(colony):
    return colony.add_user()


@pytest.fixture
def aws_env(monkeypatch, s3_server):
    """pycolonies reads its S3 settings from the environment only."""
    for name, value in s3_server.to_env().items():
        monkeypatch.setenv(name, value)
    return s3_server


async def test_what_our_sync_uploads_pycolonies_downloads_and_back(tmp_path: Path, node, colony, member, aws_env):
    up = tmp_path / "up"
    (up / "sub").mkdir(parents=True)
    (up / "a.txt").write_bytes(b"alpha")
    (up / "sub" / "b.bin").write_bytes(bytes(range(256)) * 40)
    (up / "empty").write_bytes(b"")
    async with AsyncClient(colony.url, member.prvkey) as sdk, S3Storage(aws_env) as storage:
        engine = SyncEngine(NodeRemote(sdk, colony.name), StorageStore(storage))
        await engine.sync(up, "/job", keeplocal=True)
        assert sorted(f.name for f in await sdk.get_files(colony.name, "/job")) == ["a.txt", "empty"]
        assert [f.name for f in await sdk.get_files(colony.name, "/job/sub")] == ["b.bin"]

        py = Colonies("127.0.0.1", node.port)
        assert py.download_data(colony.name, member.prvkey, label="/job", filename="a.txt") == b"alpha"
        assert py.download_data(colony.name, member.prvkey, label="/job/sub", filename="b.bin") == bytes(range(256)) * 40
        py.upload_data(colony.name, member.prvkey, filename="c.txt", data=b"from pycolonies", label="/job")

        down = tmp_path / "down"
        await engine.sync(down, "/job", keeplocal=False, direction="download")
        assert (down / "a.txt").read_bytes() == b"alpha"
        assert (down / "c.txt").read_bytes() == b"from pycolonies"
        assert (down / "sub" / "b.bin").read_bytes() == bytes(range(256)) * 40
        assert (down / "empty").read_bytes() == b""
        assert sorted(p.name for p in down.iterdir()) == [".cfs", "a.txt", "c.txt", "empty", "sub"]

        (down / "a.txt").write_bytes(b"changed here")  # a conflict kept locally becomes a new revision
        await engine.sync(down, "/job", keeplocal=True, direction="upload")
        revisions = py.get_file(colony.name, member.prvkey, label="/job", filename="a.txt", latest=False)
        assert len(revisions) == 2
        assert py.download_data(colony.name, member.prvkey, label="/job", filename="a.txt") == b"changed here"
