"""Federation membership certificates: the authority's signed statement that a node is a member.

A certificate binds a node id (the colonies id of the node's key) to its API URL and DHT address
for a time span. The authority signs the canonical encoding of every field except the signature
(`signed_text`); a node refuses records and messages whose certificate does not verify against the
authority id it trusts. Certificates travel inside DHT records, so the encoding is bounded:
field limits keep `to_bytes(cert)` under `MAX_CERT_BYTES`.
"""
from __future__ import annotations

import hashlib
import ipaddress
import re
import time
from functools import lru_cache
from urllib.parse import urlsplit

import msgspec

from colonies import crypto
from colonies.wire import RPCError

MAX_CERT_BYTES = 600
MAX_FEDERATION_CHARS = 32
MAX_API_URL_CHARS = 100
MAX_DHT_ADDRESS_CHARS = 64
MAX_TIME = 9_999_999_999  # unix seconds (year 2286): keeps both times at ≤ 10 digits
CLOCK_SKEW_SECONDS = 60  # a certificate issued this far "in the future" is still accepted

# Domain tag of the signed text: an authority signature over anything else never verifies as a
# certificate, and a later format changes the tag.
_SIGNED_TAG = "colonies-federation-cert/1"

_FEDERATION_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")
_ID_RE = re.compile(r"[0-9a-f]{64}")
_SIGNATURE_RE = re.compile(r"[0-9a-f]{130}")
_HOSTNAME_RE = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?")
_URL_CHARS_RE = re.compile(r"[!#-\[\]-~]+")  # printable ASCII without space, quote and backslash


class MembershipError(RPCError):
    """A certificate (or a message's membership proof) that is refused; the server answers 403.

    `reason` is a short code: malformed, authority, signature, expired, not_yet_valid, signer.
    """

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(403, message)
        self.reason = reason


class Certificate(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    federation: str
    authority_id: str
    node_id: str
    api_url: str
    dht_address: str  # "host:port", "[v6]:port" for IPv6
    issued: int  # unix seconds
    expires: int  # unix seconds
    signature: str  # authority signature over signed_text(cert), 130 hex


_encoder = msgspec.json.Encoder()
_decoder = msgspec.json.Decoder(Certificate)


def signed_text(cert: Certificate) -> str:
    """The canonical text the authority signs: a JSON array of the tag and every other field."""
    fields = (
        _SIGNED_TAG,
        cert.federation,
        cert.authority_id,
        cert.node_id,
        cert.api_url,
        cert.dht_address,
        cert.issued,
        cert.expires,
    )
    return _encoder.encode(fields).decode()


def issue(
    authority_prvkey: str,
    *,
    federation: str,
    node_id: str,
    api_url: str,
    dht_address: str,
    ttl_seconds: int,
    now: float | None = None,
) -> Certificate:
    """A certificate for `node_id`, valid from `now` for `ttl_seconds`; ValueError on bad input."""
    if ttl_seconds <= 0:
        raise ValueError("ttl_seconds must be positive")
    issued = int(time.time() if now is None else now)
    unsigned = Certificate(
        federation=federation,
        authority_id=crypto.id_from_private_key(authority_prvkey),
        node_id=node_id,
        api_url=api_url,
        dht_address=dht_address,
        issued=issued,
        expires=issued + int(ttl_seconds),
        signature="0" * 130,
    )
    problem = _field_problem(unsigned)
    if problem:
        raise ValueError(problem)
    return msgspec.structs.replace(unsigned, signature=crypto.sign(signed_text(unsigned), authority_prvkey))


def verify(cert: Certificate, *, authority_id: str, now: float | None = None) -> None:
    """Accept `cert` as issued by `authority_id` and valid at `now`, or raise MembershipError."""
    problem = _field_problem(cert)
    if problem:
        raise MembershipError("malformed", f"malformed membership certificate: {problem}")
    if cert.authority_id != authority_id:
        raise MembershipError(
            "authority",
            f"membership certificate of node {cert.node_id} is from authority {cert.authority_id}, "
            f"not {authority_id}",
        )
    try:
        signer = _recover(signed_text(cert), cert.signature)
    except crypto.SignatureError as err:
        raise MembershipError("signature", f"membership certificate has a bad signature: {err}") from None
    if signer != authority_id:
        raise MembershipError(
            "signature", f"membership certificate of node {cert.node_id} is not signed by authority {authority_id}"
        )
    at = time.time() if now is None else now
    if at >= cert.expires:
        raise MembershipError("expired", f"membership certificate of node {cert.node_id} expired at {cert.expires}")
    if cert.issued > at + CLOCK_SKEW_SECONDS:
        raise MembershipError(
            "not_yet_valid", f"membership certificate of node {cert.node_id} is not valid before {cert.issued}"
        )


def to_bytes(cert: Certificate) -> bytes:
    """The compact JSON encoding (field order fixed, no spaces)."""
    return _encoder.encode(cert)


def from_bytes(data: bytes | str) -> Certificate:
    """Decode `to_bytes` output; MembershipError("malformed") for anything else. Does not verify."""
    if len(data) > MAX_CERT_BYTES:
        raise MembershipError("malformed", f"membership certificate is larger than {MAX_CERT_BYTES} bytes")
    try:
        return _decoder.decode(data)
    except (msgspec.DecodeError, UnicodeDecodeError) as err:
        raise MembershipError("malformed", f"malformed membership certificate: {err}") from None


def cert_id(cert: Certificate) -> str:
    """SHA3-256 (hex) of the encoding: a compact reference to one certificate."""
    return hashlib.sha3_256(to_bytes(cert)).hexdigest()


def parse_dht_address(address: str) -> tuple[str, int]:
    """("host", port) of "host:port" or "[v6]:port"; ValueError when malformed."""
    host, sep, port_text = address.rpartition(":")
    if not sep or not port_text.isascii() or not port_text.isdigit() or len(port_text) > 5:
        raise ValueError(f"DHT address {address!r} is not host:port")
    port = int(port_text)
    if not 0 < port <= 65535:
        raise ValueError(f"DHT address {address!r} has port out of range")
    if host.startswith("[") and host.endswith("]"):
        try:
            return str(ipaddress.IPv6Address(host[1:-1])), port
        except ValueError:
            raise ValueError(f"DHT address {address!r} has an invalid IPv6 address") from None
    if not _HOSTNAME_RE.fullmatch(host):
        raise ValueError(f"DHT address {address!r} has an invalid host")
    return host, port


@lru_cache(maxsize=1024)  # the same few certificates arrive with every message and record
def _recover(text: str, signature: str) -> str:
    return crypto.recover_id(text, signature)


def _field_problem(cert: Certificate) -> str | None:
    """What is wrong with the fields' form (not the signature or the time), or None."""
    if len(cert.federation) > MAX_FEDERATION_CHARS or not _FEDERATION_RE.fullmatch(cert.federation):
        return (
            f"federation name must be 1-{MAX_FEDERATION_CHARS} characters of letters, digits, '.', '_', '-' "
            "starting with a letter or digit"
        )
    if not _ID_RE.fullmatch(cert.authority_id):
        return "authority_id must be 64 lowercase hex characters"
    if not _ID_RE.fullmatch(cert.node_id):
        return "node_id must be 64 lowercase hex characters"
    if not _SIGNATURE_RE.fullmatch(cert.signature):
        return "signature must be 130 lowercase hex characters"
    problem = _api_url_problem(cert.api_url)
    if problem:
        return problem
    if len(cert.dht_address) > MAX_DHT_ADDRESS_CHARS:
        return f"dht_address is longer than {MAX_DHT_ADDRESS_CHARS} characters"
    try:
        parse_dht_address(cert.dht_address)
    except ValueError as err:
        return str(err)
    if not 0 <= cert.issued < cert.expires <= MAX_TIME:
        return f"times must satisfy 0 <= issued < expires <= {MAX_TIME}"
    return None


def _api_url_problem(url: str) -> str | None:
    if len(url) > MAX_API_URL_CHARS:
        return f"api_url is longer than {MAX_API_URL_CHARS} characters"
    if not _URL_CHARS_RE.fullmatch(url):
        return "api_url must be printable ASCII without spaces, quotes or backslashes"
    try:
        parts = urlsplit(url)
        _ = parts.port  # raises ValueError for a port out of range
    except ValueError as err:
        return f"api_url is not a valid URL: {err}"
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return "api_url must be an http:// or https:// URL with a host"
    if parts.username is not None or parts.password is not None:
        return "api_url must not carry credentials"
    if parts.query or parts.fragment:
        return "api_url must not have a query or fragment"
    return None
