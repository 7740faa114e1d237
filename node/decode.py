"""Decoding a big request on the event loop a slice at a time.

One msgspec or binascii call over a 5 MB body holds the GIL for 15-60 ms, and a worker thread
does not help: the loop thread waits for the GIL as long. Here the payload's base64 is decoded
in pieces, and a message's one big list (a workflow's function specs) is first decoded as raw
JSON items, then into its element type a batch at a time; the loop runs other callbacks between
two slices.
"""
from __future__ import annotations

import asyncio
import types
import typing
from typing import Any

import msgspec

from colonies.wire import b64decode_pieces

# list items decoded per slice (a 10,000-node workflow: about half a millisecond)
BATCH = 250


async def b64decode(text: str) -> bytes:
    """wire.b64decode(text), yielding to the loop between pieces (raises the same WireError)."""
    parts: list[bytes] = []
    for part in b64decode_pieces(text):
        parts.append(part)
        await asyncio.sleep(0)
    return b"".join(parts)


class SlicedDecoder:
    """Decodes JSON into `message` as msgspec.json.Decoder(message) does, the items of the list
    at `path` (struct field names, e.g. spec.functionspecs) a batch at a time. Whatever fails is
    decoded again whole, so that the error raised is the one a whole decode raises."""

    def __init__(self, message: type[msgspec.Struct], path: tuple[str, ...]) -> None:
        self.message = message
        self.path = path
        self._whole = msgspec.json.Decoder(message)
        outer, item = _mirror(message, path)
        self._outer = msgspec.json.Decoder(outer)
        self._item = msgspec.json.Decoder(item)

    async def decode(self, payload: bytes) -> Any:
        try:
            outer = self._outer.decode(payload)
            raws = _list_at(outer, self.path)
            items: list[Any] | None = None
            if raws is not None:
                items = []
                for start in range(0, len(raws), BATCH):
                    await asyncio.sleep(0)
                    items.extend([self._item.decode(raw) for raw in raws[start : start + BATCH]])
                del raws
            msg = _rebuild(outer, self.message, self.path, items)
        except (msgspec.DecodeError, msgspec.ValidationError, UnicodeDecodeError, RecursionError):
            msg = None
        if msg is None:
            return self._whole.decode(payload)
        return msg


def _mirror(struct: type[msgspec.Struct], path: tuple[str, ...]) -> tuple[type[msgspec.Struct], Any]:
    """A struct like `struct` whose field at `path` holds raw JSON items; and the items' type."""
    config = struct.__struct_config__
    fields: list[Any] = []
    item: Any = None
    for field in msgspec.structs.fields(struct):
        if field.encode_name != field.name:
            raise TypeError(f"{struct.__name__}.{field.name}: renamed fields are not mirrored")
        kind = field.type
        if field.name == path[0]:
            optional, inner = _unwrap(kind)
            if len(path) == 1:
                (item,) = typing.get_args(inner)  # list[X] → X
                kind = list[msgspec.Raw]
            else:
                kind, item = _mirror(inner, path[1:])
            if optional:
                kind = kind | None
        if field.default is not msgspec.NODEFAULT:
            fields.append((field.name, kind, field.default))
        elif field.default_factory is not msgspec.NODEFAULT:
            fields.append((field.name, kind, msgspec.field(default_factory=field.default_factory)))
        else:
            fields.append((field.name, kind))
    mirror = msgspec.defstruct(
        f"Raw{struct.__name__}",
        fields,
        kw_only=True,  # decoding only: the order of required and optional fields does not matter
        array_like=config.array_like,
        forbid_unknown_fields=config.forbid_unknown_fields,
        tag=config.tag,
        tag_field=config.tag_field,
    )
    return mirror, item


def _list_at(value: Any, path: tuple[str, ...]) -> list[msgspec.Raw] | None:
    for name in path:
        value = getattr(value, name)
        if value is None:
            return None
    return typing.cast(list[msgspec.Raw], value)


def _rebuild(mirror: Any, struct: type[msgspec.Struct], path: tuple[str, ...], items: list[Any] | None) -> Any:
    """`struct` from its mirror, with `items` at `path`."""
    fields = {field.name: field for field in msgspec.structs.fields(struct)}
    values = {name: getattr(mirror, name) for name in fields}
    head = values[path[0]]
    if len(path) == 1:
        values[path[0]] = items
    elif head is not None:
        values[path[0]] = _rebuild(head, _unwrap(fields[path[0]].type)[1], path[1:], items)
    return struct(**values)


def _unwrap(kind: Any) -> tuple[bool, Any]:
    """(whether it may be None, the type besides None) of an annotation like `X | None`."""
    args = typing.get_args(kind) if typing.get_origin(kind) in (typing.Union, types.UnionType) else ()
    if type(None) not in args:
        return False, kind
    (inner,) = [t for t in args if t is not type(None)]
    return True, inner
