"""Where a request can carry a value, read from the protobuf descriptors: every field of a message, at any
depth, as a slot with its JSON path and its protobuf field. Both transports fuzz these slots, so a field added
to a `.proto` is fuzzed without a change here."""

from __future__ import annotations

import enum
from collections.abc import Iterator
from dataclasses import dataclass

from google.protobuf.descriptor import Descriptor, FieldDescriptor

# Messages with a JSON form of their own (proto3 JSON mapping): values, not objects with fields.
STRUCT = "google.protobuf.Struct"
VALUE = "google.protobuf.Value"
LIST_VALUE = "google.protobuf.ListValue"
TIMESTAMP = "google.protobuf.Timestamp"
DURATION = "google.protobuf.Duration"
FIELD_MASK = "google.protobuf.FieldMask"
WELL_KNOWN = frozenset({STRUCT, VALUE, LIST_VALUE, TIMESTAMP, DURATION, FIELD_MASK})
# Deeper than any jangar.v1 message nests; stops a recursive message from walking forever.
MAX_DEPTH = 6
# The key under which a map slot's value is fuzzed.
MAP_KEY = "fuzz"


class Shape(enum.Enum):
    SINGLE = "single"  # one value of the field's type (also one item of a list, or one value of a map)
    LIST = "list"  # the whole repeated field
    MAP = "map"  # the whole map field


@dataclass(frozen=True)
class Slot:
    """A place for a value: `keys` is its JSON path (`("spec", "env", 0, "name")`), `steps` the same path as
    (field, index or map key) pairs for building a protobuf message."""

    keys: tuple[str | int, ...]
    steps: tuple[tuple[FieldDescriptor, int | str | None], ...]
    field: FieldDescriptor
    shape: Shape

    @property
    def type_name(self) -> str:
        return type_name(self.field)

    def __str__(self) -> str:
        return ".".join(str(k) for k in self.keys) + f" ({self.shape.value} {self.type_name})"


_SCALARS = {
    FieldDescriptor.TYPE_STRING: "string",
    FieldDescriptor.TYPE_BYTES: "bytes",
    FieldDescriptor.TYPE_BOOL: "bool",
    FieldDescriptor.TYPE_INT32: "int32",
    FieldDescriptor.TYPE_SINT32: "int32",
    FieldDescriptor.TYPE_SFIXED32: "int32",
    FieldDescriptor.TYPE_INT64: "int64",
    FieldDescriptor.TYPE_SINT64: "int64",
    FieldDescriptor.TYPE_SFIXED64: "int64",
    FieldDescriptor.TYPE_UINT32: "uint32",
    FieldDescriptor.TYPE_FIXED32: "uint32",
    FieldDescriptor.TYPE_UINT64: "uint64",
    FieldDescriptor.TYPE_FIXED64: "uint64",
    FieldDescriptor.TYPE_DOUBLE: "double",
    FieldDescriptor.TYPE_FLOAT: "float",
}


def type_name(field: FieldDescriptor) -> str:
    """`string`, `int32`, `enum`, or a message's full name."""
    if field.message_type is not None:
        return field.message_type.full_name
    if field.enum_type is not None:
        return "enum"
    return _SCALARS[field.type]


def is_map(field: FieldDescriptor) -> bool:
    return field.message_type is not None and field.message_type.GetOptions().map_entry


def is_repeated(field: FieldDescriptor) -> bool:
    # FieldDescriptor.label is deprecated in protobuf 7; is_repeated is its replacement.
    return bool(field.is_repeated)


def map_value(field: FieldDescriptor) -> FieldDescriptor:
    return field.message_type.fields_by_name["value"]


def slots(descriptor: Descriptor) -> tuple[Slot, ...]:
    """Every slot of `descriptor`, depth first."""
    return tuple(_walk(descriptor, (), (), 0))


def _walk(
    descriptor: Descriptor,
    keys: tuple[str | int, ...],
    steps: tuple[tuple[FieldDescriptor, int | str | None], ...],
    depth: int,
) -> Iterator[Slot]:
    for field in descriptor.fields:
        here = (*keys, field.json_name)
        if is_map(field):
            yield Slot(here, (*steps, (field, None)), field, Shape.MAP)
            value = map_value(field)
            item_steps = (*steps, (field, MAP_KEY))
            yield Slot((*here, MAP_KEY), item_steps, value, Shape.SINGLE)
            yield from _below(value, (*here, MAP_KEY), item_steps, depth)
            continue
        if is_repeated(field):
            yield Slot(here, (*steps, (field, None)), field, Shape.LIST)
            here, item_steps = (*here, 0), (*steps, (field, 0))
        else:
            item_steps = (*steps, (field, None))
        yield Slot(here, item_steps, field, Shape.SINGLE)
        yield from _below(field, here, item_steps, depth)


def _below(
    field: FieldDescriptor,
    keys: tuple[str | int, ...],
    steps: tuple[tuple[FieldDescriptor, int | str | None], ...],
    depth: int,
) -> Iterator[Slot]:
    message = field.message_type
    if message is None or message.full_name in WELL_KNOWN or depth >= MAX_DEPTH:
        return
    yield from _walk(message, keys, steps, depth + 1)


def weight(slot: Slot) -> int:
    """How often a slot is picked for an edit, relative to a plain scalar: free-form values (Structs), maps,
    lists and enums have more ways to go wrong than a string has."""
    if slot.type_name in (STRUCT, VALUE, LIST_VALUE):
        return 6
    if slot.shape is not Shape.SINGLE or slot.type_name == "enum":
        return 2
    return 1


def weighted(every: tuple[Slot, ...]) -> list[Slot]:
    """`every` with each slot repeated by its weight, for `sampled_from`."""
    return [slot for slot in every for _ in range(weight(slot))]
