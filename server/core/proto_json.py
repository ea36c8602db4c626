"""Reading proto3 JSON (as dicts) into messages as google.protobuf.json_format.ParseDict does, two to four
times faster for the messages Jangar stores (specs and statuses: strings, numbers, enums, nested messages,
repeated fields and string-keyed maps): json_format is pure Python and resolves every field of every
document anew, here each message type's fields are looked up once. Well-known types inside (Struct,
Timestamp, Duration, ...) and any message with a field of another kind (bytes, float, non-string map keys)
are left to json_format; so is a document this parser does not accept, and json_format raises its usual
errors for it.

Writing (`to_dict`) is json_format.MessageToDict's output, about twice as fast: each message type's fields
get their converters once (json_format looks up every enum value's JSON option anew). Values it would not
write the same way (an unknown number in a closed enum) leave the message to json_format. A definition
written into every run document is remembered by content (`remembered_dict`); a run is new each time, and
keying it by its serialization cost more than writing it."""

from __future__ import annotations

import base64
import contextlib
import math
from collections.abc import Callable
from functools import cache
from typing import Any

import orjson
from cachetools import LRUCache
from google.protobuf import descriptor_pool, json_format
from google.protobuf.descriptor import Descriptor, FieldDescriptor
from google.protobuf.internal import type_checkers
from google.protobuf.message import Message

_F = FieldDescriptor
_INT32 = frozenset({_F.TYPE_INT32, _F.TYPE_SINT32, _F.TYPE_SFIXED32, _F.TYPE_UINT32, _F.TYPE_FIXED32})
_INT64 = frozenset({_F.TYPE_INT64, _F.TYPE_SINT64, _F.TYPE_SFIXED64, _F.TYPE_UINT64, _F.TYPE_FIXED64})
_PLAIN = frozenset({_F.TYPE_STRING, _F.TYPE_BOOL, _F.TYPE_ENUM, _F.TYPE_DOUBLE, _F.TYPE_MESSAGE}) | _INT32
_WELL_KNOWN_PACKAGE = "google.protobuf."

# How a field's value is read: scalar, enum, int64 (a JSON string), double, message, or a
# well-known type (json_format's business).
SCALAR, ENUM, INT64, DOUBLE, MESSAGE, WELL_KNOWN = range(6)


def _is_map(field: FieldDescriptor) -> bool:
    return field.type == _F.TYPE_MESSAGE and field.message_type.GetOptions().map_entry


def _value_kind(field: FieldDescriptor) -> int:
    if field.type == _F.TYPE_MESSAGE:
        return WELL_KNOWN if field.message_type.full_name.startswith(_WELL_KNOWN_PACKAGE) else MESSAGE
    if field.type == _F.TYPE_ENUM:
        return ENUM
    if field.type in _INT64:
        return INT64
    return DOUBLE if field.type == _F.TYPE_DOUBLE else SCALAR


@cache
def _fields(descriptor: Descriptor) -> dict[str, tuple[FieldDescriptor, bool, bool, int]] | None:
    """By JSON name and by field name: (field, repeated, map, kind of the value); None when the message
    has a field this module leaves to json_format."""
    if descriptor.full_name.startswith(_WELL_KNOWN_PACKAGE) or descriptor.extension_ranges:
        return None
    fields: dict[str, tuple[FieldDescriptor, bool, bool, int]] = {}
    for field in descriptor.fields:
        is_map = _is_map(field)
        value_field = field.message_type.fields_by_name["value"] if is_map else field
        if is_map and field.message_type.fields_by_name["key"].type != _F.TYPE_STRING:
            return None
        if value_field.type not in _PLAIN and value_field.type not in _INT64:
            return None
        entry = (field, field.is_repeated, is_map, _value_kind(value_field))
        fields[field.json_name] = entry
        fields[field.name] = entry
    return fields


def parse_dict(data: dict[str, Any], message: Message) -> None:
    """json_format.ParseDict(data, message, ignore_unknown_fields=True)."""
    try:
        _parse(data, message)
    except (KeyError, TypeError, ValueError, AttributeError):
        message.Clear()
        json_format.ParseDict(data, message, ignore_unknown_fields=True)


def _parse(data: dict[str, Any], message: Message) -> None:
    fields = _fields(message.DESCRIPTOR)
    if fields is None or not isinstance(data, dict):
        json_format.ParseDict(data, message, ignore_unknown_fields=True)
        return
    for key, value in data.items():
        entry = fields.get(key)
        if entry is None or value is None:
            continue  # unknown (a newer server's field), or null: the default
        field, repeated, is_map, kind = entry
        target = getattr(message, field.name)
        if is_map:
            value_field = field.message_type.fields_by_name["value"]
            for item_key, item in value.items():
                if kind in (MESSAGE, WELL_KNOWN):
                    _parse_message(item, target[item_key], kind)
                else:
                    target[item_key] = _read(item, kind, value_field)
        elif repeated:
            if kind in (MESSAGE, WELL_KNOWN):
                for item in value:
                    _parse_message(item, target.add(), kind)
            else:
                target.extend(_read(item, kind, field) for item in value)
        elif kind in (MESSAGE, WELL_KNOWN):
            _parse_message(value, target, kind)
        else:
            setattr(message, field.name, _read(value, kind, field))


# Well-known types whose JSON is one string their own method reads (conditions carry a Timestamp each).
_FROM_STRING = frozenset({"google.protobuf.Timestamp", "google.protobuf.Duration"})


def _parse_message(value: Any, target: Message, kind: int) -> None:
    target.SetInParent()
    if kind == MESSAGE:
        _parse(value, target)
    elif isinstance(value, str) and target.DESCRIPTOR.full_name in _FROM_STRING:
        target.FromJsonString(value)  # type: ignore[attr-defined]
    else:
        json_format.ParseDict(value, target, ignore_unknown_fields=True)


def _read(value: Any, kind: int, field: FieldDescriptor) -> Any:
    if kind == ENUM:
        return field.enum_type.values_by_name[value].number if isinstance(value, str) else int(value)
    if kind == INT64:
        return int(value)
    if kind == DOUBLE:
        return float(value)
    if field.type in _INT32:
        if isinstance(value, bool) or (isinstance(value, float) and not value.is_integer()):
            raise ValueError(value)
        return int(value)
    if field.type == _F.TYPE_BOOL and not isinstance(value, bool):
        raise TypeError(value)
    if field.type == _F.TYPE_STRING and not isinstance(value, str):
        raise TypeError(value)
    return value


# Written by their own method, as json_format writes them: one JSON string each.
_TO_STRING = frozenset({"google.protobuf.Timestamp", "google.protobuf.Duration", "google.protobuf.FieldMask"})
_INFINITY, _NEG_INFINITY, _NAN = "Infinity", "-Infinity", "NaN"

Write = Callable[[Any], Any]


class _Unwritable(Exception):
    """A value this writer does not write as json_format would: the message is left to json_format, which
    writes it or raises its own error (an unknown number in a closed enum)."""


def to_dict(message: Message) -> dict[str, Any]:
    """json_format.MessageToDict(message), a new dict on every call."""
    try:
        return _writer(message.DESCRIPTOR)(message)
    except _Unwritable:
        return json_format.MessageToDict(message)


# Serialized bytes of the messages whose proto3 JSON is remembered.
REMEMBERED_CACHE_BYTES = 8 * 1024 * 1024
_remembered: LRUCache[tuple[str, bytes], tuple[int, bytes]] = LRUCache(
    REMEMBERED_CACHE_BYTES, getsizeof=lambda entry: entry[0]
)


def remembered_dict(message: Message) -> dict[str, Any]:
    """`to_dict(message)` for a message written again and again with the same content (a definition in
    every run document of its runs), remembered by its type and deterministic serialization: a hit costs
    a tenth of writing a large definition. Not for messages that are new each time (a run: its id and
    times), where the key alone costs more than writing. A new dict on every call; two messages with the
    same content share an entry (a map's keys may then come in another order; JSON objects have none)."""
    key = (message.DESCRIPTOR.full_name, message.SerializeToString(deterministic=True))
    known = _remembered.get(key)
    if known is None:
        written = orjson.dumps(to_dict(message))
        known = (len(key[1]) + len(written) + 64, written)
        with contextlib.suppress(ValueError):  # larger than the whole cache
            _remembered[key] = known
    # Kept as JSON text: loading it is the cheapest deep copy, and callers may change what they get.
    return orjson.loads(known[1])


@cache
def _writer(descriptor: Descriptor) -> Write:
    """How messages of one type are written: their set fields (ListFields, in field-number order, as
    json_format walks them) under their JSON names, each through a converter chosen once per field."""
    name = descriptor.full_name
    if name in _TO_STRING:
        return _json_string
    if name.startswith(_WELL_KNOWN_PACKAGE) or descriptor.extension_ranges:
        return json_format.MessageToDict
    converters = {field: (field.json_name, _field_writer(field)) for field in descriptor.fields}

    def write(message: Message) -> dict[str, Any]:
        written: dict[str, Any] = {}
        for field, value in message.ListFields():
            json_name, convert = converters[field]
            written[json_name] = convert(value)
        return written

    return write


def _json_string(message: Message) -> str:
    return message.ToJsonString()  # type: ignore[attr-defined,no-any-return]


def _field_writer(field: FieldDescriptor) -> Write:
    if _is_map(field):
        key_field = field.message_type.fields_by_name["key"]
        convert = _value_writer(field.message_type.fields_by_name["value"])
        key = _bool_key if key_field.type == _F.TYPE_BOOL else str
        if convert is _same and key_field.type == _F.TYPE_STRING:
            return dict
        return lambda entries: {key(k): convert(v) for k, v in entries.items()}
    convert = _value_writer(field)
    if field.is_repeated:
        if convert is _same:
            return list
        return lambda items: [convert(item) for item in items]
    return convert


def _value_writer(field: FieldDescriptor) -> Write:
    if field.type == _F.TYPE_MESSAGE:
        message_type = field.message_type
        # Looked up on use, not now: a message type may contain itself.
        return lambda value: _writer(message_type)(value)
    if field.type == _F.TYPE_ENUM:
        return _enum_writer(field)
    if field.type in _INT64:
        return str
    if field.type == _F.TYPE_BYTES:
        return _base64
    if field.type == _F.TYPE_DOUBLE:
        return _double
    if field.type == _F.TYPE_FLOAT:
        return _float
    return _same  # string, bool, 32-bit integers


def _same(value: Any) -> Any:
    return value


def _bool_key(key: bool) -> str:
    return "true" if key else "false"


def _base64(value: bytes) -> str:
    return base64.b64encode(value).decode("utf-8")


def _double(value: float) -> Any:
    if math.isinf(value):
        return _NEG_INFINITY if value < 0 else _INFINITY
    return _NAN if math.isnan(value) else value


def _float(value: float) -> Any:
    special = _double(value)
    return special if isinstance(special, str) else type_checkers.ToShortestFloat(value)


def _enum_writer(field: FieldDescriptor) -> Write:
    enum = field.enum_type
    if enum.full_name == "google.protobuf.NullValue":
        return lambda _value: None
    if _enum_json_names_in_use():
        return _unwritable
    names = {value.number: value.name for value in enum.values}
    closed = enum.is_closed

    def write(number: int) -> Any:
        name = names.get(number)
        if name is not None:
            return name
        if closed:
            raise _Unwritable(number)
        return number

    return write


def _unwritable(value: Any) -> Any:
    raise _Unwritable(value)


@cache
def _enum_json_names_in_use() -> bool:
    """Whether any enum value may carry its own JSON name (the `pb.enumvalue.json` option json_format
    honours): then enums are json_format's to write."""
    try:
        descriptor_pool.Default().FindExtensionByName("pb.enumvalue.json")
    except KeyError:
        return False
    return True
