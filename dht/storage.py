"""Kademlia storage that merges record sets per key instead of replacing the value."""
from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from kademlia.storage import IStorage

from colonies.dht.merge import RecordVerifier, acceptable, merge
from colonies.dht.records import ProviderRecord, bounded, decode_records, encode_records

MAX_KEYS = 65536  # every record is signed by a verified member, so this only guards memory


@dataclass
class _Entry:
    records: list[ProviderRecord]
    changed: float  # monotonic time of the last merge that changed the set


class MergingStorage(IStorage):
    """Values are JSON arrays of provider records; a store merges them into the key's set.

    The kept set holds only acceptable records (see `merge.acceptable`), newest per node, in
    preference order as far as they fit one datagram (`records.bounded`). Tombstones (withdrawn records) are kept until they expire so that they keep
    beating the records they withdraw.
    """

    def __init__(
        self,
        verify: RecordVerifier,
        *,
        clock: Callable[[], float] = time.time,
        max_keys: int = MAX_KEYS,
    ) -> None:
        self._verify = verify
        self._clock = clock
        self._max_keys = max_keys
        self._data: dict[bytes, _Entry] = {}

    def merge(self, key: bytes, incoming: list[ProviderRecord]) -> list[ProviderRecord]:
        """Merge records into the set of `key`; returns the resulting set."""
        now = self._clock()
        accepted = [r for r in incoming if acceptable(r, key, now, self._verify)]
        entry = self._data.get(key)
        current = entry.records if entry else []
        if not accepted:
            return self.records(key)
        if entry is None and len(self._data) >= self._max_keys:
            self.cull()
            if len(self._data) >= self._max_keys:
                return []
        merged = bounded(merge([*current, *accepted], now))
        if merged:
            if merged != current:
                self._data[key] = _Entry(merged, time.monotonic())
        else:
            self._data.pop(key, None)
        return merged

    def records(self, key: bytes) -> list[ProviderRecord]:
        """The unexpired records of `key` (tombstones included)."""
        entry = self._data.get(key)
        if entry is None:
            return []
        now = self._clock()
        if any(r.expires <= now for r in entry.records):
            entry.records = [r for r in entry.records if r.expires > now]
            if not entry.records:
                del self._data[key]
        return list(entry.records)

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
        records = self.records(key)
        return encode_records(records) if records else default

    def iter_older_than(self, seconds_old: float) -> list[tuple[bytes, bytes]]:
        cutoff = time.monotonic() - seconds_old
        return [(key, value) for key, value in self if self._data[key].changed <= cutoff]

    def __iter__(self) -> Iterator[tuple[bytes, bytes]]:
        self.cull()
        return iter([(key, encode_records(entry.records)) for key, entry in self._data.items()])

    def __len__(self) -> int:
        return len(self._data)
