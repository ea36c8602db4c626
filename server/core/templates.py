"""The `{{path}}` templates of AgentProviders and Tools: one small renderer with no code execution.

A placeholder is `{{ root.field.field }}`: a root name, then fields by their JSON (lowerCamelCase) or proto
names, then map or Struct keys. Roots are messages (a run, its agent, provider or tool) or string maps
(`parameters`). On a resource, a name that is not an envelope field is looked up in its `spec`, so
`{{agent.config.model}}` reads `Agent.spec.config.model` and `{{run.goal.objective}}` reads
`AgentRun.spec.goal.objective`.

Paths are checked against the schema, not against what happens to be set: a field the resource leaves unset
renders as its default (`""`, `0`, `false`), while a path the schema does not have is an error, and so is a
map or Struct key that is absent, a list, or a message where a value belongs. Nothing renders to a silent
empty string by mistake. There is no escape: `{{` always opens a placeholder.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass

from google.protobuf.descriptor import FieldDescriptor
from google.protobuf.message import Message

_PLACEHOLDER = re.compile(r"\{\{(.*?)\}\}")
_PATH = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z0-9_.\-/]+)?")
_ENVELOPE = ("id", "name", "namespace", "labels", "annotations")


class TemplateError(ValueError):
    """A template that cannot be rendered; the message says which placeholder and why."""


@dataclass(frozen=True)
class Root:
    """A root of the template context: a message (resource-aware) or a string map."""

    value: Message | Mapping[str, str]


def placeholders(template: str) -> list[str]:
    """The paths a template names; TemplateError when it is not well formed."""
    paths = []
    for match in _PLACEHOLDER.finditer(template):
        path = match.group(1).strip()
        if not _PATH.fullmatch(path) or ".." in path or path.endswith("."):
            raise TemplateError(f"{match.group(0)!r} is not a placeholder: write {{{{root.field}}}}")
        paths.append(path)
    rest = _PLACEHOLDER.sub("", template)
    if "{{" in rest or "}}" in rest:
        raise TemplateError("has an unbalanced '{{' or '}}'")
    return paths


def render(template: str, context: Mapping[str, Root]) -> str:
    """The template with every placeholder replaced; TemplateError for the first that cannot be."""
    placeholders(template)
    return _PLACEHOLDER.sub(lambda m: _lookup(m.group(1).strip(), context), template)


def _lookup(path: str, context: Mapping[str, Root]) -> str:
    root_name, *names = path.split(".")
    if root_name not in context:
        raise TemplateError(f"{{{{{path}}}}}: no root {root_name!r}; use one of {', '.join(sorted(context))}")
    root = context[root_name]
    value: object = root.value
    for index, name in enumerate(names):
        here = ".".join([root_name, *names[: index + 1]])
        value = _step(value, name, here, resource=index == 0)
    return _scalar(value, path)


def _step(value: object, name: str, here: str, *, resource: bool) -> object:
    if isinstance(value, Message):
        full_name = value.DESCRIPTOR.full_name
        if full_name == "google.protobuf.Struct":
            return _key(dict(value.fields), name, here)  # type: ignore[attr-defined]
        if full_name == "google.protobuf.Value":
            return _step(_value_of(value), name, here, resource=False)
        field = _field(value, name)
        if field is None and resource and name not in _ENVELOPE and "spec" in value.DESCRIPTOR.fields_by_name:
            value = value.spec  # type: ignore[attr-defined]
            field = _field(value, name)
        if field is None:
            raise TemplateError(f"{{{{{here}}}}} names no field")
        if field.is_repeated and not _is_map(field):
            raise TemplateError(f"{{{{{here}}}}} is a list; name a single value")
        if field.enum_type is not None:
            return field.enum_type.values_by_number[getattr(value, field.name)].name
        return getattr(value, field.name)
    if isinstance(value, Mapping):
        return _key(value, name, here)
    raise TemplateError(f"{{{{{here}}}}}: {here.rsplit('.', 1)[0]} is a value and has no fields")


def _key(entries: Mapping[str, object], name: str, here: str) -> object:
    if name in entries:
        return entries[name]
    raise TemplateError(f"{{{{{here}}}}}: no key {name!r}")


def _field(message: Message, name: str) -> FieldDescriptor | None:
    descriptor = message.DESCRIPTOR
    for field in descriptor.fields:
        if name in (field.json_name, field.name):
            return field
    return None


def _is_map(field: FieldDescriptor) -> bool:
    return field.message_type is not None and field.message_type.GetOptions().map_entry


def _value_of(value: Message) -> object:
    kind = value.WhichOneof("kind")
    if kind is None or kind == "null_value":
        return None
    return getattr(value, kind)


def _scalar(value: object, path: str) -> str:
    if isinstance(value, Message) and value.DESCRIPTOR.full_name == "google.protobuf.Value":
        value = _value_of(value)
    if isinstance(value, Message):
        if value.DESCRIPTOR.full_name == "google.protobuf.Timestamp":
            return value.ToJsonString()  # type: ignore[attr-defined]
        raise TemplateError(f"{{{{{path}}}}} is an object; name one of its fields")
    if isinstance(value, Mapping):
        raise TemplateError(f"{{{{{path}}}}} is a map; name one of its keys")
    if isinstance(value, list | tuple) or not isinstance(value, str | int | float | bool | None):
        raise TemplateError(f"{{{{{path}}}}} is not a single value")
    if value is None:
        raise TemplateError(f"{{{{{path}}}}} is null")
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, int | float):
        return json.dumps(value)
    return str(value)
