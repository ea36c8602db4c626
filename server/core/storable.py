"""What a request may carry at all, checked for every method before any handler runs:

* Text PostgreSQL cannot store. `text` and `jsonb` reject the NUL character (U+0000), so a request carrying
  one anywhere, in a field, a map key, a Struct value or a list filter, would fail in the database as an
  internal error. (Every other code point a client can send is storable: protobuf has already refused
  strings that are not valid UTF-8, lone surrogates included.)
* Enum numbers the schema does not define. proto3 keeps an unknown number (`"type": 99` in JSON, or any
  number over gRPC), which no code path can name, store as a word, or act on.

Paths are the JSON paths a REST client sent, written like the rest of the validation's
(`spec.steps[2].with['x']`, `config['a'][0]`); paths inside the request's body field are relative to it, as a
REST body is the resource itself."""

from __future__ import annotations

from collections.abc import Iterator, Mapping

from google.protobuf.descriptor import EnumDescriptor, FieldDescriptor
from google.protobuf.message import Message

from jangar.server.core.errors import FieldViolation

NUL = "\x00"
PROBLEM = "must not contain the NUL character (U+0000)"

Problem = tuple[str, str]


def request_violations(request: Message, body_field: str = "") -> list[FieldViolation]:
    """Every place in `request` that holds a NUL character or an undefined enum number. `body_field` is the
    request field that a REST client sends as the body (the http rule's `body`), whose own name is left out
    of paths."""
    return [FieldViolation(path, problem) for path, problem in _walk(request, "", body_field)]


def _join(prefix: str, name: str) -> str:
    return f"{prefix}.{name}" if prefix else name


def _walk(message: Message, prefix: str, body_field: str = "") -> Iterator[Problem]:
    for field, value in message.ListFields():
        if not prefix and field.name == body_field and field.type == FieldDescriptor.TYPE_MESSAGE:
            yield from _walk(value, "")
            continue
        path = _join(prefix, field.json_name)
        if field.message_type is not None and field.message_type.GetOptions().map_entry:
            yield from _map(value, path)
        elif field.enum_type is not None:
            numbers = value if field.is_repeated else [value]
            for index, number in enumerate(numbers):
                at = f"{path}[{index}]" if field.is_repeated else path
                yield from _enum(field.enum_type, number, at)
        elif field.is_repeated:
            for index, item in enumerate(value):
                yield from _value(item, f"{path}[{index}]")
        else:
            yield from _value(value, path)


def _enum(enum: EnumDescriptor, number: int, path: str) -> Iterator[Problem]:
    if number not in enum.values_by_number:
        names = ", ".join(v.name for v in enum.values if v.number != 0)
        yield path, f"{number} is not a value of {enum.name}; use one of {names}"


def _map(entries: Mapping[object, object], path: str) -> Iterator[Problem]:
    for key, item in entries.items():
        # Paths are built only for what is reported: a request may carry thousands of entries.
        if isinstance(key, str) and NUL in key:
            yield f"{path}[{key!r}]", PROBLEM
        if isinstance(item, Message):
            yield from _message(item, f"{path}[{key!r}]")
        elif isinstance(item, str) and NUL in item:
            yield f"{path}[{key!r}]", PROBLEM


def _value(value: object, path: str) -> Iterator[Problem]:
    if isinstance(value, str):
        if NUL in value:
            yield path, PROBLEM
    elif isinstance(value, Message):
        yield from _message(value, path)


def _message(message: Message, path: str) -> Iterator[Problem]:
    match message.DESCRIPTOR.full_name:
        case "google.protobuf.Struct":
            for key, item in message.fields.items():  # type: ignore[attr-defined]
                item_path = f"{path}[{key!r}]"
                if NUL in key:
                    yield item_path, PROBLEM
                yield from _message(item, item_path)
        case "google.protobuf.Value":
            kind = message.WhichOneof("kind")
            if kind == "string_value" and NUL in message.string_value:  # type: ignore[attr-defined]
                yield path, PROBLEM
            elif kind in ("struct_value", "list_value"):
                yield from _message(getattr(message, kind), path)
        case "google.protobuf.ListValue":
            for index, item in enumerate(message.values):  # type: ignore[attr-defined]
                yield from _message(item, f"{path}[{index}]")
        case "google.protobuf.FieldMask":
            # REST clients send a mask as one comma-separated string, so the mask itself is the path.
            if any(NUL in item for item in message.paths):  # type: ignore[attr-defined]
                yield path, PROBLEM
        case _:
            yield from _walk(message, path)
