"""docs/configuration.md lists every NodeConfig key, with its environment variables and default."""
from __future__ import annotations

import json
import re
from dataclasses import MISSING, fields
from pathlib import Path
from typing import Any

from colonies.node.config import NodeConfig, env_vars

DOC = (Path(__file__).resolve().parents[2] / "docs" / "configuration.md").read_text()
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
