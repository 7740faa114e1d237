"""The environment tests run in: never the `COLONIES_*` / `AWS_*` variables of the shell running them.

`colonies dev` invites users to paste its exports into their shell; a test (or a node it spawns)
that read them would dial, bind or sign as that shell's node instead of its own."""
from __future__ import annotations

import os
from collections.abc import Mapping, MutableMapping

SCRUBBED_PREFIXES = ("COLONIES_", "AWS_")


def scrubbed(name: str) -> bool:
    return name.startswith(SCRUBBED_PREFIXES)


def clean_env(base: Mapping[str, str] | None = None, **extra: str) -> dict[str, str]:
    """`base` (default: this process's environment) without the scrubbed variables, plus `extra`."""
    source = os.environ if base is None else base
    return {k: v for k, v in source.items() if not scrubbed(k)} | extra


def scrub(environ: MutableMapping[str, str]) -> list[str]:
    """Remove the scrubbed variables from `environ` in place; the names removed."""
    removed = sorted(name for name in environ if scrubbed(name))
    for name in removed:
        del environ[name]
    return removed
