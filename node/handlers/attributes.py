"""Attributes of processes (spec §2.8)."""
from __future__ import annotations

from colonies import models
from colonies.messages import AddAttributeMsg, GetAttributeMsg
from colonies.models import ENV
from colonies.node import bounds
from colonies.node.rpc import Call, bad_request, not_found, require, rpc, running_process_of_caller
from colonies.node.store import processes as pq
from colonies.node.domain.submission import attribute_id


@rpc("addattributemsg", AddAttributeMsg)
async def add_attribute(call: Call, msg: AddAttributeMsg) -> models.Attribute:
    require(msg.attribute is not None, "Failed to add attribute, attribute is missing")
    attr = msg.attribute
    assert attr is not None
    require(bool(attr.key), "Failed to add attribute, key is empty")
    if attr.attributetype not in (models.IN, models.OUT, models.ERR, ENV):
        raise bad_request(f"Failed to add attribute, invalid attributetype {attr.attributetype}")
    config = call.node.config
    bounds.check_name(config, attr.key, "key", "add attribute")
    bounds.check_value(config, attr.value, "value", "add attribute")
    record = await running_process_of_caller(call, attr.targetid, "add attributes")
    existing = record.process.attributes or []
    if not any(a.key == attr.key and a.attributetype == attr.attributetype for a in existing):
        bounds.check_attribute_count(config, len(existing) + 1, "add attribute")
    stored = models.Attribute(
        attributeid=attribute_id(attr.targetid, attr.key, attr.attributetype),
        targetid=attr.targetid,
        targetcolonyname=record.colonyname,
        targetprocessgraphid=record.processgraphid,
        state=record.state,
        attributetype=attr.attributetype,
        key=attr.key,
        value=attr.value,
    )
    row = {f: getattr(stored, f) for f in stored.__struct_fields__}
    await call.node.db.write(lambda conn: pq.add_attribute(conn, row))
    return stored


@rpc("getattributemsg", GetAttributeMsg)
async def get_attribute(call: Call, msg: GetAttributeMsg) -> models.Attribute:
    attr = await call.node.db.read(lambda conn: pq.get_attribute(conn, msg.attributeid))
    if attr is None:
        raise not_found(f"Attribute with id {msg.attributeid} not found")
    call.require_member(attr.targetcolonyname)
    return attr
