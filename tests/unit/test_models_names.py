"""Wire models: one class per name (a second definition would silently replace the first)."""
from __future__ import annotations

import ast
import collections
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_no_module_of_the_wire_defines_a_class_twice() -> None:
    for module in ("colonies/models.py", "colonies/messages.py", "federation/messages.py"):
        tree = ast.parse((ROOT / module).read_text())
        names = collections.Counter(node.name for node in tree.body if isinstance(node, ast.ClassDef))
        assert [name for name, count in names.items() if count > 1] == [], module
