"""Kubernetes names, label keys and label values, validated as Kubernetes validates them.

Follows k8s.io/apimachinery/pkg/util/validation/validation.go: IsQualifiedName, IsValidLabelValue,
IsDNS1123Label, IsDNS1123Subdomain and IsEnvVarName (the label-key and label-value rules now live in
k8s.io/apimachinery/pkg/api/validate/content/kube.go, which validation.go re-exports). A NUL character is an
ordinary character here, so it fails every rule.

The validators return a list of problems (empty when the value is valid) so that the caller can attach its
own field path.
"""

from __future__ import annotations

import re

__all__ = [
    "c_identifier_problems",
    "dns1123_label_problems",
    "dns1123_subdomain_problems",
    "label_value_problems",
    "qualified_name_problems",
]

_NAME_MAX_LENGTH = 63
_LABEL_VALUE_MAX_LENGTH = 63
_DNS1123_LABEL_MAX_LENGTH = 63
_DNS1123_SUBDOMAIN_MAX_LENGTH = 253

# Patterns are used with fullmatch: Python's `$` also matches before a trailing newline, Go's does not.
_NAME_RE = re.compile(r"([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]")
_DNS1123_LABEL_RE = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?")
_DNS1123_SUBDOMAIN_RE = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*")
_ENV_VAR_NAME_RE = re.compile(r"[-._a-zA-Z][-._a-zA-Z0-9]*")

_EMPTY = "must be non-empty"
_NAME_CHARS = (
    "must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric "
    "character"
)
_LABEL_VALUE_CHARS = (
    "must be empty or consist of alphanumeric characters, '-', '_' or '.', "
    "and must start and end with an alphanumeric character"
)
_DNS1123_LABEL_CHARS = (
    "must consist of lower case alphanumeric characters or '-', and must start and end with an "
    "alphanumeric character"
)
_DNS1123_SUBDOMAIN_CHARS = (
    "must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an "
    "alphanumeric character"
)
_ENV_VAR_NAME_CHARS = (
    "must consist of alphabetic characters, digits, '_', '-' or '.', and must not start with a digit"
)


def _max_length(limit: int) -> str:
    return f"must be no more than {limit} characters"


def qualified_name_problems(key: str) -> list[str]:
    """Kubernetes IsQualifiedName: an optional DNS-1123 subdomain prefix and '/', then a name of at most
    63 characters (the rule for label and annotation keys)."""
    parts = key.split("/")
    if len(parts) > 2:
        return [f"{_NAME_CHARS}, with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')"]
    problems: list[str] = []
    if len(parts) == 2:
        prefix = parts[0]
        if not prefix:
            problems.append(f"prefix part {_EMPTY}")
        else:
            problems.extend(f"prefix part {p}" for p in dns1123_subdomain_problems(prefix))
    name = parts[-1]
    if not name:
        return [*problems, f"name part {_EMPTY}"]
    if len(name) > _NAME_MAX_LENGTH:
        problems.append(f"name part {_max_length(_NAME_MAX_LENGTH)}")
    if not _NAME_RE.fullmatch(name):
        problems.append(f"name part {_NAME_CHARS}")
    return problems


def label_value_problems(value: str) -> list[str]:
    """Kubernetes IsValidLabelValue: empty, or at most 63 characters of the qualified-name alphabet."""
    problems: list[str] = []
    if len(value) > _LABEL_VALUE_MAX_LENGTH:
        problems.append(_max_length(_LABEL_VALUE_MAX_LENGTH))
    if value and not _NAME_RE.fullmatch(value):
        problems.append(_LABEL_VALUE_CHARS)
    return problems


def dns1123_label_problems(value: str) -> list[str]:
    """Kubernetes IsDNS1123Label: at most 63 lower case alphanumerics or '-', alphanumeric at both ends."""
    if not value:
        return [_EMPTY]
    problems: list[str] = []
    if len(value) > _DNS1123_LABEL_MAX_LENGTH:
        problems.append(_max_length(_DNS1123_LABEL_MAX_LENGTH))
    if not _DNS1123_LABEL_RE.fullmatch(value):
        # As Kubernetes does: a valid subdomain that is not a valid label can only be wrong by its dots.
        dots = _DNS1123_SUBDOMAIN_RE.fullmatch(value) is not None
        problems.append("must not contain dots" if dots else _DNS1123_LABEL_CHARS)
    return problems


def dns1123_subdomain_problems(value: str) -> list[str]:
    """Kubernetes IsDNS1123Subdomain: at most 253 characters of dot-separated DNS-1123 labels.

    Like Kubernetes, this does not limit each label to 63 characters; only the whole is limited."""
    if not value:
        return [_EMPTY]
    problems: list[str] = []
    if len(value) > _DNS1123_SUBDOMAIN_MAX_LENGTH:
        problems.append(_max_length(_DNS1123_SUBDOMAIN_MAX_LENGTH))
    if not _DNS1123_SUBDOMAIN_RE.fullmatch(value):
        problems.append(_DNS1123_SUBDOMAIN_CHARS)
    return problems


def c_identifier_problems(value: str) -> list[str]:
    """Kubernetes IsEnvVarName, the rule for container environment variable names."""
    if not value:
        return [_EMPTY]
    problems: list[str] = []
    if not _ENV_VAR_NAME_RE.fullmatch(value):
        problems.append(_ENV_VAR_NAME_CHARS)
    # Kubernetes forbids these because such names can be turned into paths that leave a directory.
    if value == ".":
        problems.append("must not be '.'")
    elif value == "..":
        problems.append("must not be '..'")
    elif value.startswith(".."):
        problems.append("must not start with '..'")
    return problems
