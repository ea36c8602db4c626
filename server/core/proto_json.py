"""Reading proto3 JSON (as dicts) into messages as google.protobuf.json_format.ParseDict does, two to four
times faster for the messages Jangar stores (specs and statuses: strings, numbers, enums, nested messages,
repeated fields and string-keyed maps): json_format is pure Python and resolves every field of every
document anew, here each message type's fields are looked up once. Well-known types inside (Struct,
Timestamp, Duration, ...) and any message with a field of another kind (bytes, float, non-string map keys)
are left to json_format; so is a document this parser does not accept, and json_format raises its usual
errors for it.

Writing is json_format.MessageToDict, remembered by content (`to_dict`): a create writes the same messages
again and again (its Agent and AgentProvider into every run document, its spec into the row and the custom
resource), and a faster writer gained nothing, since MessageToDict already walks only the fields that are
set."""

from __future__ import annotations

import contextlib
from functools import cache
from typing import Any

import orjson
from cachetools import LRUCache
from google.protobuf import json_format
from google.protobuf.descriptor import Descriptor, FieldDescriptor
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


# Serialized bytes of the messages whose proto3 JSON is kept.
WRITTEN_CACHE_BYTES = 8 * 1024 * 1024
_written: LRUCache[tuple[str, bytes], tuple[int, bytes]] = LRUCache(
    WRITTEN_CACHE_BYTES, getsizeof=lambda entry: entry[0]
)


def to_dict(message: Message) -> dict[str, Any]:
    """json_format.MessageToDict(message), a new dict on every call. Keyed by the message's type and its
    deterministic serialization, so two messages with the same content share an entry (a map's keys may
    then come in another order; JSON objects have none)."""
    key = (message.DESCRIPTOR.full_name, message.SerializeToString(deterministic=True))
    known = _written.get(key)
    if known is None:
        written = orjson.dumps(json_format.MessageToDict(message))
        known = (len(key[1]) + len(written) + 64, written)
        with contextlib.suppress(ValueError):  # larger than the whole cache
            _written[key] = known
    # Kept as JSON text: loading it is the cheapest deep copy, and callers may change what they get.
    return orjson.loads(known[1])
