"""JSON values for a slot (schema.Slot), in the proto3 JSON mapping that REST clients write: plausible ones of
the slot's type, and hostile ones: the wrong JSON type, numbers as strings, unknown enum names, strings with
NUL, control characters and lone surrogates, deep nesting in Struct fields, maps with thousands of keys."""

from __future__ import annotations

import json
from functools import cache
from typing import Any

from google.protobuf.descriptor import Descriptor
from hypothesis import strategies as st

from tests.fuzz import values
from tests.fuzz.schema import (
    DURATION,
    FIELD_MASK,
    LIST_VALUE,
    STRUCT,
    TIMESTAMP,
    VALUE,
    WELL_KNOWN,
    Shape,
    Slot,
    is_map,
    is_repeated,
    map_value,
    type_name,
)

NAME = st.from_regex(r"[a-z0-9]([-a-z0-9]{0,14}[a-z0-9])?", fullmatch=True)
SCALARS: st.SearchStrategy[Any] = st.one_of(
    st.none(), st.booleans(), st.integers(-(2**40), 2**40), st.floats(allow_nan=False), st.text(max_size=12)
)
# One representative of every JSON type, to put where another type belongs.
EVERY_TYPE: list[Any] = [
    None,
    True,
    0,
    -1,
    1.5,
    1e308,
    "",
    "x",
    [],
    ["x"],
    [1, [2]],
    {},
    {"x": "y"},
    {"x": {"y": 1}},
]
# Nesting beyond which the JSON encoder of the test itself would recurse too deep; far beyond the ~100 levels
# that Envoy's JSON parser and the protobuf runtime accept.
MAX_NESTING = 200


@cache
def json_documents(max_leaves: int = 8) -> st.SearchStrategy[Any]:
    return st.recursive(
        SCALARS,
        lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
        max_leaves=max_leaves,
    )


def nested(depth: int, container: str) -> Any:
    """`{"a": {"a": ... "x"}}` or `[[... "x"]]`, `depth` levels deep, or the two alternating."""
    value: Any = "x"
    for level in range(depth):
        as_list = container == "list" or (container == "mixed" and level % 2)
        value = [value] if as_list else {"a": value}
    return value


@cache
def deep() -> st.SearchStrategy[Any]:
    return st.builds(
        nested, st.integers(min_value=2, max_value=MAX_NESTING), st.sampled_from(["dict", "list", "mixed"])
    )


# Roughly how many bytes a huge map or list may take: big enough for thousands of small items, and never so
# big that the request goes over the 1 MiB limit of either transport (which is a different test).
HUGE_BYTES = 300_000


def _size(item: Any) -> int:
    if hasattr(item, "ByteSize"):
        return int(item.ByteSize()) + 4
    try:
        return len(json.dumps(item)) + 4
    except (TypeError, ValueError):
        return len(repr(item))


def _many(n: int, item: Any) -> int:
    return max(1, min(n, HUGE_BYTES // _size(item)))


def huge_map(values_of: st.SearchStrategy[Any]) -> st.SearchStrategy[dict[str, Any]]:
    """Hundreds to thousands of keys, valid ones or not, all with one value."""
    return st.builds(
        lambda n, pattern, value: {pattern.format(i=i): value for i in range(_many(n, value))},
        st.integers(min_value=65, max_value=5000),
        st.sampled_from(["k{i}", "team-{i}.example.com/k", "K {i}!", "{i}", "\x00{i}"]),
        values_of,
    )


def huge_list(items: st.SearchStrategy[Any]) -> st.SearchStrategy[list[Any]]:
    return st.builds(
        lambda n, item: [item] * _many(n, item), st.integers(min_value=65, max_value=5000), items
    )


@cache
def wrong_type(expected: str) -> st.SearchStrategy[Any]:
    """A JSON value of another type than `expected` (`string`, `number`, `bool`, `object`, `array`)."""

    def other(value: Any) -> bool:
        actual = {bool: "bool", int: "number", float: "number", str: "string", list: "array", dict: "object"}
        return value is None or actual[type(value)] != expected

    return st.sampled_from([v for v in EVERY_TYPE if other(v)])


@cache
def valid(slot: Slot) -> st.SearchStrategy[Any]:
    """A value of the slot's JSON type, not necessarily one the server accepts."""
    if slot.shape is Shape.LIST:
        return st.lists(_single(slot.field), max_size=3)
    if slot.shape is Shape.MAP:
        return st.dictionaries(NAME, _single(map_value(slot.field)), max_size=3)
    return _single(slot.field)


@cache
def _single(field: Any, depth: int = 0) -> st.SearchStrategy[Any]:
    if field.message_type is not None:
        return message(field.message_type, depth + 1)
    if field.enum_type is not None:
        return st.sampled_from([v.name for v in field.enum_type.values])
    match type_name(field):
        case "string":
            return st.one_of(NAME, st.text(max_size=20))
        case "bool":
            return st.booleans()
        case "int64" | "uint64":
            # int64 is a JSON string in the proto3 mapping; numbers are accepted too.
            return st.integers(0, 10**6).map(str) | st.integers(0, 10**6)
        case "double" | "float":
            return st.floats(-1e6, 1e6)
        case "bytes":
            return st.just("AAEC")
        case _:
            return st.integers(0, 10**4)


@cache
def message(descriptor: Descriptor, depth: int = 0) -> st.SearchStrategy[Any]:
    """A JSON object with some fields of `descriptor`, each of its type."""
    name = descriptor.full_name
    if name == STRUCT:
        return st.dictionaries(st.text(max_size=8), json_documents(), max_size=4)
    if name == VALUE:
        return json_documents()
    if name == LIST_VALUE:
        return st.lists(json_documents(), max_size=3)
    if name == TIMESTAMP:
        return st.sampled_from(["2024-01-01T00:00:00Z", "1970-01-01T00:00:00.5+02:00"])
    if name == DURATION:
        return st.sampled_from(["1s", "0.5s"])
    if name == FIELD_MASK:
        return st.sampled_from(["spec", "labels,annotations"])
    if depth > 4:
        return st.just({})
    fields = {}
    for field in descriptor.fields:
        single = _single(map_value(field), depth) if is_map(field) else _single(field, depth)
        if is_map(field):
            fields[field.json_name] = st.dictionaries(NAME, single, max_size=2)
        elif is_repeated(field):
            fields[field.json_name] = st.lists(single, max_size=2)
        else:
            fields[field.json_name] = single
    return st.fixed_dictionaries({}, optional=fields)


@cache
def hostile(slot: Slot) -> st.SearchStrategy[Any]:
    """A value for the slot that a correct server refuses or stores harmlessly, never one it fails on."""
    if slot.shape is Shape.LIST:
        item = _single(slot.field)
        return st.one_of(
            wrong_type("array"),
            huge_list(item),
            st.lists(st.one_of(hostile_single(slot), st.sampled_from(EVERY_TYPE)), min_size=1, max_size=4),
        )
    if slot.shape is Shape.MAP:
        value = map_value(slot.field)
        expected = _expected(value)
        return st.one_of(
            wrong_type("object"),
            huge_map(_single(value)),
            st.dictionaries(values.hostile_text(surrogates=True), _single(value), min_size=1, max_size=3),
            # An object where the value type is a string: Envoy's transcoder emits a corrupt message for it.
            st.dictionaries(NAME, wrong_type(expected), min_size=1, max_size=3),
        )
    return hostile_single(slot)


def _expected(field: Any) -> str:
    if field.message_type is not None:
        return "object"
    if field.enum_type is not None:
        return "string"
    return {"string": "string", "bool": "bool", "bytes": "string"}.get(type_name(field), "number")


@cache
def hostile_single(slot: Slot) -> st.SearchStrategy[Any]:
    field = slot.field
    kind = slot.type_name
    if field.message_type is not None:
        if kind in (STRUCT, VALUE, LIST_VALUE):
            return st.one_of(
                deep().map(lambda v: {"k": v}) if kind == STRUCT else deep(),
                huge_map(st.just("v")),
                st.dictionaries(
                    values.hostile_text(surrogates=True), json_documents(), min_size=1, max_size=3
                ),
                wrong_type("object" if kind == STRUCT else "array" if kind == LIST_VALUE else "none"),
            )
        if kind in WELL_KNOWN:
            # Timestamps, durations and masks are strings in JSON.
            return st.one_of(values.hostile_text(surrogates=True), wrong_type("string"), _bad_times())
        return st.one_of(
            wrong_type("object"),
            st.dictionaries(values.hostile_text(surrogates=True), SCALARS, min_size=1, max_size=3),
        )
    if field.enum_type is not None:
        names = [v.name for v in field.enum_type.values]
        return st.one_of(
            st.sampled_from(names).map(str.upper),
            st.sampled_from(names).map(str.lower),
            st.sampled_from(names).map(lambda n: f" {n}"),
            st.sampled_from(["UNKNOWN", "Bogus", "", "0", "-1", "999"]),
            values.extreme_ints(),
            wrong_type("string"),
        )
    match kind:
        case "string":
            return st.one_of(values.hostile_text(surrogates=True), wrong_type("string"))
        case "bool":
            return st.one_of(st.sampled_from(["true", "false", "yes", 1, 0, "1", "TRUE"]), wrong_type("bool"))
        case "bytes":
            return st.one_of(st.sampled_from(["not base64!", "=", "AAE", "\x00"]), wrong_type("string"))
        case _:
            # Numbers: as strings (valid in proto3 JSON), not numbers, out of range, fractions, exponents.
            return st.one_of(
                values.extreme_ints(),
                values.extreme_ints().map(str),
                st.sampled_from(["abc", "1.5", "0x10", " 1", "1e3", "Infinity", "NaN", "-0", "", "1_000"]),
                st.floats(allow_nan=True, allow_infinity=True),
                wrong_type("number"),
            )


def _bad_times() -> st.SearchStrategy[str]:
    return st.sampled_from(
        [
            "0000-01-01T00:00:00Z",
            "9999-12-31T23:59:60Z",
            "10000-01-01T00:00:00Z",
            "2024-02-30T00:00:00Z",
            "2024-01-01T00:00:00",
            "2024-01-01T00:00:00.1234567891Z",
            "-1s",
            "315576000001s",
            "a.b..c",
        ]
    )
