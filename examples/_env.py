"""What every example reads: the node and identities from the `colonies dev` exports."""
from __future__ import annotations

import os


def node_url() -> str:
    tls = os.environ.get("COLONIES_SERVER_TLS", os.environ.get("COLONIES_TLS", "false")) == "true"
    host = os.environ.get("COLONIES_SERVER_HOST", "127.0.0.1")
    return f"{'https' if tls else 'http'}://{host}:{os.environ.get('COLONIES_SERVER_PORT', '50080')}"


def colony() -> str:
    return os.environ["COLONIES_COLONY_NAME"]


def colony_prvkey() -> str:
    return os.environ["COLONIES_COLONY_PRVKEY"]


def prvkey() -> str:
    return os.environ["COLONIES_PRVKEY"]
