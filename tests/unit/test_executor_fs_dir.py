"""Where an executor materialises CFS mounts."""
from __future__ import annotations

from pathlib import Path

import pytest

from colonies.executor import Executor, default_fs_dir


def test_the_default_mount_root_is_the_executors_own_data_dir(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path))
    assert default_fs_dir("gpu/worker 1") == tmp_path / "colonies" / "executors" / "gpu_worker_1" / "fs"


async def test_a_store_gives_the_executor_mounts_under_fs_dir(tmp_path: Path) -> None:
    from colonies import crypto

    mounting = Executor("http://127.0.0.1:9", "c", crypto.generate_private_key(), "e", "t", store=object(), fs_dir=tmp_path / "mounts")
    plain = Executor("http://127.0.0.1:9", "c", crypto.generate_private_key(), "e", "t")
    try:
        assert mounting.mounts is not None and mounting.mounts.root == tmp_path / "mounts"
        assert plain.mounts is None
    finally:
        await mounting.client.aclose()
        await plain.client.aclose()
