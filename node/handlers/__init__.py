"""One module per domain; importing this package registers every RPC handler."""
from colonies.node.handlers import (  # noqa: F401
    attributes,
    colonies,
    executors,
    functions,
    logs,
    processes,
    server,
    users,
)
