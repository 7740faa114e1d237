"""docs/configuration.md lists every NodeConfig key, with its environment variables and default; every TOML example and shipped config loads."""
from __future__ import annotations

import json
import re
from dataclasses import MISSING, fields
from pathlib import Path
from typing import Any

import pytest

from colonies.node.config import NodeConfig, env_vars, load_config

ROOT = Path(__file__).resolve().parents[2]
DOC = (ROOT / "docs" / "configuration.md").read_text()
FIELDS = DOC[DOC.index("## Fields"):DOC.index("\n## ", DOC.index("## Fields") + 1)]
ROW = re.compile(r"^\| `(\w+)`[^|]* \| ([^|]*) \| ([^|]*) \|", re.M)


def toml_literal(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return json.dumps(value)
    return repr(value)


def documented() -> dict[str, tuple[str, str]]:
    return {key: (env, default) for key, env, default in ROW.findall(FIELDS)}


def test_every_config_key_is_documented_once_and_nothing_else() -> None:
    keys = [key for key, _, _ in ROW.findall(FIELDS)]
    assert len(keys) == len(set(keys))
    assert set(keys) == {f.name for f in fields(NodeConfig)}


def test_each_key_lists_exactly_its_environment_variables() -> None:
    for key, (env, _) in documented().items():
        assert re.findall(r"`([A-Z][A-Z0-9_]+)`", env) == env_vars(key), key


def test_each_key_shows_its_default_as_toml() -> None:
    for f in fields(NodeConfig):
        default = f.default if f.default is not MISSING else f.default_factory()  # type: ignore[misc]
        shown = re.match(r"`([^`]*)`", documented()[f.name][1].strip())
        assert shown is not None and shown.group(1) == toml_literal(default), f.name


def toml_examples() -> list[tuple[str, str]]:
    pages = sorted((ROOT / "docs").glob("*.md")) + [ROOT / "README.md"]
    blocks = [(page.name, block) for page in pages for block in re.findall(r"```toml\n(.*?)```", page.read_text(), re.S)]
    return blocks + [(path.name, path.read_text()) for path in sorted((ROOT / "configs").glob("*.toml"))]


@pytest.mark.parametrize(("where", "text"), toml_examples(), ids=lambda v: v if v.endswith((".md", ".toml")) else "")
def test_every_toml_example_and_shipped_config_has_only_known_keys(tmp_path: Path, where: str, text: str) -> None:
    path = tmp_path / "example.toml"
    path.write_text(text)
    load_config(path, env={})  # an unknown key or a value of the wrong type raises
