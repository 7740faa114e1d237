"""node/decode.py and wire.b64decode_pieces: decoding in slices gives what one whole decode gives,
the same value or the same error, word for word."""
from __future__ import annotations

import asyncio
import base64
import random

import msgspec
import pytest

from colonies import wire
from colonies.messages import SubmitWorkflowSpecMsg
from colonies.models import FunctionSpec, WorkflowSpec
from colonies.node import decode
from colonies.node.decode import SlicedDecoder

WHOLE = msgspec.json.Decoder(SubmitWorkflowSpecMsg)
SLICED = SlicedDecoder(SubmitWorkflowSpecMsg, ("spec", "functionspecs"))


def _sliced(payload: bytes):  # type: ignore[no-untyped-def]
    return asyncio.run(SLICED.decode(payload))


def _outcome(decode_fn, payload: bytes):  # type: ignore[no-untyped-def]
    try:
        return "ok", decode_fn(payload)
    except (msgspec.DecodeError, msgspec.ValidationError, UnicodeDecodeError) as err:
        return type(err).__name__, str(err)


def _workflow(n: int) -> bytes:
    specs = [
        FunctionSpec(nodename=f"n{i}", funcname="f", args=[i, "x"], kwargs={"k": i}, priority=i % 7)
        for i in range(n)
    ]
    return msgspec.json.encode(SubmitWorkflowSpecMsg(msgtype="submitworkflowspecmsg", spec=WorkflowSpec(colonyname="c", functionspecs=specs)))


@pytest.mark.parametrize("n", [0, 1, decode.BATCH, decode.BATCH * 3 + 7])
def test_a_workflow_decodes_to_the_same_message(n):
    payload = _workflow(n)
    assert _sliced(payload) == WHOLE.decode(payload)


@pytest.mark.parametrize(
    "payload",
    [
        b'{"msgtype":"submitworkflowspecmsg"}',
        b'{"msgtype":"submitworkflowspecmsg","spec":null}',
        b'{"msgtype":"submitworkflowspecmsg","spec":{"colonyname":"c","functionspecs":null}}',
        b'{"msgtype":"submitworkflowspecmsg","spec":{"colonyname":"c","functionspecs":[]},"extra":[1,{"a":2}]}',
        b'{"spec":{"functionspecs":[{"nodename":"a","unknown":{"x":[1]}}],"colonyname":"c"},"msgtype":"m"}',
        # errors: a wrong type in an item, in the outer message, malformed JSON, not an object
        b'{"msgtype":"submitworkflowspecmsg","spec":{"colonyname":"c","functionspecs":[{"nodename":"a"},{"priority":"high"}]}}',
        b'{"msgtype":"submitworkflowspecmsg","spec":{"colonyname":5,"functionspecs":[{"nodename":"a"}]}}',
        b'{"msgtype":"submitworkflowspecmsg","spec":{"colonyname":"c","functionspecs":[{"priority":"x"}],"colonyname":7}}',
        b'{"msgtype":"submitworkflowspecmsg","spec":{"functionspecs":[{"priority":"x"}],"colonyname":7}}',
        b'{"msgtype":"submitworkflowspecmsg","spec":{"colonyname":"c","functionspecs":[{"nodename":"a"},]}}',
        b'{"msgtype":"submitworkflowspecmsg","spec":{"colonyname":"c","functionspecs":{"nodename":"a"}}}',
        b'{"msgtype":"submitworkflowspecmsg","spec":{"colonyname":"c","functionspecs":[{"maxexectime":99999999999999999999999}]}}',
        b'[1, 2]',
        b'{"msgtype": "\xff\xfe"}',
        b'',
    ],
)
def test_edge_cases_and_errors_are_those_of_a_whole_decode(payload):
    assert _outcome(_sliced, payload) == _outcome(WHOLE.decode, payload)


def test_random_damage_gives_the_same_outcome():
    rng = random.Random(7)
    good = _workflow(decode.BATCH + 3)
    for _ in range(300):
        damaged = bytearray(good)
        for _ in range(rng.randrange(1, 3)):
            at = rng.randrange(len(damaged))
            damaged[at : at + 1] = rng.choice([b"", b"x", b'"', b"]", b"}", b"1", b",", b"null"])
        assert _outcome(_sliced, bytes(damaged)) == _outcome(WHOLE.decode, bytes(damaged))


def _b64_outcome(fn, text: str):  # type: ignore[no-untyped-def]
    try:
        return fn(text)
    except wire.WireError as err:
        return err.status, err.message


@pytest.mark.parametrize("piece", [4, 8, 12])
def test_base64_in_pieces_is_base64_whole(piece):
    rng = random.Random(piece)
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
    texts = ["", "=", "====", "AAAA=", "AAAA====", "AAAAAAAA=", "AB==AAAA", "AAA=AAAA", "éAAA", "AAAA\n"]
    for _ in range(20000):
        if rng.random() < 0.5:
            text = base64.b64encode(rng.randbytes(rng.randrange(0, 30))).decode() + rng.choice(["", "=", "==", "A", "A="])
        else:
            text = "".join(rng.choice(alphabet + "====" + " é-") for _ in range(rng.randrange(0, 25)))
        texts.append(text)
    for text in texts:
        joined = lambda t: b"".join(wire.b64decode_pieces(t, piece))  # noqa: E731
        assert _b64_outcome(joined, text) == _b64_outcome(wire.b64decode, text), text


def test_async_base64_decode():
    data = random.Random(1).randbytes(3 * wire.B64_PIECE)
    assert asyncio.run(decode.b64decode(base64.b64encode(data).decode())) == data
