"""Storage backends for CFS file contents, S3 and IPFS (see `base` for the interface and the
zero-byte rule)."""
from .atomic import PARTIAL_SUFFIX, is_partial
from .base import (
    EMPTY_SHA256,
    ChecksumMismatch,
    FileStamp,
    ObjectMissing,
    ObjectRef,
    Storage,
    StorageError,
    new_object_key,
    split_endpoint,
)
from .config import S3Config
from .ipfs import IpfsConfig, IpfsIdentity, IpfsPeer, IpfsStorage
from .s3 import S3Storage

__all__ = [
    "EMPTY_SHA256",
    "PARTIAL_SUFFIX",
    "ChecksumMismatch",
    "FileStamp",
    "IpfsConfig",
    "IpfsIdentity",
    "IpfsPeer",
    "IpfsStorage",
    "ObjectMissing",
    "ObjectRef",
    "S3Config",
    "S3Storage",
    "Storage",
    "StorageError",
    "is_partial",
    "new_object_key",
    "split_endpoint",
]
