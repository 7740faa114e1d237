"""docs/dht.md names only files, tests, benchmark flags, figures and API that exist."""
from __future__ import annotations

import json
import re
from pathlib import Path

from colonies.dht import DHTNode

ROOT = Path(__file__).resolve().parents[2]
DOC = (ROOT / "docs" / "dht.md").read_text()
BENCHMARK = (ROOT / "benchmarks" / "dht.py").read_text()


def test_named_files_and_tests_exist():
    for path, name in re.findall(r"(tests/[\w/]+\.py)::(\w+)", DOC):
        assert re.search(rf"def {name}\b", (ROOT / path).read_text()), f"{path}::{name}"
    for path in set(re.findall(r"\b((?:benchmarks|tests|docs|dht)/[\w/]+\.(?:py|md))\b", DOC)):
        assert (ROOT / path).exists(), path
    for module in re.findall(r"^\| `(\w+\.py)` \|", DOC, flags=re.MULTILINE):
        assert (ROOT / "dht" / module).exists(), module


def test_benchmark_commands_use_existing_flags():
    commands = re.findall(r"^python benchmarks/dht\.py(.*)$", DOC, flags=re.MULTILINE)
    assert commands
    for flag in {f for command in commands for f in re.findall(r"(--?[\w-]+)", command)}:
        assert f'"{flag}"' in BENCHMARK, flag


def test_quoted_figures_are_keys_the_benchmark_prints():
    blocks = re.findall(r"```json\n(\{\"nodes\".*?)\n```", DOC, flags=re.DOTALL)
    assert blocks

    def keys(value: object) -> set[str]:
        if not isinstance(value, dict):
            return set()
        return set(value) | {k for v in value.values() for k in keys(v)}

    for block in blocks:
        for key in keys(json.loads(block)):
            assert f'"{key}"' in BENCHMARK, key


def test_api_calls_in_the_example_exist():
    api = DOC[DOC.index("## API"):DOC.index("## Keys and records")]
    for name in set(re.findall(r"\bnode\.(\w+)\(", api)):
        assert callable(getattr(DHTNode, name, None)), name


CID_BENCHMARK = (ROOT / "benchmarks" / "dht_cids.py").read_text()


def test_cid_benchmark_commands_and_figures_exist():
    commands = re.findall(r"^python benchmarks/dht_cids\.py(.*)$", DOC, flags=re.MULTILINE)
    assert commands
    for flag in {f for command in commands for f in re.findall(r"(--?[\w-]+)", command)}:
        assert f'"{flag}"' in CID_BENCHMARK, flag
    blocks = re.findall(r"```json\n(\{\"benchmark\": \"dht_cids\".*?)\n```", DOC, flags=re.DOTALL)
    assert blocks

    def keys(value: object) -> set[str]:
        if not isinstance(value, dict):
            return set()
        return set(value) | {k for v in value.values() for k in keys(v)}

    for block in blocks:
        for key in keys(json.loads(block)):  # datagram kinds are named by benchmarks/dht.py, which it uses
            assert f'"{key}"' in CID_BENCHMARK or f'"{key}"' in BENCHMARK, key


def test_cid_names_in_the_doc_exist():
    import colonies.dht as dht
    from colonies.dht import cids, node, storage

    section = DOC[DOC.index("## CID records"):DOC.index("## Library pitfalls")]
    for name in set(re.findall(r"`([A-Z][A-Z_]{3,})`", section)):
        assert any(hasattr(module, name) for module in (dht, cids, node, storage)), name
    for name in ("advertise_cids", "find_cid", "advertised_cids", "withdraw_all"):
        assert callable(getattr(DHTNode, name)), name
