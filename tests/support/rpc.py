"""A minimal synchronous wire client for tests, independent of the SDKs under test."""
from __future__ import annotations

import json
import urllib.error
import urllib.request
from typing import Any

from colonies import wire


class RPCFailure(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(f"{status}: {message}")
        self.status = status
        self.message = message


def post_raw(url: str, body: bytes, timeout: float = 30) -> tuple[int, dict[str, Any]]:
    """POST a raw body to /api; (HTTP status, decoded reply envelope with its payload decoded)."""
    request = urllib.request.Request(url + "/api", data=body, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            status, raw = response.status, response.read()
    except urllib.error.HTTPError as err:
        status, raw = err.code, err.read()
    envelope = json.loads(raw)
    envelope["payload"] = json.loads(wire.b64decode(envelope["payload"])) if envelope.get("payload") else None
    return status, envelope


def call(url: str, msg: dict[str, Any], prvkey: str | None, timeout: float = 30) -> Any:
    status, envelope = post_raw(url, wire.build_request(msg, prvkey), timeout)
    if envelope["error"]:
        raise RPCFailure(status, envelope["payload"]["message"])
    return envelope["payload"]
