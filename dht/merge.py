"""Merge rules for record sets: which records are acceptable and which one per node wins."""
from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from fractions import Fraction

from colonies.dht.records import MAX_CLOCK_SKEW, MAX_TTL, ProviderRecord, signature_ok

log = logging.getLogger(__name__)

RecordVerifier = Callable[[ProviderRecord], bool]


def acceptable(record: ProviderRecord, key: bytes, now: float, verify: RecordVerifier) -> bool:
    """Right key, sane clock fields, valid signature, and the membership verifier agrees."""
    issued = record.issued_ms / 1000
    if record.key != key or record.expires <= now:
        return False
    if issued > now + MAX_CLOCK_SKEW or record.expires - issued > MAX_TTL:
        return False
    if not signature_ok(record):
        return False
    try:
        return bool(verify(record))
    except Exception:  # a verifier bug must not let a record in, nor break the DHT
        log.exception("record verifier failed for node %s", record.node_id)
        return False


def _version(record: ProviderRecord) -> tuple[int, str]:
    return record.issued_ms, record.signature


def load(record: ProviderRecord) -> Fraction:
    """Queued plus running processes per live executor (exact, so the order is the same everywhere)."""
    return Fraction(record.waiting + record.running, max(record.live, 1))


def _preference(record: ProviderRecord) -> tuple[bool, bool, Fraction, int, str]:
    # Live offers first, then the least loaded, then the freshest; node id makes the order total,
    # so every storer that bounds the same set keeps the same records.
    return record.withdrawn, record.live <= 0, load(record), -record.issued_ms, record.node_id


def merge(records: Iterable[ProviderRecord], now: float) -> list[ProviderRecord]:
    """Newest record per node (ties by signature), dropped if expired, in preference order.

    Expiry is applied after choosing the newest: an expired newer record must not resurrect an
    older one that happens to expire later.
    """
    newest: dict[str, ProviderRecord] = {}
    for record in records:
        current = newest.get(record.node_id)
        if current is None or _version(record) > _version(current):
            newest[record.node_id] = record
    return sorted((r for r in newest.values() if r.expires > now), key=_preference)


def visible(records: Iterable[ProviderRecord]) -> list[ProviderRecord]:
    """What lookups return: tombstones hidden."""
    return [r for r in records if not r.withdrawn]
