"""Every example in examples/ runs as its README says, against a `colonies dev` node started as a
user starts it, in a shell with the dev exports pasted (tests/support/devnode.py)."""
from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.devnode import DevNode, Ready, free_port

pytestmark = pytest.mark.one_store  # a client of the node over HTTP, whichever store it has

REPO = Path(__file__).resolve().parents[2]
EXAMPLES = REPO / "examples"
COLONIES = [sys.executable, "-m", "colonies.cli"]


@pytest.fixture(scope="module")
def dev_node(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DevNode]:
    node = DevNode(tmp_path_factory.mktemp("examples"))
    yield node
    node.stop()


def run_example(script: str, env: dict[str, str], *args: str) -> str:
    result = subprocess.run(
        [sys.executable, str(EXAMPLES / script), *args], env=env, cwd=REPO, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


def test_examples_readme_names_every_example():
    readme = (EXAMPLES / "README.md").read_text()
    for path in EXAMPLES.iterdir():
        if path.suffix in (".py", ".sh") and not path.name.startswith("_"):
            assert f"examples/{path.name}" in readme, path.name


@pytest.mark.parametrize("script, executortype", [("hello_sdk.py", "hello"), ("hello_pycolonies.py", "hello-py")])
def test_the_hello_world_executors_answer(dev_node: DevNode, script: str, executortype: str):
    executor = Ready([sys.executable, str(EXAMPLES / script)], dev_node.env(), cwd=REPO)
    try:
        assert run_example("submit.py", dev_node.env(), "hello", executortype, "Ada") == "Hello, Ada!\n"
    finally:
        assert executor.stop() == 0


def test_the_map_reduce_workflow_counts_words(dev_node: DevNode, tmp_path: Path):
    text = tmp_path / "text.txt"
    text.write_text("one two three\nfour five\n\nsix\n")
    command = [*COLONIES, "executor", "start", "--type", "wordcount", "--module", "examples.wordcount", "--parallel", "4", "--assign-timeout", "1"]
    executor = Ready(command, dev_node.env(), cwd=REPO)
    try:
        assert run_example("map_reduce.py", dev_node.env(), str(text)) == "3 lines, 6 words\n"
    finally:
        assert executor.stop() == 0


def test_the_cron_runs_echo_on_the_dev_executor(dev_node: DevNode):
    lines = run_example("cron.py", dev_node.env(), "2", "1").splitlines()
    assert [line.split(":")[0] for line in lines] == ["run 1", "run 2"]
    assert all(line.split(": ", 1)[1].startswith("tick at 20") for line in lines)


def test_the_cfs_pipeline_upper_cases_files_through_s3(dev_node: DevNode, s3_server, tmp_path: Path):
    s3 = {
        "AWS_S3_ENDPOINT": s3_server.endpoint,
        "AWS_S3_ACCESSKEY": s3_server.access_key,
        "AWS_S3_SECRETKEY": s3_server.secret_key,
        "AWS_S3_REGION": s3_server.region,
        "AWS_S3_BUCKET": s3_server.bucket,
        "AWS_S3_TLS": "false",
    }
    env = dev_node.env() | s3
    command = [
        *COLONIES, "executor", "start", "--type", "pipeline", "--allow", "examples/cfs_upper.py",
        "--fs-dir", str(tmp_path / "fs"), "--assign-timeout", "1",
    ]
    executor = Ready(command, env, cwd=REPO)
    try:
        assert run_example("cfs_pipeline.py", env) == "a.txt: HELLO CFS\nb.txt: DATA FOLLOWS WORK\n"
    finally:
        assert executor.stop() == 0


def test_the_two_site_federation_forwards_to_the_site_with_the_executor():
    env = {k: v for k, v in os.environ.items() if not k.startswith("COLONIES_")}
    env |= {"PORT_A": str(free_port()), "PORT_B": str(free_port()), "PYTHON": sys.executable, "COLONIES": " ".join(COLONIES)}
    result = subprocess.run(["sh", str(EXAMPLES / "federation.sh")], env=env, cwd=REPO, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    lines = result.stdout.splitlines()
    assert "no executor runs here" in lines[0] and "executor dev-shell" in lines[1]
    assert lines[2:] == ["submitted at site A, ran at site B:", "hello from site B"]
