"""The federation's Kademlia overlay: signed provider records, merged per key (see docs/dht.md)."""
from colonies.dht.merge import RecordVerifier, acceptable, merge, visible
from colonies.dht.node import DHTNode, Peer, kad_id_for
from colonies.dht.records import (
    MAX_RECORD_BYTES,
    MAX_RECORDS_PER_KEY,
    MAX_VALUE_BYTES,
    MIN_RECORDS_PER_PAGE,
    ProviderRecord,
    bounded,
    decode_records,
    encode_records,
    key_for,
    key_name,
    paged,
    sign_record,
    signature_ok,
)
from colonies.dht.storage import ChangeListener, MergingStorage

__all__ = [
    "ChangeListener",
    "DHTNode",
    "MAX_RECORD_BYTES",
    "MAX_RECORDS_PER_KEY",
    "MAX_VALUE_BYTES",
    "MIN_RECORDS_PER_PAGE",
    "MergingStorage",
    "Peer",
    "ProviderRecord",
    "RecordVerifier",
    "acceptable",
    "bounded",
    "decode_records",
    "encode_records",
    "kad_id_for",
    "key_for",
    "key_name",
    "merge",
    "paged",
    "sign_record",
    "signature_ok",
    "visible",
]
