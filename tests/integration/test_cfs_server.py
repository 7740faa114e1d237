"""CFS metadata on a real node over HTTP: revisions, labels, snapshots, errors and roles (cfs.md §1.3)."""
from __future__ import annotations

from typing import Any

import pytest

from colonies import dev
from tests.support.rpc import RPCFailure, call


def a_file(colony: str, label: str, name: str, checksum: str = "c0ffee", size: int = 3) -> dict[str, Any]:
    s3 = {"server": "127.0.0.1", "port": 9000, "tls": False, "accesskey": "AK", "secretkey": "SECRET", "region": "", "encryptionkey": "", "encryptionalg": "", "object": f"obj-{name}-{checksum}", "bucket": "b"}
    return {"fileid": "", "colonyname": colony, "label": label, "name": name, "size": size, "sequencenr": 1, "checksum": checksum, "checksumalg": "SHA256", "ref": {"protocol": "s3", "s3object": s3}, "added": None}


@pytest.fixture
def member(colony):
    return colony.add_user()


def add(colony, member, label: str, name: str, checksum: str = "c0ffee") -> dict[str, Any]:
    return call(colony.url, {"msgtype": "addfilemsg", "file": a_file(colony.name, label, name, checksum)}, member.prvkey)


def msg(colony, msgtype: str, **fields: Any) -> dict[str, Any]:
    return {"msgtype": msgtype, "colonyname": colony.name, **fields}


def test_revisions_are_numbered_and_the_latest_wins(colony, member):
    first = add(colony, member, "/data", "a.txt", "v1")
    second = add(colony, member, "/data", "a.txt", "v2")
    assert first["fileid"] != second["fileid"] and len(second["fileid"]) == 64
    assert second["sequencenr"] > first["sequencenr"]
    assert second["ref"]["protocol"] == "s3" and second["ref"]["s3object"]["object"] == "obj-a.txt-v2"
    # S3 keys sent in a reference are never stored where every member reads them
    assert second["ref"]["s3object"]["accesskey"] == "" and second["ref"]["s3object"]["secretkey"] == ""
    latest = call(colony.url, msg(colony, "getfilemsg", fileid=None, label="/data", name="a.txt", latest=True), member.prvkey)
    assert [f["checksum"] for f in latest] == ["v2"]
    every = call(colony.url, msg(colony, "getfilemsg", fileid="", label="/data", name="a.txt", latest=False), member.prvkey)
    assert [f["checksum"] for f in every] == ["v2", "v1"]
    by_id = call(colony.url, msg(colony, "getfilemsg", fileid=first["fileid"], label=None, name=None, latest=True), member.prvkey)
    assert [f["checksum"] for f in by_id] == ["v1"]
    files = call(colony.url, msg(colony, "getfilesmsg", label="/data"), member.prvkey)
    assert files == [{"name": "a.txt", "checksum": "v2", "size": 3, "s3filename": "obj-a.txt-v2"}]


def test_the_stored_protocol_is_returned(colony, member):
    file = a_file(colony.name, "/x", "f") | {"ref": {"protocol": "ipfs", "s3object": None}}
    stored = call(colony.url, {"msgtype": "addfilemsg", "file": file}, member.prvkey)
    assert stored["ref"]["protocol"] == "ipfs" and stored["ref"]["s3object"]["object"] == ""  # s3object stays present


CID = "QmTQpRRGYEsuyZ9sV8xB4MNSHxYX4pRxjWG9EXXa4Xfz3Z"  # Kubo's CIDv0 of a 15-byte file
PROVIDER = "/ip4/127.0.0.1/tcp/4101/p2p/12D3KooWHXXmXhGdpjKPXk5JSUAwzzMVR3CUPGD2Kk3WLB2yHNkB"


def test_an_ipfs_reference_is_stored_and_returned_beside_s3object(colony, member):
    ipfs = {"cid": CID, "size": 15, "providers": [PROVIDER, PROVIDER]}
    file = a_file(colony.name, "/x", "f", size=15) | {"ref": {"protocol": "ipfs", "s3object": None, "ipfsobject": ipfs}}
    stored = call(colony.url, {"msgtype": "addfilemsg", "file": file}, member.prvkey)
    assert stored["ref"]["protocol"] == "ipfs"
    assert stored["ref"]["ipfsobject"] == {"cid": CID, "size": 15, "providers": [PROVIDER]}  # duplicates folded
    assert stored["ref"]["s3object"]["object"] == ""  # still present for pycolonies
    [again] = call(colony.url, msg(colony, "getfilemsg", fileid=stored["fileid"], latest=True), member.prvkey)
    assert again["ref"] == stored["ref"]
    # a plain S3 file carries no ipfsobject, so upstream clients see only the fields they know
    plain = add(colony, member, "/x", "g")
    assert set(plain["ref"]) == {"protocol", "s3object"}
    listing = {f["name"]: f for f in call(colony.url, msg(colony, "getfilesmsg", label="/x"), member.prvkey)}
    assert set(listing["g"]) == {"name", "checksum", "size", "s3filename"}
    assert listing["f"]["ipfsobject"] == {"cid": CID, "size": 15, "providers": [PROVIDER]}  # our sync reads it


@pytest.mark.parametrize(
    "ipfs",
    [
        {"cid": "not-a-cid"},
        {"cid": CID, "providers": ["no-slash"]},
        {"cid": CID, "providers": [f"/ip4/127.0.0.1/tcp/{i}" for i in range(17)]},
        {"cid": CID, "providers": ["/ip4/127.0.0.1/tcp/1 spaced"]},
    ],
)
def test_a_malformed_ipfs_reference_is_a_400(colony, member, ipfs):
    file = a_file(colony.name, "/x", "f") | {"ref": {"protocol": "ipfs", "s3object": None, "ipfsobject": ipfs}}
    with pytest.raises(RPCFailure) as err:
        call(colony.url, {"msgtype": "addfilemsg", "file": file}, member.prvkey)
    assert err.value.status == 400


@pytest.mark.parametrize(
    "fields,status",
    [
        ({"fileid": "f" * 64, "label": "", "name": "", "latest": True}, 400),  # unknown id: 400, as upstream
        ({"fileid": "", "label": "/none", "name": "x", "latest": True}, 404),  # unknown name: 404
        ({"fileid": "", "label": "/data", "name": "", "latest": True}, 500),  # neither form: 500 (upstream)
    ],
)
def test_get_file_errors_keep_upstream_statuses(colony, member, fields, status):
    with pytest.raises(RPCFailure) as err:
        call(colony.url, msg(colony, "getfilemsg", **fields), member.prvkey)
    assert err.value.status == status


def test_labels_are_prefixes_and_exact_keeps_the_empty_root_quirk(colony, member):
    add(colony, member, "/demo", "a")
    add(colony, member, "/demo", "a", "v2")
    add(colony, member, "/demo/sub", "b")
    add(colony, member, "/demowater", "c")
    add(colony, member, "/only/deep", "d")
    labels = lambda **f: call(colony.url, msg(colony, "getfilelabelsmsg", **f), member.prvkey)  # noqa: E731
    assert labels(name="", exact=False) == [{"name": n, "files": c} for n, c in [("/demo", 2), ("/demo/sub", 1), ("/demowater", 1), ("/only/deep", 1)]]
    assert [l["name"] for l in labels(name="/demo", exact=False)] == ["/demo", "/demo/sub", "/demowater"]
    assert [l["name"] for l in labels(name="/demo", exact=True)] == ["/demo", "/demo/sub"]
    assert labels(name="/only", exact=True) is None  # no files of its own: nothing, as upstream
    assert labels(name="/de%", exact=False) == []  # % is taken literally


def test_a_snapshot_freezes_the_latest_revisions_under_a_label(colony, member):
    a1 = add(colony, member, "/snap", "a", "v1")
    b = add(colony, member, "/snap/sub", "b")
    a2 = add(colony, member, "/snap", "a", "v2")
    snapshot = call(colony.url, msg(colony, "createsnapshotmsg", label="/snap/", name="s1"), member.prvkey)
    assert snapshot["label"] == "/snap" and sorted(snapshot["fileids"]) == sorted([a2["fileid"], b["fileid"]])
    add(colony, member, "/snap", "a", "v3")  # a later upload leaves the snapshot as it was
    again = call(colony.url, msg(colony, "getsnapshotmsg", snapshotid="", name="s1"), member.prvkey)
    assert sorted(again["fileids"]) == sorted(snapshot["fileids"]) and a1["fileid"] not in again["fileids"]
    assert call(colony.url, msg(colony, "getsnapshotmsg", snapshotid=snapshot["snapshotid"], name=""), member.prvkey)["name"] == "s1"
    empty = call(colony.url, msg(colony, "createsnapshotmsg", label="test_label", name="empty"), member.prvkey)
    assert empty["fileids"] is None
    with pytest.raises(RPCFailure) as dup:
        call(colony.url, msg(colony, "createsnapshotmsg", label="/snap", name="s1"), member.prvkey)
    assert dup.value.status == 409 and "already exists" in dup.value.message
    with pytest.raises(RPCFailure) as colon:
        call(colony.url, msg(colony, "createsnapshotmsg", label="/snap", name="a:b"), member.prvkey)
    assert colon.value.status == 400
    assert [s["name"] for s in call(colony.url, msg(colony, "getsnapshotsmsg"), member.prvkey)] == ["empty", "s1"]  # newest first
    call(colony.url, msg(colony, "removesnapshotmsg", snapshotid="", name="s1"), member.prvkey)
    with pytest.raises(RPCFailure) as gone:
        call(colony.url, msg(colony, "getsnapshotmsg", snapshotid=snapshot["snapshotid"], name=""), member.prvkey)
    assert gone.value.status == 500  # upstream's status for a missing snapshot
    call(colony.url, msg(colony, "removeallsnapshotmsg"), member.prvkey)
    assert call(colony.url, msg(colony, "getsnapshotsmsg"), member.prvkey) == []


def test_remove_by_id_takes_one_revision_and_by_name_all(colony, member):
    v1 = add(colony, member, "/rm", "a", "v1")
    add(colony, member, "/rm", "a", "v2")
    call(colony.url, msg(colony, "removefilemsg", fileid=v1["fileid"], label="", name=""), member.prvkey)
    assert [f["checksum"] for f in call(colony.url, msg(colony, "getfilemsg", fileid="", label="/rm", name="a", latest=False), member.prvkey)] == ["v2"]
    call(colony.url, msg(colony, "removefilemsg", fileid=None, label="/rm", name="a"), member.prvkey)
    assert call(colony.url, msg(colony, "getfilesmsg", label="/rm"), member.prvkey) == []
    with pytest.raises(RPCFailure) as err:
        call(colony.url, msg(colony, "removefilemsg", fileid="", label="", name=""), member.prvkey)
    assert err.value.status == 400


def test_only_approved_members_may_use_cfs(colony, member):
    executor = colony.add_executor()
    pending = colony.add_executor(approve=False)
    assert add(colony, executor, "/e", "x")["name"] == "x"
    for outsider in (colony.owner_prvkey, dev.SERVER_PRVKEY, pending.prvkey):
        with pytest.raises(RPCFailure) as err:
            call(colony.url, {"msgtype": "addfilemsg", "file": a_file(colony.name, "/e", "y")}, outsider)
        assert err.value.status == 403
        with pytest.raises(RPCFailure) as err:
            call(colony.url, msg(colony, "getfilesmsg", label="/e"), outsider)
        assert err.value.status == 403


def test_another_colonys_member_is_refused_and_ids_do_not_cross_colonies(node, colony, member):
    from tests.conftest import ColonyFixture
    from colonies import crypto

    owner = crypto.generate_private_key()
    other = ColonyFixture(node.url, f"other-{crypto.random_id()[:8]}", owner, crypto.id_from_private_key(owner))
    call(node.url, {"msgtype": "addcolonymsg", "colony": {"colonyid": other.colonyid, "name": other.name}}, dev.SERVER_PRVKEY)
    try:
        stranger = other.add_user()
        mine = add(colony, member, "/p", "secret")
        with pytest.raises(RPCFailure) as err:
            call(colony.url, msg(colony, "getfilesmsg", label="/p"), stranger.prvkey)
        assert err.value.status == 403
        with pytest.raises(RPCFailure) as err:  # its own colony, someone else's file id
            call(node.url, {"msgtype": "getfilemsg", "colonyname": other.name, "fileid": mine["fileid"], "label": "", "name": "", "latest": True}, stranger.prvkey)
        assert err.value.status == 400
    finally:
        call(node.url, {"msgtype": "removecolonymsg", "colonyname": other.name}, dev.SERVER_PRVKEY)


def test_files_and_snapshots_go_with_their_colony(node, member, colony):
    add(colony, member, "/gone", "f")
    call(colony.url, msg(colony, "createsnapshotmsg", label="/gone", name="s"), member.prvkey)
    from colonies.cfs import store as cq

    call(node.url, {"msgtype": "removecolonymsg", "colonyname": colony.name}, dev.SERVER_PRVKEY)
    left = node.call(node.node.core.db.read(lambda conn: (len(cq.labels(conn, colony.name)), len(cq.snapshots_of(conn, colony.name)))))
    assert left == (0, 0)
    call(node.url, {"msgtype": "addcolonymsg", "colony": {"colonyid": colony.colonyid, "name": colony.name}}, dev.SERVER_PRVKEY)  # for the fixture's teardown


def test_an_absent_file_is_a_400_and_oversized_labels_are_refused(colony, member):
    with pytest.raises(RPCFailure) as err:
        call(colony.url, {"msgtype": "addfilemsg", "file": None}, member.prvkey)
    assert err.value.status == 400
    with pytest.raises(RPCFailure) as err:
        call(colony.url, {"msgtype": "addfilemsg", "file": a_file(colony.name, "/" + "x" * 5000, "f")}, member.prvkey)
    assert err.value.status == 400


async def test_the_sdk_drives_every_cfs_message(colony, member):
    from colonies import models
    from colonies.client import AsyncClient

    async with AsyncClient(colony.url, member.prvkey) as sdk:
        file = models.File(colonyname=colony.name, label="/sdk", name="a", size=1, checksum="aa", checksumalg="SHA256", ref=models.Reference(protocol="s3", s3object=models.S3Object(object="o", bucket="b")))
        stored = await sdk.add_file(file)
        assert (await sdk.get_file(colony.name, fileid=stored.fileid))[0].checksum == "aa"
        assert [f.name for f in await sdk.get_files(colony.name, "/sdk")] == ["a"]
        assert [l.name for l in await sdk.get_file_labels(colony.name, "/sdk", exact=True)] == ["/sdk"]
        snapshot = await sdk.create_snapshot(colony.name, "/sdk", "snap")
        assert (await sdk.get_snapshot(colony.name, name="snap")).fileids == [stored.fileid]
        assert [s.snapshotid for s in await sdk.get_snapshots(colony.name)] == [snapshot.snapshotid]
        await sdk.remove_snapshot(colony.name, snapshotid=snapshot.snapshotid)
        await sdk.remove_all_snapshots(colony.name)
        await sdk.remove_file(colony.name, label="/sdk", name="a")
        assert await sdk.get_files(colony.name, "/sdk") == []


def test_resolution_names_every_location_under_a_label_and_in_a_snapshot(colony, member):
    s3_only = add(colony, member, "/r", "a.bin")
    ipfs = {"cid": CID, "size": 15, "providers": [PROVIDER]}
    dual = a_file(colony.name, "/r/sub", "b.bin", size=15) | {"ref": {**a_file(colony.name, "/r/sub", "b.bin")["ref"], "ipfsobject": ipfs}}
    call(colony.url, {"msgtype": "addfilemsg", "file": dual}, member.prvkey)
    only_ipfs = a_file(colony.name, "/r/sub", "c.bin", size=15) | {"ref": {"protocol": "ipfs", "s3object": None, "ipfsobject": ipfs}}
    call(colony.url, {"msgtype": "addfilemsg", "file": only_ipfs}, member.prvkey)
    empty = a_file(colony.name, "/r", "empty", checksum="e3b0", size=0)
    empty["ref"]["s3object"]["object"] = ""
    call(colony.url, {"msgtype": "addfilemsg", "file": empty}, member.prvkey)
    add(colony, member, "/rx", "not-under-r.bin")  # a string prefix, not a sub-label

    found = call(colony.url, msg(colony, "resolvefilesmsg", label="/r/"), member.prvkey)
    by_name = {f["name"]: f for f in found}
    assert [(f["label"], f["name"]) for f in found] == [("/r", "a.bin"), ("/r", "empty"), ("/r/sub", "b.bin"), ("/r/sub", "c.bin")]
    assert by_name["a.bin"]["fileid"] == s3_only["fileid"] and by_name["a.bin"]["checksum"] == "c0ffee"
    assert by_name["a.bin"]["locations"] == [
        {"protocol": "s3", "endpoint": "127.0.0.1:9000", "bucket": "b", "object": "obj-a.bin-c0ffee"},
    ]
    assert [loc["protocol"] for loc in by_name["b.bin"]["locations"]] == ["s3", "ipfs"]  # dual-homed
    assert by_name["c.bin"]["locations"] == [{"protocol": "ipfs", "cid": CID, "providers": [PROVIDER]}]
    assert by_name["empty"]["locations"] == []  # nothing to fetch

    snapshot = call(colony.url, msg(colony, "createsnapshotmsg", label="/r", name="frozen"), member.prvkey)
    add(colony, member, "/r", "a.bin", "newer")  # later uploads do not change the snapshot
    frozen = call(colony.url, msg(colony, "resolvefilesmsg", snapshotid=snapshot["snapshotid"]), member.prvkey)
    assert sorted(f["fileid"] for f in frozen) == sorted(snapshot["fileids"])
    assert {f["checksum"] for f in frozen if f["name"] == "a.bin"} == {"c0ffee"}

    page = call(colony.url, msg(colony, "resolvefilesmsg", label="/r", offset=1, count=2), member.prvkey)
    assert [f["name"] for f in page] == ["empty", "b.bin"]

    call(colony.url, msg(colony, "removefilemsg", fileid=s3_only["fileid"]), member.prvkey)
    with pytest.raises(RPCFailure) as err:
        call(colony.url, msg(colony, "resolvefilesmsg", snapshotid=snapshot["snapshotid"]), member.prvkey)
    assert err.value.status == 404 and "no longer exist" in err.value.message
    for bad in ({"label": ""}, {"label": "/r", "count": -1}):
        with pytest.raises(RPCFailure) as err:
            call(colony.url, msg(colony, "resolvefilesmsg", **bad), member.prvkey)
        assert err.value.status == 400
    with pytest.raises(RPCFailure) as err:
        call(colony.url, msg(colony, "resolvefilesmsg", label="/r"), colony.owner_prvkey)  # the owner, not a member
    assert err.value.status == 403


async def test_the_sdk_resolves_every_page(colony, member):
    from colonies.client import AsyncClient

    async with AsyncClient(colony.url, member.prvkey) as client:
        for i in range(3):
            add(colony, member, "/pages", f"f{i}")
        found = await client.resolve_files(colony.name, label="/pages")
        assert [f.name for f in found] == ["f0", "f1", "f2"] and found[0].locations[0].protocol == "s3"
