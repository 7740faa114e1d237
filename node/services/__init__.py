"""Background loops, one module per concern. A module that defines
`service(core) -> Coroutine | None` is started with the node (None = not wanted by this config)."""
from __future__ import annotations

import importlib
import pkgutil
from typing import TYPE_CHECKING, Any, Coroutine

if TYPE_CHECKING:
    from colonies.node.core import NodeCore


def all_services(core: "NodeCore") -> dict[str, Coroutine[Any, Any, None]]:
    services: dict[str, Coroutine[Any, Any, None]] = {}
    for info in pkgutil.iter_modules(__path__):
        module = importlib.import_module(f"{__name__}.{info.name}")
        factory = getattr(module, "service", None)
        if factory is not None:
            coro = factory(core)
            if coro is not None:
                services[info.name] = coro
    return services
