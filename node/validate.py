"""Input checks shared by handlers; each failure is a 400 with a message that names the field."""
from __future__ import annotations

from colonies.wire import RPCError

MAX_NAME = 256
_HEX = frozenset("0123456789abcdef")


def require_id(value: str, field: str) -> None:
    if len(value) != 64 or not set(value) <= _HEX:
        raise RPCError(400, f"Invalid {field}: must be 64 lowercase hex characters")


def require_name(value: str, field: str) -> None:
    if not value:
        raise RPCError(400, f"Invalid {field}: must not be empty")
    if len(value) > MAX_NAME:
        raise RPCError(400, f"Invalid {field}: longer than {MAX_NAME} characters")
    if any(ch in value for ch in "\x00\n\r"):
        raise RPCError(400, f"Invalid {field}: contains control characters")


def require_count(count: int, maximum: int, field: str = "count", status: int = 400) -> None:
    if count < 0 or count > maximum:
        raise RPCError(status, f"Invalid {field} {count}: must be between 0 and {maximum}")
