"""Submit one function, wait for it, print its output (one item a line) or its errors.

    python examples/submit.py FUNCNAME EXECUTORTYPE [ARG ...]
"""
from __future__ import annotations

import sys

from _env import colony, node_url, prvkey

from colonies.client import Client, func_spec
from colonies.models import SUCCESS


def main(funcname: str, executortype: str, *args: str) -> int:
    with Client(node_url(), prvkey()) as client:
        process = client.submit(func_spec(funcname, colony(), executortype, args=list(args)))
        done = client.wait(process, timeout=60)
    for line in done.output if done.state == SUCCESS else done.errors:
        print(line)
    return 0 if done.state == SUCCESS else 1


if __name__ == "__main__":
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    sys.exit(main(*sys.argv[1:]))
