"""Protobuf messages for gRPC: a valid message (a kind's sample, a request) with a few slots set to hostile
values of the slot's type (NUL and control characters, extreme numbers, unknown enum numbers, thousands of
map keys or list items, nested Structs, out-of-range timestamps), and raw bytes that do not decode at all:
garbage, truncated messages, invalid UTF-8 in a string field, a wrong wire type, Structs nested deeper than
the protobuf runtime accepts."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from typing import Any

from google.protobuf import duration_pb2, field_mask_pb2, struct_pb2, timestamp_pb2
from google.protobuf.descriptor import Descriptor, FieldDescriptor
from google.protobuf.message import Message
from google.protobuf.message_factory import GetMessageClass
from hypothesis import strategies as st

from tests.fuzz import json_values, values
from tests.fuzz.schema import (
    DURATION,
    FIELD_MASK,
    LIST_VALUE,
    STRUCT,
    TIMESTAMP,
    VALUE,
    Shape,
    Slot,
    slots,
    type_name,
    weighted,
)

# The protobuf runtime refuses to build a Struct nested deeper than this (it reparses on update()).
MAX_BUILDABLE_NESTING = 25
TEXT = st.one_of(values.hostile_text(surrogates=False), json_values.NAME)


@dataclass(frozen=True)
class ProtoEdit:
    slot: Slot
    value: Any

    def __repr__(self) -> str:
        shown = repr(self.value)
        return f"{'.'.join(str(k) for k in self.slot.keys)} = {shown[:200]} ({len(shown)} chars)"


def _container(message: Message, step: tuple[FieldDescriptor, int | str | None]) -> Message:
    """The message one step down, created when absent."""
    field, at = step
    value = getattr(message, field.name)
    if at is None:
        return value
    if isinstance(at, str):
        return value[at]
    return value[0] if len(value) else value.add()


def apply(message: Message, edit: ProtoEdit) -> None:
    """Sets the edit's slot in `message`, in place."""
    *path, (field, at) = edit.slot.steps
    parent = message
    for step in path:
        parent = _container(parent, step)
    current = getattr(parent, field.name)
    value = edit.value
    if edit.slot.shape is Shape.MAP:
        current.clear()
        for key, item in value.items():
            _put(current, key, item)
    elif edit.slot.shape is Shape.LIST:
        del current[:]
        for item in value:
            current.add().CopyFrom(item) if isinstance(item, Message) else current.append(item)
    elif isinstance(at, str):
        _put(current, at, value)
    elif at == 0:
        if isinstance(value, Message):
            (current[0] if len(current) else current.add()).CopyFrom(value)
        elif len(current):
            current[0] = value
        else:
            current.append(value)
    elif isinstance(value, Message):
        current.CopyFrom(value)
    else:
        setattr(parent, field.name, value)


def _put(mapping: Any, key: Any, value: Any) -> None:
    if isinstance(value, Message):
        mapping[key].CopyFrom(value)
    else:
        mapping[key] = value


@cache
def _scalar(field: FieldDescriptor) -> st.SearchStrategy[Any]:
    if field.enum_type is not None:
        # Open enums take any int32: numbers the schema does not name must be refused, not stored.
        return st.one_of(
            st.sampled_from([v.number for v in field.enum_type.values]), values.int_in(32, signed=True)
        )
    match type_name(field):
        case "string":
            return TEXT
        case "bytes":
            return st.binary(max_size=64)
        case "bool":
            return st.booleans()
        case "int32":
            return values.int_in(32, signed=True)
        case "int64":
            return values.int_in(64, signed=True)
        case "uint32":
            return values.int_in(32, signed=False)
        case "uint64":
            return values.int_in(64, signed=False)
        case _:
            return st.floats(allow_nan=True, allow_infinity=True)


def _struct(document: dict[str, Any]) -> struct_pb2.Struct:
    struct = struct_pb2.Struct()
    struct.update(document)
    return struct


@cache
def _well_known(name: str) -> st.SearchStrategy[Message]:
    if name in (STRUCT, VALUE, LIST_VALUE):
        documents = st.one_of(
            st.builds(
                json_values.nested,
                st.integers(min_value=2, max_value=MAX_BUILDABLE_NESTING),
                st.sampled_from(["dict", "list", "mixed"]),
            ),
            json_values.huge_map(st.just("v")),
            st.dictionaries(TEXT, json_values.json_documents(), max_size=3),
        )
        structs = documents.map(lambda d: _struct({"k": d}))
        if name == STRUCT:
            return structs
        if name == VALUE:
            return structs.map(lambda s: s.fields["k"])
        return structs.map(lambda s: struct_pb2.ListValue(values=[s.fields["k"]]))
    if name in (TIMESTAMP, DURATION):
        message_class = timestamp_pb2.Timestamp if name == TIMESTAMP else duration_pb2.Duration
        return st.builds(
            lambda seconds, nanos: message_class(seconds=seconds, nanos=nanos),
            values.int_in(64, signed=True),
            values.int_in(32, signed=True),
        )
    if name == FIELD_MASK:
        return st.lists(TEXT, max_size=4).map(lambda paths: field_mask_pb2.FieldMask(paths=paths))
    raise KeyError(name)


@cache
def single(field: FieldDescriptor, depth: int = 0) -> st.SearchStrategy[Any]:
    """A value for one occurrence of `field`: a scalar, or a message."""
    message_type = field.message_type
    if message_type is None:
        return _scalar(field)
    if message_type.full_name in (STRUCT, VALUE, LIST_VALUE, TIMESTAMP, DURATION, FIELD_MASK):
        return _well_known(message_type.full_name)
    return messages(message_type, depth + 1)


@cache
def messages(descriptor: Descriptor, depth: int = 0) -> st.SearchStrategy[Message]:
    """A message of `descriptor` with up to three slots set."""
    empty = GetMessageClass(descriptor)
    if depth > 3:
        return st.builds(empty)
    return st.lists(edits(descriptor, depth), max_size=3).map(lambda chosen: _built(empty(), chosen))


def _built(message: Message, chosen: list[ProtoEdit]) -> Message:
    for edit in chosen:
        apply(message, edit)
    return message


@cache
def hostile(slot: Slot, depth: int = 0) -> st.SearchStrategy[Any]:
    if slot.shape is Shape.MAP:
        key, value = (slot.field.message_type.fields_by_name[name] for name in ("key", "value"))
        few = st.dictionaries(_scalar(key), single(value, depth), min_size=1, max_size=4)
        if type_name(key) != "string":
            return few
        return st.one_of(json_values.huge_map(single(value, depth)), few)
    if slot.shape is Shape.LIST:
        return st.one_of(
            json_values.huge_list(single(slot.field, depth)),
            st.lists(single(slot.field, depth), min_size=1, max_size=4),
        )
    return single(slot.field, depth)


@cache
def _slot_edits(slot: Slot, depth: int) -> st.SearchStrategy[ProtoEdit]:
    return hostile(slot, depth).map(lambda value: ProtoEdit(slot, value))


def edits(
    descriptor: Descriptor, depth: int = 0, overrides: Mapping[str, st.SearchStrategy[Any]] | None = None
) -> st.SearchStrategy[ProtoEdit]:
    """One edit of a slot of `descriptor`. `overrides` adds values for fields by name (a page token for
    `page_token`), next to the ones of the field's type."""
    extra = overrides or {}
    every = slots(descriptor)
    special = {
        slot: st.one_of(
            extra[slot.field.name].map(lambda value, s=slot: ProtoEdit(s, value)), _slot_edits(slot, depth)
        )
        for slot in every
        if slot.shape is Shape.SINGLE and slot.field.name in extra
    }
    # A slot with values of its own (a page token) is picked as often as three plain ones.
    chances = weighted(every) + [slot for slot in special for _ in range(2)]
    return st.sampled_from(chances).flatmap(
        lambda slot: special[slot] if slot in special else _slot_edits(slot, depth)
    )


@dataclass(frozen=True)
class Mutated:
    """A message after edits, with the edits for the failure report."""

    message: Message
    edits: list[ProtoEdit]


def mutated(base: Message, overrides: Mapping[str, st.SearchStrategy[Any]] | None = None) -> Any:
    """`base` with one to four edits of its slots."""

    def build(chosen: list[ProtoEdit]) -> Mutated:
        message = type(base)()
        message.CopyFrom(base)
        for edit in chosen:
            apply(message, edit)
        return Mutated(message, chosen)

    chosen = edits(base.DESCRIPTOR, overrides=overrides)
    # Often just one edit: a request with one thing wrong gets furthest.
    return st.one_of(st.lists(chosen, min_size=1, max_size=1), st.lists(chosen, min_size=1, max_size=4)).map(
        build
    )


# Raw wire format, for requests the protobuf runtime would never produce.


def varint(value: int) -> bytes:
    value &= (1 << 64) - 1
    out = bytearray()
    while True:
        byte, value = value & 0x7F, value >> 7
        out.append(byte | (0x80 if value else 0))
        if not value:
            return bytes(out)


def tag(number: int, wire_type: int) -> bytes:
    return varint(number << 3 | wire_type)


def delimited(number: int, payload: bytes) -> bytes:
    return tag(number, 2) + varint(len(payload)) + payload


def deep_struct(depth: int) -> bytes:
    """The wire form of a Struct `{"a": {"a": ... "x"}}` nested `depth` levels."""
    value = delimited(3, b"x")  # Value.string_value
    for _ in range(depth):
        entry = delimited(1, b"a") + delimited(2, value)  # Struct.FieldsEntry
        value = delimited(5, delimited(1, entry))  # Value.struct_value = Struct{fields}
    return delimited(1, delimited(1, b"a") + delimited(2, value))


def at_slot(slot: Slot, leaf: bytes) -> bytes:
    """`leaf` (the slot's field, encoded) wrapped in the encoding of the messages above it."""
    *path, (field, at) = slot.steps
    payload = leaf
    if isinstance(at, str):
        # A map value: the leaf is field 2 of a map entry whose key is field 1.
        payload = delimited(field.number, delimited(1, at.encode()) + payload)
    for outer, key in reversed(path):
        if isinstance(key, str):
            payload = delimited(outer.number, delimited(1, key.encode()) + delimited(2, payload))
        else:
            payload = delimited(outer.number, payload)
    return payload


def _leaf(slot: Slot, kind: str, depth: int) -> bytes:
    number = slot.field.number
    if kind == "bad-utf8":
        return delimited(number, b"ok\xff\xfe\xc0\x80")
    if kind == "wrong-wire-type":
        # A varint where a length-delimited value belongs, or the reverse.
        if slot.field.message_type is not None or type_name(slot.field) in ("string", "bytes"):
            return tag(number, 0) + varint(1)
        return delimited(number, b"\x01\x02")
    if kind == "deep-struct":
        return delimited(number, deep_struct(depth))
    # A length that runs past the end of the message.
    return tag(number, 2) + varint(1000) + b"x"


def raw_requests(base: bytes, descriptor: Descriptor) -> st.SearchStrategy[bytes]:
    """Bytes for a request of `descriptor`, based on the serialized valid request `base`."""
    every = slots(descriptor)
    structs = [s for s in every if s.type_name == STRUCT and s.shape is Shape.SINGLE]
    strings = [s for s in every if s.type_name == "string" and s.shape is Shape.SINGLE]
    corrupt = st.builds(
        lambda slot, kind: base + at_slot(slot, _leaf(slot, kind, 0)),
        st.sampled_from(strings or every),
        st.sampled_from(["bad-utf8", "wrong-wire-type", "overrun"]),
    )
    options = [
        st.binary(max_size=256),
        st.integers(min_value=0, max_value=max(len(base) - 1, 0)).map(lambda n: base[:n]),
        st.builds(lambda at, byte: _flip(base, at, byte), st.integers(0, 10**6), st.integers(0, 255)),
        corrupt,
        st.sampled_from(every).map(lambda slot: base + at_slot(slot, _leaf(slot, "wrong-wire-type", 0))),
    ]
    if structs:
        options.append(
            st.builds(
                lambda slot, depth: base + at_slot(slot, _leaf(slot, "deep-struct", depth)),
                st.sampled_from(structs),
                st.integers(min_value=20, max_value=150),
            )
        )
    return st.one_of(*options)


def _flip(data: bytes, at: int, byte: int) -> bytes:
    if not data:
        return bytes([byte])
    i = at % len(data)
    return data[:i] + bytes([byte]) + data[i + 1 :]
