"""A node's federation identity: its own secp256k1 key, the node id and its membership certificate.

The key lives in `<data_dir>/node.key` (64 hex characters, mode 0600, created on first use) unless
the config gives one; the certificate in `<data_dir>/node.cert` (or the configured file) as the
compact JSON `colonies federation cert` prints. Dev nodes get a fresh certificate from the public
dev authority at each start (`dev_identity`).
"""
from __future__ import annotations

import logging
import os
import re
import secrets
import stat
from dataclasses import dataclass, field
from pathlib import Path

from colonies import crypto
from colonies import dev as dev_ids

from .membership import Certificate, MembershipError, cert_id, from_bytes, issue, to_bytes, verify

log = logging.getLogger(__name__)

KEY_FILE = "node.key"
CERT_FILE = "node.cert"
DEV_CERT_TTL_SECONDS = 30 * 24 * 3600

_KEY_RE = re.compile(r"[0-9a-f]{64}")

StrPath = str | os.PathLike[str]


class IdentityError(ValueError):
    """The node's key or certificate is missing, unreadable or does not fit the federation."""


@dataclass(frozen=True)
class NodeIdentity:
    prvkey: str = field(repr=False)
    node_id: str
    cert: Certificate
    authority_id: str  # the authority this node trusts (and that issued its certificate)

    @property
    def cert_id(self) -> str:
        return cert_id(self.cert)


def load_or_create_key(data_dir: StrPath) -> str:
    """The private key in `<data_dir>/node.key`, generated (mode 0600) when the file is absent."""
    directory = Path(data_dir)
    path = directory / KEY_FILE
    if not path.exists():
        directory.mkdir(parents=True, exist_ok=True)
        _create_key_file(path)
    return _read_key_file(path)


def save_cert(path: StrPath, cert: Certificate) -> None:
    """Write `cert` (compact JSON and a newline) to `path`, replacing any previous file atomically."""
    target = Path(path)
    tmp = target.with_name(f".{target.name}.{secrets.token_hex(4)}.tmp")
    try:
        tmp.write_bytes(to_bytes(cert) + b"\n")
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)


def load_cert(path: StrPath) -> Certificate:
    """The certificate in `path` (not verified); IdentityError when missing or malformed."""
    try:
        data = Path(path).read_bytes()
    except OSError as err:
        raise IdentityError(f"cannot read membership certificate {path}: {err.strerror or err}") from None
    try:
        return from_bytes(data.strip())
    except MembershipError as err:
        raise IdentityError(f"{path}: {err.message}") from None


def load_identity(
    data_dir: StrPath,
    *,
    authority_id: str,
    prvkey: str = "",
    cert_file: StrPath | None = None,
    now: float | None = None,
) -> NodeIdentity:
    """The identity of a federation member: key (given or from the data dir) and a certificate
    that verifies against `authority_id` and names this key's node id."""
    key = _checked_key(prvkey, "configured node key") if prvkey else load_or_create_key(data_dir)
    node_id = crypto.id_from_private_key(key)
    path = Path(cert_file) if cert_file else Path(data_dir) / CERT_FILE
    if not path.exists():
        raise IdentityError(
            f"no membership certificate at {path}: ask the federation authority for one for node id "
            f"{node_id} (colonies federation cert --node-id {node_id} ...)"
        )
    cert = load_cert(path)
    try:
        verify(cert, authority_id=authority_id, now=now)
    except MembershipError as err:
        raise IdentityError(f"{path}: {err.message}") from None
    if cert.node_id != node_id:
        raise IdentityError(f"{path} is the certificate of node {cert.node_id}, but this node's id is {node_id}")
    return NodeIdentity(prvkey=key, node_id=node_id, cert=cert, authority_id=authority_id)


def dev_identity(
    data_dir: StrPath,
    *,
    api_url: str,
    dht_address: str,
    prvkey: str = "",
    now: float | None = None,
) -> NodeIdentity:
    """A dev node's identity: its key plus a certificate just issued by the public dev authority
    (written to `<data_dir>/node.cert`). Dev only: the authority key is published."""
    key = _checked_key(prvkey, "configured node key") if prvkey else load_or_create_key(data_dir)
    node_id = crypto.id_from_private_key(key)
    cert = issue(
        dev_ids.FEDERATION_AUTHORITY_PRVKEY,
        federation=dev_ids.FEDERATION_NAME,
        node_id=node_id,
        api_url=api_url,
        dht_address=dht_address,
        ttl_seconds=DEV_CERT_TTL_SECONDS,
        now=now,
    )
    directory = Path(data_dir)
    directory.mkdir(parents=True, exist_ok=True)
    save_cert(directory / CERT_FILE, cert)
    return NodeIdentity(prvkey=key, node_id=node_id, cert=cert, authority_id=dev_ids.FEDERATION_AUTHORITY_ID)


def _create_key_file(path: Path) -> None:
    """Write a new key so that no reader ever sees a partial file and a concurrent creator's key wins."""
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "w") as handle:
            os.fchmod(handle.fileno(), 0o600)
            handle.write(crypto.generate_private_key() + "\n")
            handle.flush()
            os.fsync(handle.fileno())
        try:
            os.link(tmp, path)  # fails if another process created the key meanwhile: keep theirs
        except FileExistsError:
            pass
    finally:
        tmp.unlink(missing_ok=True)


def _read_key_file(path: Path) -> str:
    try:
        text = path.read_text()
        mode = path.stat().st_mode
    except OSError as err:
        raise IdentityError(f"cannot read node key {path}: {err.strerror or err}") from None
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        log.warning("node key %s is readable by others (mode %o); it should be 0600", path, stat.S_IMODE(mode))
    return _checked_key(text.strip(), str(path))


def _checked_key(key: str, where: str) -> str:
    key = key.lower()
    if not _KEY_RE.fullmatch(key):
        raise IdentityError(f"{where}: a node key is 64 hex characters")
    try:
        crypto.id_from_private_key(key)
    except ValueError as err:
        raise IdentityError(f"{where}: {err}") from None
    return key
