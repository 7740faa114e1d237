"""The unmodified pycolonies 1.0.25 SDK against the node's CFS messages (cfs.md §1.6)."""
from __future__ import annotations

from typing import Any

import pytest
from pycolonies import ColoniesConnectionError

from tests.support.rpc import call


def recorded(colony, member, label: str, name: str, checksum: str) -> dict[str, Any]:
    """A revision recorded as pycolonies' upload_data records it (bytes not needed here)."""
    s3 = {"server": "127.0.0.1", "port": 9000, "tls": False, "accesskey": "", "secretkey": "", "region": "", "encryptionkey": "", "encryptionalg": "", "object": "o-" + checksum, "bucket": "b"}
    file = {"fileid": "", "colonyname": colony.name, "label": label, "name": name, "size": 1, "sequencenr": 1, "checksum": checksum, "checksumalg": "SHA256", "ref": {"protocol": "s3", "s3object": s3}, "added": None}
    return call(colony.url, {"msgtype": "addfilemsg", "file": file}, member.prvkey)


@pytest.fixture
def member(colony):
    return colony.add_user()


def test_pycolonies_reads_revisions_by_name_latest_and_all_and_by_id(client, colony, member):
    first = recorded(colony, member, "/py", "a.txt", "v1")
    recorded(colony, member, "/py", "a.txt", "v2")
    latest = client.get_file(colony.name, member.prvkey, label="/py", filename="a.txt")  # sends null fileid
    assert [f["checksum"] for f in latest] == ["v2"]
    every = client.get_file(colony.name, member.prvkey, label="/py", filename="a.txt", latest=False)
    assert [f["checksum"] for f in every] == ["v2", "v1"]
    by_id = client.get_file(colony.name, member.prvkey, fileid=first["fileid"])  # sends null label and name
    assert by_id[0]["ref"]["s3object"]["object"] == "o-v1"
    assert [f["name"] for f in client.get_files("/py", colony.name, member.prvkey)] == ["a.txt"]


def test_pycolonies_lists_labels_by_prefix_and_exactly(client, colony, member):
    recorded(colony, member, "/lab", "a", "1")
    recorded(colony, member, "/lab/sub", "b", "2")
    recorded(colony, member, "/labx", "c", "3")
    assert [l["name"] for l in client.get_file_labels(colony.name, member.prvkey, name="/lab")] == ["/lab", "/lab/sub", "/labx"]
    assert [l["name"] for l in client.get_file_labels(colony.name, member.prvkey, name="/lab", exact=True)] == ["/lab", "/lab/sub"]
    assert [l["name"] for l in client.get_file_labels(colony.name, member.prvkey)] == ["/lab", "/lab/sub", "/labx"]


def test_pycolonies_snapshots(client, colony, member):
    a = recorded(colony, member, "/snap", "a", "1")
    snapshot = client.create_snapshot(colony.name, "/snap", "s1", member.prvkey)
    assert snapshot["fileids"] == [a["fileid"]]
    empty = client.create_snapshot(colony.name, "test_label", "s2", member.prvkey)  # pycolonies' own test: no files
    assert not empty["fileids"]
    assert client.get_snapshot_by_name(colony.name, "s1", member.prvkey)["snapshotid"] == snapshot["snapshotid"]
    assert client.get_snapshot_by_id(colony.name, snapshot["snapshotid"], member.prvkey)["name"] == "s1"
    assert {s["name"] for s in client.get_snapshots(colony.name, member.prvkey)} == {"s1", "s2"}


def test_pycolonies_sees_upstreams_errors(client, colony, member):
    with pytest.raises(ColoniesConnectionError):
        client.get_file(colony.name, member.prvkey, label="/none", filename="x")
    with pytest.raises(ColoniesConnectionError):
        client.get_files("/py", colony.name, colony.owner_prvkey)  # the colony owner is not a member
