"""labelSelector and fieldSelector as the API server applies them to list and watch.

Label selectors reuse the project's own parser (jangar.server.core.selectors): it is a port of
k8s.io/apimachinery's labels package with its own tests, and it is stricter than Kubernetes where it
differs, never looser, so sharing it can make a test fail wrongly but never pass wrongly. A second copy
here would only be a worse one."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from jangar.server.core.selectors import SelectorSyntaxError, parse_selector

from .errors import ApiError, bad_request
from .kinds import JOBS, ResourceType


def _field_value(resource_type: ResourceType, obj: Mapping[str, Any], label: str) -> str:
    if resource_type is JOBS and label == "status.successful":
        return str((obj.get("status") or {}).get("succeeded", 0))
    value: Any = obj
    for part in label.split("."):
        value = value.get(part) if isinstance(value, Mapping) else None
    return "" if value is None else str(value)


def _split_unescaped(text: str, separator: str) -> list[str]:
    parts, current, escaped = [], [], False
    for char in text:
        if escaped:
            current.append("\\" + char)
            escaped = False
        elif char == "\\":
            escaped = True
        elif char == separator:
            parts.append("".join(current))
            current = []
        else:
            current.append(char)
    parts.append("".join(current))
    return parts


def _unescape(text: str) -> str:
    out, escaped = [], False
    for char in text:
        if escaped:
            if char not in "\\,=":
                raise bad_request(f"invalid field selector: invalid escape sequence: \\{char}")
            out.append(char)
            escaped = False
        elif char == "\\":
            escaped = True
        else:
            out.append(char)
    return "".join(out)


def _split_term(selector: str, term: str) -> tuple[str, bool, str]:
    """(field, whether the operator is an equality, value) of one `f=v`, `f==v` or `f!=v` term."""
    index = 0
    while index < len(term):
        char = term[index]
        if char == "\\":
            index += 2
            continue
        if term.startswith("!=", index):
            return term[:index].strip(), False, _unescape(term[index + 2 :])
        if term.startswith("==", index):
            return term[:index].strip(), True, _unescape(term[index + 2 :])
        if char == "=":
            return term[:index].strip(), True, _unescape(term[index + 1 :])
        index += 1
    raise bad_request(f"invalid selector: '{selector}'; can't understand '{term}'")


@dataclass(frozen=True)
class FieldRequirement:
    field: str
    value: str
    equal: bool


@dataclass(frozen=True)
class Selection:
    """The label and field selectors of one list or watch request."""

    resource_type: ResourceType
    labels: Any = None
    fields: tuple[FieldRequirement, ...] = ()

    @classmethod
    def parse(cls, resource_type: ResourceType, label_selector: str, field_selector: str) -> Selection:
        labels = None
        if label_selector:
            try:
                labels = parse_selector(label_selector)
            except SelectorSyntaxError as error:
                raise bad_request(f"unable to parse requirement: {error}") from None
        fields: list[FieldRequirement] = []
        allowed = {"metadata.name", "metadata.namespace", *resource_type.extra_field_labels}
        for term in _split_unescaped(field_selector, ",") if field_selector else []:
            name, equal, value = _split_term(field_selector, term)
            if name not in allowed:
                raise ApiError(400, f"field label not supported: {name}")
            fields.append(FieldRequirement(name, value, equal))
        return cls(resource_type, labels, tuple(fields))

    def matches(self, obj: Mapping[str, Any]) -> bool:
        if self.labels is not None and not self.labels.matches(
            (obj.get("metadata") or {}).get("labels") or {}
        ):
            return False
        return all(
            (_field_value(self.resource_type, obj, r.field) == r.value) == r.equal for r in self.fields
        )

    @property
    def filters(self) -> bool:
        return self.labels is not None or bool(self.fields)
