"""ObjectRef for IPFS: the wire `ref.ipfsobject` beside an always-present `ref.s3object`."""
from __future__ import annotations

from colonies.cfs.storage import EMPTY_SHA256, ObjectRef

CID = "QmbFMke1KXqnYyBBWxB74N4c5SBnJMVAiMNRcGu6x1AwQH"
PROVIDER = "/ip4/127.0.0.1/tcp/4001/p2p/QmWNuMvBckFcKzJemxQdi5pNxtKXbnGtqjTy8oLMyiTenm"


def test_ipfs_reference_wire_form() -> None:
    ref = ObjectRef(protocol="ipfs", cid=CID, size=12, sha256="ab" * 32, providers=(PROVIDER,))
    wire = ref.to_reference()
    assert wire["protocol"] == "ipfs"
    assert wire["ipfsobject"] == {"cid": CID, "size": 12, "providers": [PROVIDER]}
    s3 = wire["s3object"]
    assert s3["object"] == "" and s3["bucket"] == "" and s3["server"] == "" and s3["accesskey"] == ""
    back = ObjectRef.from_reference(wire, size=12, sha256="AB" * 32)
    assert back == ref


def test_from_file_reads_ipfs_refs() -> None:
    ref = ObjectRef(protocol="ipfs", cid=CID, size=5, providers=(PROVIDER,))
    file = {"size": 5, "checksum": "cd" * 32, "checksumalg": "SHA256", "ref": ref.to_reference()}
    got = ObjectRef.from_file(file)
    assert (got.protocol, got.cid, got.size, got.sha256, got.providers) == ("ipfs", CID, 5, "cd" * 32, (PROVIDER,))
    assert not got.is_empty


def test_ipfs_size_falls_back_to_ipfsobject_and_bad_members_are_dropped() -> None:
    wire = {"protocol": "ipfs", "s3object": None, "ipfsobject": {"cid": CID, "size": 7, "providers": [PROVIDER, None, 3, ""]}}
    ref = ObjectRef.from_reference(wire)
    assert ref.size == 7 and ref.providers == (PROVIDER,)
    odd = ObjectRef.from_reference({"protocol": "ipfs", "ipfsobject": {"cid": None, "providers": "x", "size": True}})
    assert odd.cid == "" and odd.providers == () and odd.size is None and odd.is_empty


def test_zero_byte_ipfs_ref_is_empty() -> None:
    empty = ObjectRef(protocol="ipfs", cid="", size=0, sha256=EMPTY_SHA256)
    assert empty.is_empty
    assert ObjectRef(protocol="ipfs", cid=CID).is_empty is False


def test_s3_refs_are_unchanged() -> None:
    ref = ObjectRef(bucket="b", object="k", endpoint="127.0.0.1:9000", size=3)
    assert set(ref.to_reference()) == {"protocol", "s3object"}
    assert ObjectRef.from_reference(ref.to_reference(), size=3) == ref
    # an ipfsobject on an s3 ref is not read
    assert ObjectRef.from_reference({**ref.to_reference(), "ipfsobject": {"cid": CID}}, size=3).cid == ""
    assert ObjectRef(object="", size=None).is_empty and not ObjectRef(object="k").is_empty
