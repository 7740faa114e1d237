"""Starting a node's federation part from its config: identity, certificate, provider source."""
from __future__ import annotations

import logging

import msgspec
from urllib.parse import urlsplit

from colonies import crypto
from colonies.federation import identity, membership
from colonies.federation.forwarding import Federation
from colonies.dht.node import DHTNode
from colonies.federation.discovery import Discovery, parse_bootstrap, record_verifier
from colonies.federation.peers import NodeIdentity, PeerClient, PeerQuery
from colonies.node.core import NodeCore

log = logging.getLogger(__name__)

DEV_CERT_TTL = 30 * 86_400


async def start_federation(core: NodeCore, api_url: str) -> Federation:
    config = core.config
    prvkey = config.node_prvkey or identity.load_or_create_key(config.data_dir or ".")
    node_id = crypto.id_from_private_key(prvkey)
    cert = _certificate(core, prvkey, node_id, api_url)
    membership.verify(cert, authority_id=config.federation_authority_id)
    me = NodeIdentity(prvkey=prvkey, node_id=node_id, cert=cert, authority_id=config.federation_authority_id)
    client = PeerClient(me)
    peers = PeerQuery(client, [u.strip() for u in config.federation_peers.split(",") if u.strip()])
    dht = None
    if config.dht_port:
        dht = DHTNode(
            prvkey,
            record_verifier(config.federation_authority_id),
            api_url=api_url,
            cert=msgspec.to_builtins(cert),
            republish_interval=max(config.advertise_interval, 1.0),
        )
        await dht.start(config.dht_port, config.dht_host, parse_bootstrap(config.bootstrap))
    federation = Federation(core, me, Discovery(peers, dht), client, dht=dht)
    federation.start()
    log.info("federation %s: node %s at %s", config.federation_name, node_id[:12], api_url)
    return federation


def _certificate(core: NodeCore, prvkey: str, node_id: str, api_url: str) -> membership.Certificate:
    config = core.config
    if config.node_cert:
        cert = identity.load_cert(config.node_cert)
        if cert.node_id != node_id:
            raise membership.MembershipError("signer", f"certificate {config.node_cert} is for node {cert.node_id}, not this node ({node_id})")
        return cert
    authority_prvkey = config.federation_authority_prvkey
    if not authority_prvkey:
        raise membership.MembershipError("malformed", "no membership certificate: set node_cert (see `colonies federation cert`)")
    # dev and test nodes hold the (public, dev-only) authority key and certify themselves
    parts = urlsplit(api_url)
    host = parts.hostname or "127.0.0.1"
    # without a DHT the address is never dialled; it still has to be a well-formed one
    dht_port = config.dht_port or parts.port or 1
    return membership.issue(
        authority_prvkey,
        federation=config.federation_name,
        node_id=node_id,
        api_url=api_url,
        dht_address=f"{config.dht_host or host}:{dht_port}",
        ttl_seconds=DEV_CERT_TTL,
    )
