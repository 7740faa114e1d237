"""The well-known dev identities of upstream's docker-compose.env and pycolonies' CI (spec §1.4).

They are public: never use them outside a dev node on loopback.
"""
from __future__ import annotations

SERVER_PRVKEY = "fcc79953d8a751bf41db661592dc34d30004b1a651ffa0725b03ac227641499d"
SERVER_ID = "039231c7644e04b6895471dd5335cf332681c54e27f81fac54f9067b3f2c0103"
COLONY_NAME = "dev"
COLONY_PRVKEY = "ba949fa134981372d6da62b6a56f336ab4d843b22c02a4257dcf7d0d73097514"
COLONY_ID = "4787a5071856a4acf702b2ffcea422e3237a679c681314113d86139461290cf4"
PRVKEY = "ddf7f7791208083b6a9ed975a72684f6406a269cfa36f1b1c32045c0a71fff05"
ID = "3fc05cf3df4b494e95d6a3d297a34f19938f7daa7422ab0d4f794454133341ac"
USER_NAME = "myuser"
EXECUTOR_NAME = "myexecutor"
EXECUTOR_TYPE = "cli"

# Dev-only federation authority (docs/federation.md). PUBLIC: anyone can sign a certificate with it,
# so a node trusting this authority trusts everyone. Only `colonies dev` nodes on loopback use it.
FEDERATION_NAME = "dev"
FEDERATION_AUTHORITY_PRVKEY = "6b8d1b1eed00b8a42cb3397b152ccb04f0fc17bef9bbadd61e936ea13081cc4f"
FEDERATION_AUTHORITY_ID = "213b8018dff3eb70e30a9c4e48d553928a7be32dbb04144a010b96ad4a55b256"


def client_env(host: str, port: int) -> dict[str, str]:
    """The COLONIES_* variables a client (our CLI, pycolonies, the upstream CLI) needs for a dev node."""
    return {
        "COLONIES_SERVER_HOST": host,
        "COLONIES_SERVER_PORT": str(port),
        "COLONIES_SERVER_TLS": "false",
        "COLONIES_TLS": "false",
        "COLONIES_INSECURE": "true",
        "COLONIES_SERVER_PRVKEY": SERVER_PRVKEY,
        "COLONIES_SERVER_ID": SERVER_ID,
        "COLONIES_COLONY_NAME": COLONY_NAME,
        "COLONIES_COLONY_PRVKEY": COLONY_PRVKEY,
        "COLONIES_COLONY_ID": COLONY_ID,
        "COLONIES_PRVKEY": PRVKEY,
        "COLONIES_ID": ID,
        "COLONIES_USER_NAME": USER_NAME,
        "COLONIES_EXECUTOR_NAME": EXECUTOR_NAME,
        "COLONIES_EXECUTOR_TYPE": EXECUTOR_TYPE,
    }

# The shell executor `colonies dev` runs next to its node (type `cli`, like the dev executor), so
# the README's first process has something to run it. Its key is public like the others.
SHELL_EXECUTOR_NAME = "dev-shell"
SHELL_EXECUTOR_PRVKEY = "b1c0acf79d5a7dacfd27f2dc007e1aa65f39d1a9f1f18af724054291778c3f7d"
SHELL_EXECUTOR_ID = "57e764c30216d0398da57f884e921f28768ea7aa8fd8507c46a99b3f85f64984"
# not `date`: `date -s` sets the clock when the node runs as root, and the dev keys are public
SHELL_COMMANDS = ("echo", "printf", "uname", "sleep", "seq", "true", "false")
