"""The `.proto` comments of messages, fields, enums and enum values, by full name, read from a descriptor set
that protoc wrote with `--include_source_info`.

The descriptors compiled into `jangar.v1` carry no comments (protoc drops source info from them), so the
generators of `deploy/` read a descriptor set that `tests/tools/gen.sh` writes next to them.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path
from types import MappingProxyType

from google.protobuf import descriptor_pb2

# Field numbers in descriptor.proto, which is what the paths of SourceCodeInfo.Location are made of.
_FILE_MESSAGE = 4
_FILE_ENUM = 5
_MESSAGE_FIELD = 2
_MESSAGE_NESTED = 3
_MESSAGE_ENUM = 4
_ENUM_VALUE = 2


def normalize(comment: str) -> str:
    """A comment as one line per paragraph: protoc keeps the source's line breaks and leading spaces, which
    are layout, not content (`kubectl explain` wraps descriptions itself)."""
    paragraphs: list[list[str]] = [[]]
    for line in comment.splitlines():
        text = line.strip()
        if text:
            paragraphs[-1].append(text)
        elif paragraphs[-1]:
            paragraphs.append([])
    return "\n\n".join(" ".join(p) for p in paragraphs if p)


class Comments:
    """Leading (or else trailing) comments by full proto name: `jangar.v1.AgentRun`,
    `jangar.v1.AgentRun.spec`, `jangar.v1.RunPhase.Pending`."""

    def __init__(self, by_name: Mapping[str, str]) -> None:
        self._by_name = MappingProxyType(dict(by_name))

    @classmethod
    def from_descriptor_set(cls, path: Path) -> Comments:
        files = descriptor_pb2.FileDescriptorSet.FromString(path.read_bytes()).file
        return cls.from_files(files)

    @classmethod
    def from_files(cls, files: Iterable[descriptor_pb2.FileDescriptorProto]) -> Comments:
        by_name: dict[str, str] = {}
        for file in files:
            by_path = {
                tuple(location.path): location.leading_comments or location.trailing_comments
                for location in file.source_code_info.location
            }
            names = _names_by_path(file)
            for path, name in names.items():
                text = normalize(by_path.get(path, ""))
                if text:
                    by_name[name] = text
        return cls(by_name)

    def __getitem__(self, full_name: str) -> str:
        """The comment, or '' for an element without one."""
        return self._by_name.get(full_name, "")

    def __len__(self) -> int:
        return len(self._by_name)


def _names_by_path(file: descriptor_pb2.FileDescriptorProto) -> dict[tuple[int, ...], str]:
    names: dict[tuple[int, ...], str] = {}
    prefix = f"{file.package}." if file.package else ""
    for index, message in enumerate(file.message_type):
        _message_names(message, (_FILE_MESSAGE, index), prefix, names)
    for index, enum in enumerate(file.enum_type):
        _enum_names(enum, (_FILE_ENUM, index), prefix, names)
    return names


def _message_names(
    message: descriptor_pb2.DescriptorProto,
    path: tuple[int, ...],
    prefix: str,
    names: dict[tuple[int, ...], str],
) -> None:
    full_name = f"{prefix}{message.name}"
    names[path] = full_name
    for index, field in enumerate(message.field):
        names[(*path, _MESSAGE_FIELD, index)] = f"{full_name}.{field.name}"
    for index, nested in enumerate(message.nested_type):
        _message_names(nested, (*path, _MESSAGE_NESTED, index), f"{full_name}.", names)
    for index, enum in enumerate(message.enum_type):
        _enum_names(enum, (*path, _MESSAGE_ENUM, index), f"{full_name}.", names)


def _enum_names(
    enum: descriptor_pb2.EnumDescriptorProto,
    path: tuple[int, ...],
    prefix: str,
    names: dict[tuple[int, ...], str],
) -> None:
    full_name = f"{prefix}{enum.name}"
    names[path] = full_name
    for index, value in enumerate(enum.value):
        names[(*path, _ENUM_VALUE, index)] = f"{full_name}.{value.name}"
