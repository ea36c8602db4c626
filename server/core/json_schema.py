"""JSON Schema, with the `jsonschema` library: whether a schema is one (its meta-schema), and what in an
instance breaks it, each problem with the JSON path (`.items[2].name`) of the value at fault.

A schema may only reference itself (`$ref: "#/$defs/x"`, `#anchor`): Jangar never fetches a schema from the
network or the file system, so a remote reference would fail every instance at check time. Its regular
expressions run on RE2 (core/schema_regex.py), so no pattern can make a check take more than linear time;
`unevaluatedProperties` is therefore refused next to `patternProperties`, since the library evaluates that
pair with Python's backtracking `re`."""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from itertools import islice
from typing import Any

from jsonschema import ValidationError
from jsonschema.protocols import Validator
from jsonschema.validators import (
    Draft4Validator,
    Draft6Validator,
    Draft7Validator,
    Draft201909Validator,
    Draft202012Validator,
    validator_for,
)
from referencing import Registry
from referencing.exceptions import Unresolvable
from referencing.jsonschema import specification_with

from jangar.server.core.schema_regex import linear, regex_problem

# The dialect of a schema without `$schema`, and every dialect a schema may name.
DEFAULT_DIALECT = Draft202012Validator
DIALECTS = (Draft4Validator, Draft6Validator, Draft7Validator, Draft201909Validator, Draft202012Validator)
# A problem's description is cut here: a type error quotes the whole value at fault.
MAX_DESCRIPTION = 240
_REFERENCES = ("$ref", "$dynamicRef", "$recursiveRef")
# Keywords whose values are instances, not subschemas: a `$ref` key inside them is data.
_INSTANCE_KEYWORDS = frozenset({"const", "enum", "default", "examples"})
_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_BASE = "urn:jangar:schema"


class UnusableSchema(ValueError):
    """A schema that passed its checks still cannot evaluate an instance (a reference inside a nested `$id`
    scope that resolves nowhere)."""


Problem = tuple[str, str]


def json_path(parts: Iterator[str | int] | Any) -> str:
    """`['items', 2, 'first name']` -> `.items[2]['first name']`."""
    path = ""
    for part in parts:
        if isinstance(part, int):
            path += f"[{part}]"
        elif _IDENTIFIER.fullmatch(part):
            path += f".{part}"
        else:
            path += f"[{part!r}]"
    return path


def integral(value: Any) -> Any:
    """JSON from a protobuf Struct, whose numbers are all doubles, with whole numbers as ints again, so that
    problems read `0 is less than the minimum of 1` rather than `0.0 ... 1.0`."""
    if isinstance(value, float) and value.is_integer() and abs(value) < 2**53:
        return int(value)
    if isinstance(value, dict):
        return {key: integral(item) for key, item in value.items()}
    if isinstance(value, list):
        return [integral(item) for item in value]
    return value


def _short(text: str) -> str:
    return text if len(text) <= MAX_DESCRIPTION else text[: MAX_DESCRIPTION - 3] + "..."


def _dialect(schema: Mapping[str, Any]) -> type[Validator] | None:
    declared = schema.get("$schema")
    if declared is None:
        return DEFAULT_DIALECT
    if not isinstance(declared, str):
        return None
    dialect = validator_for(schema, default=None)  # type: ignore[arg-type]
    return dialect if dialect in DIALECTS else None


def _keywords(node: Any, path: tuple[str | int, ...], root_scope: bool) -> Iterator[tuple[Any, ...]]:
    """(path, key, value, whether it is in the root document's scope) of every key of every object of the
    schema, instances (`const`, `enum`, ...) excepted."""
    if isinstance(node, list):
        for index, item in enumerate(node):
            yield from _keywords(item, (*path, index), root_scope)
        return
    if not isinstance(node, dict):
        return
    if path and any(isinstance(node.get(key), str) for key in ("$id", "id")):
        root_scope = False  # its references resolve against its own base URI
    for key, value in node.items():
        yield (*path, key), key, value, root_scope
        if key not in _INSTANCE_KEYWORDS:
            yield from _keywords(value, (*path, key), root_scope)


def _regex_problems(schema: Mapping[str, Any]) -> list[Problem]:
    problems = []
    where: dict[str, list[Any]] = {"patternProperties": [], "unevaluatedProperties": []}
    for path, key, value, _ in _keywords(schema, (), True):
        if key == "pattern" and isinstance(value, str):
            problem = regex_problem(value)
            if problem:
                problems.append((json_path(path), problem))
        elif key in where and isinstance(value, dict | bool):
            where[key].append(path)
            for pattern in value if key == "patternProperties" else ():
                problem = regex_problem(pattern)
                if problem:
                    problems.append((json_path([*path, pattern]), problem))
    if where["patternProperties"]:
        problems += [
            (json_path(path), "cannot be used in a schema with patternProperties on this server")
            for path in where["unevaluatedProperties"]
        ]
    return problems


def schema_problems(schema: Mapping[str, Any]) -> list[Problem]:
    """Everything that keeps `schema` from being a usable JSON Schema: an unknown `$schema`, what its
    meta-schema refuses, a reference out of the document or to nowhere in it, a pattern RE2 cannot run."""
    dialect = _dialect(schema)
    if dialect is None:
        unknown = "names no JSON Schema dialect this server knows (Draft 4 to 2020-12)"
        return [(json_path(["$schema"]), unknown)]
    meta = dialect.META_SCHEMA
    checker = validator_for(meta, default=dialect)(meta)
    problems = [(json_path(e.absolute_path), _short(e.message)) for e in checker.iter_errors(schema)]
    if problems:
        return problems
    problems = _regex_problems(schema)
    resolver = None
    for path, keyword, reference, root_scope in _keywords(schema, (), True):
        if keyword not in _REFERENCES or not isinstance(reference, str):
            continue
        if not reference.startswith("#"):
            problems.append((json_path(path), f"{keyword} must be local (start with '#'): {reference!r}"))
        elif root_scope:
            if resolver is None:
                specification = specification_with(meta.get("$id") or meta["$schema"])
                resource = specification.create_resource(schema)
                resolver = Registry().with_resource(_BASE, resource).resolver(_BASE)
            try:
                resolver.lookup(reference)
            except Unresolvable:
                problems.append((json_path(path), f"{reference!r} resolves to nothing in this schema"))
    return problems


def instance_problems(schema: Mapping[str, Any], instance: Any, limit: int) -> list[Problem]:
    """Up to `limit` ways `instance` breaks `schema` (which passed schema_problems), by path (the order of
    a schema's keywords is not kept by its storage); a missing required property is reported at its own
    path. Raises UnusableSchema."""
    validator = linear(_dialect(schema) or DEFAULT_DIALECT)(schema)
    problems: list[Problem] = []
    try:
        for error in islice(validator.iter_errors(instance), limit):
            problems.extend(_problems_of(error))
    except Unresolvable as error:
        raise UnusableSchema(str(error)) from None
    return sorted(problems[:limit])


def _problems_of(error: ValidationError) -> list[Problem]:
    path = list(error.absolute_path)
    if error.validator == "required" and isinstance(error.instance, dict):
        # The library says "'name' is a required property" at the object; the field at fault is the name.
        missing = [name for name in error.validator_value if name not in error.instance]
        named = [name for name in missing if error.message.startswith(f"{name!r} ")]
        if named:
            return [(json_path([*path, named[0]]), "is required")]
    return [(json_path(path), _short(error.message))]
