"""Only members take part: a node certified by another authority can neither send nor receive work."""
from __future__ import annotations

import asyncio
import json
import time
import urllib.error
import urllib.request

import msgspec

from colonies import crypto, dev
from colonies.client import AsyncClient, func_spec
from colonies.federation import envelope, membership
from colonies.federation.messages import Forward, ForwardBatch, Lookup
from colonies.models import WAITING
from tests.federation.test_failover import add_executor, dev_federation_node
from tests.federation.sites import free_port
from tests.support.nodes import start_node


def rogue_node(tmp_path, port: int, peers: list[int]):
    """A node of a federation with another authority, hosting the same dev colony."""
    rogue_authority = crypto.generate_private_key()
    running = start_node(
        tmp_path / "rogue",
        port=port,
        federation_name=dev.FEDERATION_NAME,
        federation_authority_id=crypto.id_from_private_key(rogue_authority),
        federation_authority_prvkey=rogue_authority,
        federation_peers=",".join(f"http://127.0.0.1:{p}" for p in peers),
    )
    running.call(running.node.bootstrap_dev())
    return running


def post(url: str, body: bytes) -> int:
    try:
        with urllib.request.urlopen(urllib.request.Request(url + "/federation", data=body, method="POST"), timeout=5) as reply:
            return reply.status
    except urllib.error.HTTPError as err:
        return err.code


async def test_work_is_not_forwarded_to_a_node_outside_the_federation(tmp_path):
    port_a, port_rogue = free_port(), free_port()
    a = dev_federation_node(tmp_path, "a", port_a, [port_rogue])
    rogue = rogue_node(tmp_path, port_rogue, [port_a])
    try:
        rogue_key = add_executor(rogue.url, "cpu")
        async with AsyncClient(rogue.url, rogue_key) as at_rogue, AsyncClient(a.url, dev.PRVKEY) as origin:
            polling = asyncio.ensure_future(at_rogue.assign(dev.COLONY_NAME, 3))  # live at the rogue node
            process = await origin.submit(func_spec("secret", dev.COLONY_NAME, "cpu"))
            await asyncio.sleep(1.5)
            assert (await origin.get_process(process)).state == WAITING
            polling.cancel()
    finally:
        a.stop()
        rogue.stop()


def test_a_node_outside_the_federation_cannot_forward_work_in(tmp_path):
    port_a = free_port()
    a = dev_federation_node(tmp_path, "a", port_a, [])
    try:
        outsider_authority, outsider_key = crypto.generate_private_key(), crypto.generate_private_key()
        cert = membership.issue(
            outsider_authority,
            federation=dev.FEDERATION_NAME,
            node_id=crypto.id_from_private_key(outsider_key),
            api_url="http://127.0.0.1:9",
            dht_address="127.0.0.1:9",
            ttl_seconds=3600,
        )
        forward = Forward(origin_processid="0" * 64, colonyname=dev.COLONY_NAME, colonyid=dev.COLONY_ID, spec=msgspec.Raw(b"{}"))
        assert post(a.url, envelope.build("forward", forward, outsider_key, cert)) == 403

        # a real member's certificate attached to a message someone else signed
        member = a.node.core.federation.identity
        forged = json.loads(envelope.build("forward", forward, outsider_key, cert))
        forged["cert"] = msgspec.to_builtins(member.cert)
        assert post(a.url, json.dumps(forged).encode()) == 403
    finally:
        a.stop()


def test_an_expired_certificate_is_refused(tmp_path):
    port_a = free_port()
    a = dev_federation_node(tmp_path, "a", port_a, [])
    try:
        key = crypto.generate_private_key()
        old = membership.issue(
            dev.FEDERATION_AUTHORITY_PRVKEY,
            federation=dev.FEDERATION_NAME,
            node_id=crypto.id_from_private_key(key),
            api_url="http://127.0.0.1:9",
            dht_address="127.0.0.1:9",
            ttl_seconds=60,
            now=time.time() - 3600,
        )
        forward = Forward(origin_processid="0" * 64, colonyname=dev.COLONY_NAME, colonyid=dev.COLONY_ID, spec=msgspec.Raw(b"{}"))
        assert post(a.url, envelope.build("forward", forward, key, old)) == 403
    finally:
        a.stop()


def member_identity() -> tuple[str, membership.Certificate]:
    key = crypto.generate_private_key()
    cert = membership.issue(
        dev.FEDERATION_AUTHORITY_PRVKEY,
        federation=dev.FEDERATION_NAME,
        node_id=crypto.id_from_private_key(key),
        api_url="http://127.0.0.1:9",
        dht_address="127.0.0.1:9",
        ttl_seconds=3600,
    )
    return key, cert


def test_a_message_addressed_to_one_node_is_refused_by_another(tmp_path):
    port_a, port_b = free_port(), free_port()
    a = dev_federation_node(tmp_path, "a", port_a, [])
    b = dev_federation_node(tmp_path, "b", port_b, [])
    try:
        key, cert = member_identity()
        node_a, node_b = (n.node.core.federation.identity.node_id for n in (a, b))
        batch = ForwardBatch(forwards=[])
        captured = envelope.build("forward", batch, key, cert, to=node_a)
        assert post(b.url, captured) == 403  # a forward captured on its way to a
        assert post(b.url, envelope.build("forward", batch, key, cert)) == 403  # naming no node
        assert post(b.url, envelope.build("forward", batch, key, cert, to=node_b)) == 200
        assert post(a.url, captured) == 200
        # a lookup may come from a peer that knows only our URL (federation_peers)
        assert post(b.url, envelope.build("lookup", Lookup(colonyname=dev.COLONY_NAME, executortype="cpu"), key, cert)) == 200
    finally:
        a.stop()
        b.stop()
