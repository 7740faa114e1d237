"""CIDs and the repo's block files, read-only: where Kubo's flatfs keeps a block
(`blocks/<shard>/<KEY>.data`, next-to-last/2 sharding, KEY = base32 of the multihash) and the
cumulative DAG size of a dag-pb root (what `add` reports as `Size`)."""
from __future__ import annotations

import base64
from pathlib import Path

_B58 = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"
_B58_INDEX = {ch: i for i, ch in enumerate(_B58)}
DAG_PB = 0x70
RAW = 0x55


def b58decode(text: str) -> bytes:
    num = 0
    for ch in text:
        if ch not in _B58_INDEX:
            raise ValueError(f"not base58: {text!r}")
        num = num * 58 + _B58_INDEX[ch]
    body = num.to_bytes((num.bit_length() + 7) // 8, "big") if num else b""
    return b"\0" * (len(text) - len(text.lstrip("1"))) + body


def b58encode(data: bytes) -> str:
    num = int.from_bytes(data, "big")
    out = ""
    while num:
        num, rem = divmod(num, 58)
        out = _B58[rem] + out
    return "1" * (len(data) - len(data.lstrip(b"\0"))) + out


def _varint(data: bytes, pos: int) -> tuple[int, int]:
    value = shift = 0
    while True:
        if pos >= len(data):
            raise ValueError("truncated varint")
        byte = data[pos]
        pos += 1
        value |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return value, pos
        shift += 7
        if shift > 63:
            raise ValueError("varint too long")


def decode_cid(cid: str) -> tuple[int, bytes]:
    """(codec, multihash) of a CIDv0 (`Qm...`) or a base32 CIDv1 (`b...`); ValueError otherwise."""
    if len(cid) == 46 and cid.startswith("Qm"):
        mh = b58decode(cid)
        if len(mh) != 34 or mh[:2] != b"\x12\x20":
            raise ValueError(f"not a CIDv0: {cid!r}")
        return DAG_PB, mh
    if cid.startswith("b") and len(cid) > 8:
        raw = cid[1:].upper()
        try:
            data = base64.b32decode(raw + "=" * (-len(raw) % 8))
        except ValueError:
            raise ValueError(f"not a base32 CIDv1: {cid!r}") from None
        version, pos = _varint(data, 0)
        codec, pos = _varint(data, pos)
        if version != 1:
            raise ValueError(f"not a CIDv1: {cid!r}")
        return codec, data[pos:]
    raise ValueError(f"not a CID: {cid!r}")


def is_cid(text: str) -> bool:
    try:
        decode_cid(text)
    except ValueError:
        return False
    return True


def block_path(repo: str | Path, cid: str) -> Path:
    """Where the flatfs blockstore of `repo` keeps the block of `cid`."""
    key = base64.b32encode(decode_cid(cid)[1]).decode().rstrip("=")
    return Path(repo) / "blocks" / key[-3:-1] / f"{key}.data"


def dag_size(block: bytes, codec: int = DAG_PB) -> int:
    """Cumulative size of the DAG under a root block: the block plus its links' Tsize."""
    if codec != DAG_PB:
        return len(block)
    total, pos = len(block), 0
    while pos < len(block):
        tag, pos = _varint(block, pos)
        if tag & 7 != 2:  # PBNode has only length-delimited fields (Data=1, Links=2)
            raise ValueError("not a dag-pb node")
        length, pos = _varint(block, pos)
        field, end = tag >> 3, pos + length
        if field == 2:
            total += _link_tsize(block[pos:end])
        pos = end
    return total


def child_cids(block: bytes) -> list[str]:
    """The CIDs a dag-pb block links to, in order (CIDv0 text for sha2-256 multihashes)."""
    found, pos = [], 0
    while pos < len(block):
        tag, pos = _varint(block, pos)
        length, pos = _varint(block, pos)
        if tag >> 3 == 2:
            found.append(_link_cid(block[pos:pos + length]))
        pos += length
    return found


def _link_cid(link: bytes) -> str:
    pos = 0
    while pos < len(link):
        tag, pos = _varint(link, pos)
        if tag & 7 == 0:
            _, pos = _varint(link, pos)
            continue
        length, pos = _varint(link, pos)
        if tag >> 3 == 1:
            raw = link[pos:pos + length]
            if raw[:2] == b"\x12\x20" and len(raw) == 34:
                return b58encode(raw)
            return "b" + base64.b32encode(raw).decode().rstrip("=").lower()
        pos += length
    raise ValueError("dag-pb link without a hash")


def _link_tsize(link: bytes) -> int:
    pos = 0
    while pos < len(link):
        tag, pos = _varint(link, pos)
        if tag & 7 == 0:
            value, pos = _varint(link, pos)
            if tag >> 3 == 3:
                return value
        elif tag & 7 == 2:
            length, pos = _varint(link, pos)
            pos += length
        else:
            raise ValueError("bad dag-pb link")
    return 0
