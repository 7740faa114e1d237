"""Kademlia storage that merges record sets per key instead of replacing the value."""
from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from kademlia.storage import IStorage

from colonies.dht.merge import RecordVerifier, acceptable, merge
from colonies.dht.records import ProviderRecord, bounded, decode_records, encode_records, paged, unstamped

log = logging.getLogger(__name__)

MAX_KEYS = 65536  # every record is signed by a verified member, so this only guards memory
MAX_CID_KEYS = MAX_KEYS * 3 // 4  # so that CID keys never crowd out the colony keys

ChangeListener = Callable[[str, str], None]  # (colony, executortype)
CidListener = Callable[[str], None]  # (cid)


@dataclass
class _Entry:
    records: list[ProviderRecord]
    changed: float  # monotonic time of the last merge that changed the set
    pages: list[bytes] | None = None  # encoded pages, made when first asked for


class MergingStorage(IStorage):
    """Values are JSON arrays of provider records; a store merges them into the key's set.

    The kept set holds only acceptable records (see `merge.acceptable`), newest per node, the
    first MAX_RECORDS_PER_KEY in preference order (`records.bounded`). It is served in pages that
    each fit one datagram (`records.paged`): `get` is page 0, `page(key, n)` the others. Pages are
    cut in node-id order, so a republished record (newer stamp) or a changed load never moves to
    another page between the page requests of one lookup. Tombstones (withdrawn records) are kept
    until they expire so that they keep beating the records they withdraw.

    `listeners` are called with (colony, executortype) when a merge changes what a key offers:
    a provider added or dropped, or a changed field other than the stamp and signature (a mere
    republish does not count). Expiry does not call them. For a CID key `cid_listeners` are
    called with the CID instead (the colony listeners never hear of CIDs).
    """

    def __init__(
        self,
        verify: RecordVerifier,
        *,
        clock: Callable[[], float] = time.time,
        max_keys: int = MAX_KEYS,
        max_cid_keys: int = MAX_CID_KEYS,
    ) -> None:
        self._verify = verify
        self._clock = clock
        self._max_keys = max_keys
        self._max_cid_keys = max_cid_keys
        self._data: dict[bytes, _Entry] = {}
        self._cid_keys: set[bytes] = set()
        self.listeners: list[ChangeListener] = []
        self.cid_listeners: list[CidListener] = []

    def merge(self, key: bytes, incoming: list[ProviderRecord]) -> list[ProviderRecord]:
        """Merge records into the set of `key`; returns the resulting set."""
        now = self._clock()
        accepted = [r for r in incoming if acceptable(r, key, now, self._verify)]
        entry = self._data.get(key)
        current = entry.records if entry else []
        if not accepted:
            return self.records(key)
        is_cid = bool(accepted[0].cid)  # every accepted record is of the key's kind
        if entry is None and not self._room(is_cid):
            self.cull()
            if not self._room(is_cid):
                return []
        merged = bounded(merge([*current, *accepted], now))
        if merged == current:
            return merged
        if merged:
            self._data[key] = _Entry(merged, time.monotonic())
            if is_cid:
                self._cid_keys.add(key)
        else:
            self._drop(key)
        if _offers(merged) != _offers([r for r in current if r.expires > now]):
            self._notify(accepted[0])
        return merged

    def _room(self, is_cid: bool) -> bool:
        if is_cid and len(self._cid_keys) >= self._max_cid_keys:
            return False
        return len(self._data) < self._max_keys

    def _drop(self, key: bytes) -> None:
        self._data.pop(key, None)
        self._cid_keys.discard(key)

    def _notify(self, record: ProviderRecord) -> None:
        if record.cid:
            for cid_listener in list(self.cid_listeners):
                _call(cid_listener, record.cid)
        else:
            for listener in list(self.listeners):
                _call(listener, record.colony, record.executortype)

    def records(self, key: bytes) -> list[ProviderRecord]:
        """The unexpired records of `key` (tombstones included)."""
        entry = self._data.get(key)
        if entry is None:
            return []
        now = self._clock()
        if any(r.expires <= now for r in entry.records):
            entry.records = [r for r in entry.records if r.expires > now]
            entry.pages = None
            if not entry.records:
                self._drop(key)
        return list(entry.records)

    def pages(self, key: bytes) -> list[bytes]:
        """The encoded pages of `key`'s set (none for an unknown key)."""
        if not self.records(key):
            return []
        entry = self._data[key]
        if entry.pages is None:
            entry.pages = [encode_records(page) for page in paged(by_node(entry.records))]
        return entry.pages

    def page(self, key: bytes, number: int) -> bytes | None:
        pages = self.pages(key)
        return pages[number] if 0 <= number < len(pages) else None

    def cull(self) -> None:
        for key in list(self._data):
            self.records(key)

    def store(self, key: bytes, value: object) -> bool:
        """Merge a wire value; True if any of its records is in the resulting set."""
        if not (isinstance(key, bytes) and len(key) == 20):
            return False
        incoming = decode_records(value)
        kept = self.merge(key, incoming)
        return any(record in kept for record in incoming)

    def __setitem__(self, key: bytes, value: object) -> None:
        self.store(key, value)

    def __getitem__(self, key: bytes) -> bytes:
        value = self.get(key)
        if value is None:
            raise KeyError(key)
        return value

    def get(self, key: bytes, default: bytes | None = None) -> bytes | None:
        """Page 0 of the key's set."""
        page = self.page(key, 0)
        return default if page is None else page

    def iter_older_than(self, seconds_old: float) -> list[tuple[bytes, bytes]]:
        cutoff = time.monotonic() - seconds_old
        return [(key, value) for key, value in self if self._data[key].changed <= cutoff]

    def __iter__(self) -> Iterator[tuple[bytes, bytes]]:
        """(key, page) for every page of every key: what a newcomer is handed."""
        self.cull()
        return iter([(key, page) for key in list(self._data) for page in self.pages(key)])

    def __len__(self) -> int:
        return len(self._data)


def _call(listener: Callable[..., None], *args: str) -> None:
    try:
        listener(*args)
    except Exception:  # a listener bug must not break a store
        log.exception("DHT change listener failed")


def by_node(records: list[ProviderRecord]) -> list[ProviderRecord]:
    """The order pages are cut in: stable while the set's members stay the same."""
    return sorted(records, key=lambda record: record.node_id)


def _offers(records: list[ProviderRecord]) -> dict[str, ProviderRecord]:
    return {record.node_id: unstamped(record) for record in records}
