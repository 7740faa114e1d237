"""S3 settings: the upstream `AWS_S3_*` variables, or explicit values."""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

_TRUE = {"true", "1", "yes", "on"}
MiB = 1024 * 1024


def _flag(value: str | None) -> bool:
    return (value or "").strip().lower() in _TRUE


@dataclass(frozen=True, kw_only=True)
class S3Config:
    """Where and how to reach S3. `endpoint` is `host:port` without a scheme (as upstream);
    `tls` picks https. The secret key is kept out of `repr`."""

    endpoint: str
    access_key: str = ""
    secret_key: str = field(default="", repr=False)
    region: str = ""
    tls: bool = False
    bucket: str = ""
    skip_verify: bool = False
    # Tuning: concurrent requests (and threads) per storage, multipart sizes, timeouts in seconds.
    max_concurrency: int = 10
    multipart_threshold: int = 8 * MiB
    multipart_chunksize: int = 8 * MiB
    connect_timeout: float = 3.0
    read_timeout: float = 30.0
    max_attempts: int = 2

    def __post_init__(self) -> None:
        if not self.endpoint:
            raise ValueError("S3 endpoint is not set (AWS_S3_ENDPOINT, host:port)")
        if "://" in self.endpoint or "/" in self.endpoint:
            raise ValueError(f"S3 endpoint must be host:port without a scheme or path, got {self.endpoint!r}")
        if self.max_concurrency < 1:
            raise ValueError("S3 max_concurrency must be at least 1")
        if self.multipart_chunksize < 5 * MiB:
            raise ValueError("S3 multipart_chunksize must be at least 5 MiB (the S3 minimum part size)")

    @property
    def endpoint_url(self) -> str:
        return f"{'https' if self.tls else 'http'}://{self.endpoint}"

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> S3Config:
        """From `AWS_S3_ENDPOINT`, `AWS_S3_ACCESSKEY`, `AWS_S3_SECRETKEY`, `AWS_S3_REGION`,
        `AWS_S3_TLS`, `AWS_S3_BUCKET`, `AWS_S3_SKIPVERIFY` (flags: true/1/yes/on, any case)."""
        return cls(
            endpoint=env.get("AWS_S3_ENDPOINT", "").strip(),
            access_key=env.get("AWS_S3_ACCESSKEY", ""),
            secret_key=env.get("AWS_S3_SECRETKEY", ""),
            region=env.get("AWS_S3_REGION", "").strip(),
            tls=_flag(env.get("AWS_S3_TLS")),
            bucket=env.get("AWS_S3_BUCKET", "").strip(),
            skip_verify=_flag(env.get("AWS_S3_SKIPVERIFY")),
        )

    def to_env(self) -> dict[str, str]:
        """The `AWS_S3_*` variables for this config (for child processes such as pycolonies)."""
        return {
            "AWS_S3_ENDPOINT": self.endpoint,
            "AWS_S3_ACCESSKEY": self.access_key,
            "AWS_S3_SECRETKEY": self.secret_key,
            "AWS_S3_REGION": self.region,
            "AWS_S3_TLS": "true" if self.tls else "false",
            "AWS_S3_BUCKET": self.bucket,
            "AWS_S3_SKIPVERIFY": "true" if self.skip_verify else "false",
        }
