"""Package version and build information for `colonies version` and the node's versionmsg."""
from __future__ import annotations

import os
import platform
from collections.abc import Mapping
from importlib import metadata

DIST_NAME = "colonies"


def package_version() -> str:
    try:
        return metadata.version(DIST_NAME)
    except metadata.PackageNotFoundError:
        return "unknown"


def _event_loop() -> str:
    try:
        return f"uvloop {metadata.version('uvloop')}"
    except metadata.PackageNotFoundError:
        return "asyncio"


def build_info(env: Mapping[str, str] | None = None) -> dict[str, str]:
    """BUILD_VERSION / BUILD_TIME (set by release builds) fall back to the installed version."""
    environ = os.environ if env is None else env
    version = package_version()
    return {
        "version": version,
        "buildversion": environ.get("BUILD_VERSION") or version,
        "buildtime": environ.get("BUILD_TIME") or "unknown",
        "python": f"{platform.python_version()} ({platform.python_implementation()})",
        "platform": f"{platform.system().lower()} {platform.machine()}",
        "eventloop": _event_loop(),
    }
