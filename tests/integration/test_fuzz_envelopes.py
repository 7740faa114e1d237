"""Acceptance (issue 12): 10,000 malformed, mutated or oversized envelopes thrown at a running node
(a real `colonies dev` process) get no 5xx and no hang; afterwards the node still serves and its
memory is back near where it started. Seeded (derandomized), so every run sends the same bodies:
the 10,000 are built from hypothesis-drawn seeds (hypothesis's own strategies cost ~10 ms of
client CPU per body), and 500 more come from those strategies directly."""
from __future__ import annotations

import base64
import gzip
import http.client
import json
import os
import random
import re
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import msgspec
import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from colonies import crypto, dev
from colonies.node.app import ROUTES
from tests.support.rpc import call

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "10000"))
REPLY_TIMEOUT = 30.0  # a reply slower than this is a hang
RSS_GROWTH_BOUND = 64 * 1024 * 1024
STRANGER = crypto.generate_private_key()
SIGNERS = [dev.PRVKEY, STRANGER, ""]  # a member (user and executor), a stranger, no signature
MSGTYPES = sorted(ROUTES)


def _fields(msgtype: str) -> list[str]:
    kind = ROUTES[msgtype].decoder.type
    return [f.encode_name for f in msgspec.structs.fields(kind)] if isinstance(kind, type) and issubclass(kind, msgspec.Struct) else []


FIELDS = {msgtype: _fields(msgtype) for msgtype in MSGTYPES}

json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**70), 2**70) | st.floats() | st.text(max_size=16)
    | st.sampled_from([dev.COLONY_NAME, dev.ID, "0" * 64, "", "*"]),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=12,
)


@st.composite
def messages(draw: st.DrawFn) -> tuple[str, dict[str, Any]]:
    msgtype = draw(st.sampled_from(MSGTYPES))
    names = FIELDS[msgtype]
    msg = draw(st.dictionaries(st.sampled_from(names) if names else st.text(max_size=8), json_values, max_size=6))
    if draw(st.integers(0, 9)) == 0:
        msg[draw(st.text(max_size=8))] = draw(json_values)  # an unknown field
    msg["msgtype"] = msgtype if draw(st.integers(0, 19)) else draw(st.sampled_from(MSGTYPES))
    if "timeout" in names:
        msg["timeout"] = -1  # long-polls answer at once: the test looks for hangs, not waits
    return msgtype, msg


def _envelope(payloadtype: str, payload: str, signer: str) -> bytes:
    signature = crypto.sign(payload, signer) if signer else ""
    return json.dumps({"payloadtype": payloadtype, "payload": payload, "signature": signature}).encode()


@st.composite
def well_formed(draw: st.DrawFn) -> bytes:
    msgtype, msg = draw(messages())
    payload = base64.b64encode(json.dumps(msg, allow_nan=True).encode()).decode()
    return _envelope(msgtype, payload, draw(st.sampled_from(SIGNERS)))


@st.composite
def mutated(draw: st.DrawFn) -> bytes:
    body = bytearray(draw(well_formed()))
    for _ in range(draw(st.integers(1, 4))):
        at = draw(st.integers(0, max(0, len(body) - 1)))
        kind = draw(st.sampled_from(["flip", "cut", "insert", "drop"]))
        if kind == "flip" and body:
            body[at] ^= 1 << draw(st.integers(0, 7))
        elif kind == "cut":
            del body[at:]
        elif kind == "insert":
            body[at:at] = draw(st.binary(min_size=1, max_size=8))
        elif body:
            del body[at : at + draw(st.integers(1, 16))]
    return bytes(body)


@st.composite
def oversized(draw: st.DrawFn) -> bytes:
    msgtype, msg = draw(messages())
    names = FIELDS[msgtype] or ["x"]
    size = draw(st.sampled_from([300, 20_000, 70_000, 300_000]))
    shape = draw(st.sampled_from(["string", "list", "map", "nested"]))
    name = draw(st.sampled_from(names))
    if shape == "string":
        msg[name] = "n" * size
    elif shape == "list":
        msg[name] = ["a"] * (size // 4)
    elif shape == "map":
        msg[name] = {f"k{i}": "v" for i in range(size // 12)}
    else:
        msg[name] = "__deep__"
    depth = min(size, 50_000)
    text = json.dumps(msg).replace('"__deep__"', "[" * depth + "]" * depth)
    payload = base64.b64encode(text.encode()).decode()
    return _envelope(msgtype, payload, draw(st.sampled_from(SIGNERS)))


# Drawn by hypothesis's own strategies, at about 10 ms of client CPU per body:
drawn = st.one_of(st.binary(max_size=300), well_formed(), mutated(), oversized())

# The same kinds of body built from a hypothesis-drawn seed by a plain random generator, at
# about 50 µs each, so that 10,000 of them fit in the suite's time; they repeat with the seed.
SAMPLES = [dev.COLONY_NAME, dev.ID, "0" * 64, "", "*", "\u0000", "\ud800", "é" * 3]


def _value(rng: random.Random, depth: int) -> Any:
    kind = rng.randrange(9 if depth else 6)
    if kind == 0:
        return None
    if kind == 1:
        return rng.random() < 0.5
    if kind == 2:
        return rng.choice([0, -1, 1, 2**31, -(2**63), 2**64, 2**70, rng.randint(-(10**6), 10**6)])
    if kind == 3:
        return rng.choice([0.5, -0.0, 1e308, float("inf"), float("-inf"), float("nan"), rng.random()])
    if kind == 4:
        return "".join(chr(rng.randrange(0x20, 0x3000)) for _ in range(rng.randrange(17)))
    if kind == 5:
        return rng.choice(SAMPLES)
    if kind in (6, 7):
        return [_value(rng, depth - 1) for _ in range(rng.randrange(5))]
    return {str(rng.randrange(100)): _value(rng, depth - 1) for _ in range(rng.randrange(5))}


def _mutate(rng: random.Random, body: bytes) -> bytes:
    out = bytearray(body)
    for _ in range(rng.randint(1, 4)):
        at = rng.randrange(max(1, len(out)))
        kind = rng.randrange(4)
        if kind == 0 and out:
            out[at] ^= 1 << rng.randrange(8)
        elif kind == 1:
            del out[at:]
        elif kind == 2:
            out[at:at] = rng.randbytes(rng.randint(1, 8))
        elif out:
            del out[at : at + rng.randint(1, 16)]
    return bytes(out)


def seeded_body(seed: int) -> bytes:
    rng = random.Random(seed)
    msgtype = rng.choice(MSGTYPES)
    names = FIELDS[msgtype]
    msg: dict[str, Any] = {name: _value(rng, 2) for name in rng.sample(names, k=rng.randint(0, min(6, len(names))))}
    if rng.random() < 0.1:
        msg["".join(rng.choices("abcxyz_", k=rng.randint(1, 8)))] = _value(rng, 2)  # an unknown field
    msg["msgtype"] = msgtype if rng.random() < 0.95 else rng.choice(MSGTYPES)
    if "timeout" in names:
        msg["timeout"] = -1  # long-polls answer at once: the test looks for hangs, not waits
    if rng.random() < 0.05:  # oversized: a long string, a long list or deep nesting
        size = rng.choice([20_000, 70_000, 300_000])
        shape = rng.randrange(3)
        msg[rng.choice(names or ["x"])] = ["n" * size, ["a"] * (size // 4), "__deep__"][shape]
    text = json.dumps(msg, allow_nan=True)
    if "__deep__" in text:
        text = text.replace('"__deep__"', "[" * 50_000 + "]" * 50_000)
    body = _envelope(msgtype, base64.b64encode(text.encode("utf-8", "surrogatepass")).decode(), rng.choice(SIGNERS))
    if rng.random() < 0.4:
        body = _mutate(rng, body)
    return body


seeded = st.integers(0, 2**64 - 1).map(seeded_body)
DRAWN_EXAMPLES = int(os.environ.get("FUZZ_DRAWN_EXAMPLES", "500"))


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _rss(pid: int) -> int:
    status = Path(f"/proc/{pid}/status").read_text()
    return int(re.search(r"VmRSS:\s+(\d+) kB", status).group(1)) * 1024  # type: ignore[union-attr]


@pytest.fixture(scope="module")
def dev_node(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, int]]:
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("COLONIES_")}
    data = tmp_path_factory.mktemp("fuzz")
    node = subprocess.Popen(
        [sys.executable, "-m", "colonies.cli", "dev", "--no-executor", "--port", str(port), "--data-dir", str(data)],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
    )
    try:
        assert node.stdout is not None
        for line in node.stdout:  # the exports first, then "ready dev node at ..."
            if line.startswith("ready"):
                break
        assert f":{port}" in line, line
        yield f"http://127.0.0.1:{port}", node.pid
    finally:
        node.terminate()
        node.wait(30)


class Sender:
    """One keep-alive connection, reopened when the node closes it (after a refused body)."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.connection: http.client.HTTPConnection | None = None
        self.statuses: dict[int, int] = {}

    def send(self, body: bytes, gzipped: bool) -> int:
        headers = {"Content-Type": "application/json"}
        if gzipped:
            body, headers["Content-Encoding"] = gzip.compress(body, 1), "gzip"
        for attempt in range(2):
            if self.connection is None:
                self.connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=REPLY_TIMEOUT)
            try:
                self.connection.request("POST", "/api", body=body, headers=headers)
                response = self.connection.getresponse()
                response.read()
                break
            except (ConnectionError, http.client.RemoteDisconnected, BrokenPipeError):
                self.connection.close()
                self.connection = None
                if attempt:
                    raise
            except BaseException:  # a timeout (a hang) fails the test; the next example starts clean
                self.connection.close()
                self.connection = None
                raise
        if response.will_close:
            self.connection.close()
            self.connection = None
        self.statuses[response.status] = self.statuses.get(response.status, 0) + 1
        return response.status


def _serves(url: str) -> None:
    spec = {"funcname": "after-fuzz", "maxexectime": -1, "maxwaittime": -1, "maxretries": -1,
            "conditions": {"colonyname": dev.COLONY_NAME, "executortype": "fuzz-check"}}
    process = call(url, {"msgtype": "submitfuncspecmsg", "spec": spec}, dev.PRVKEY)
    assert call(url, {"msgtype": "getprocessmsg", "processid": process["processid"]}, dev.PRVKEY)["state"] == 0


def _thrower(sender: Sender, bodies: st.SearchStrategy[bytes], examples: int):  # type: ignore[no-untyped-def]
    @settings(max_examples=examples, derandomize=True, deadline=None, database=None,
              suppress_health_check=list(HealthCheck), phases=[Phase.generate])
    @given(body=bodies, gzipped=st.integers(0, 9).map(lambda n: n == 0))
    def throw(body: bytes, gzipped: bool) -> None:
        status = sender.send(body, gzipped)
        assert status < 500, (status, body[:200])

    return throw


def test_ten_thousand_bad_envelopes_get_no_5xx_no_hang_and_leave_the_node_serving(dev_node):
    url, pid = dev_node
    sender = Sender(int(url.rsplit(":", 1)[1]))
    for body in (b"{}", b"junk", _envelope("versionmsg", "", "")):  # warm up before the baseline
        sender.send(body, False)
    _serves(url)
    baseline = _rss(pid)

    _thrower(sender, seeded, EXAMPLES)()
    assert sum(sender.statuses.values()) >= EXAMPLES + 3
    _serves(url)
    grown = _rss(pid) - baseline
    assert grown < RSS_GROWTH_BOUND, f"RSS grew by {grown / 2**20:.0f} MiB (statuses {sender.statuses})"


def test_envelopes_drawn_by_hypothesis_strategies_get_no_5xx_and_leave_the_node_serving(dev_node):
    url, _ = dev_node
    sender = Sender(int(url.rsplit(":", 1)[1]))
    _thrower(sender, drawn, DRAWN_EXAMPLES)()
    assert sum(sender.statuses.values()) >= DRAWN_EXAMPLES
    _serves(url)
