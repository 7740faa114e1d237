"""The same hello-world executor written with the upstream pycolonies SDK (type `hello-py`).

Try it with `python examples/submit.py hello hello-py Ada`.
"""
from __future__ import annotations

import signal
import uuid

from pycolonies import Crypto, colonies_client

stopping = False


def stop(*_: object) -> None:
    global stopping
    stopping = True


def main() -> None:
    client, colonyname, colony_prvkey, _, _ = colonies_client()
    crypto = Crypto()
    prvkey = crypto.prvkey()
    name = f"hello-pycolonies-{uuid.uuid4().hex[:6]}"
    executor = {"executorname": name, "executorid": crypto.id(prvkey), "colonyname": colonyname, "executortype": "hello-py"}
    client.add_executor(executor, colony_prvkey)
    client.approve_executor(colonyname, name, colony_prvkey)
    client.add_function(colonyname, name, "hello", prvkey)
    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    print(f"ready executor {name} (type hello-py); Ctrl-C stops it", flush=True)
    try:
        while not stopping:
            try:
                process = client.assign(colonyname, 2, prvkey)
            except Exception:  # nothing to do within the timeout
                continue
            args = process.spec.args or ["world"]
            client.close(process.processid, [f"Hello, {args[0]}!"], prvkey)
    finally:
        client.remove_executor(colonyname, name, colony_prvkey)


if __name__ == "__main__":
    main()
