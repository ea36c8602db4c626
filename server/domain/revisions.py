"""Revision history of the definition kinds whose service serves it (Kind.keeps_revisions): every create,
and every update that changes the spec, records the spec it leaves behind as revision N (N = the new
generation) in the change's own transaction; the history can be listed, newest first, and two revisions
compared field by field."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from typing import Any

from google.protobuf import json_format
from google.protobuf.struct_pb2 import Value

from jangar.server.core.errors import Code, DomainError, FieldViolation, invalid_argument
from jangar.server.core.kinds import Kind
from jangar.server.core.pages import PageTokens, query_hash
from jangar.server.domain import common
from jangar.server.repository import revisions
from jangar.server.repository.database import Database, Tx
from jangar.server.repository.mapping import STORED
from jangar.v1 import revision_pb2

# A key that reads unambiguously after a dot; any other (`app.kubernetes.io/name`) is quoted in brackets.
_PLAIN_KEY = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_ABSENT = object()


async def record(db: Tx, kind: Kind, resource: Any, actor: str, audit_event_id: uuid.UUID) -> None:
    """Records `resource`'s spec as the revision numbered by its generation."""
    await revisions.record(
        db,
        kind=kind.name,
        resource_id=uuid.UUID(resource.id),
        number=resource.generation,
        spec=json_format.MessageToDict(resource.spec),
        actor=actor,
        audit_event_id=audit_event_id,
    )


async def forget(db: Tx, resource: Any) -> None:
    """A deleted definition's history goes with it; its audit events keep the record of each change."""
    await revisions.delete_all(db, uuid.UUID(resource.id))


def spec_changes(old: Any, new: Any, path: str = "spec") -> Iterator[revision_pb2.RevisionChange]:
    """Every leaf where two JSON values differ: objects key by key (sorted), lists index by index, and any
    other pair of values as a whole."""
    if isinstance(old, dict) and isinstance(new, dict):
        for key in sorted(old.keys() | new.keys()):
            yield from spec_changes(old.get(key, _ABSENT), new.get(key, _ABSENT), _child(path, key))
    elif isinstance(old, list) and isinstance(new, list):
        for index in range(max(len(old), len(new))):
            yield from spec_changes(
                old[index] if index < len(old) else _ABSENT,
                new[index] if index < len(new) else _ABSENT,
                f"{path}[{index}]",
            )
    elif not _same(old, new):
        change = revision_pb2.RevisionChange(path=path)
        if old is not _ABSENT:
            change.old_value.CopyFrom(_value(old))
        if new is not _ABSENT:
            change.new_value.CopyFrom(_value(new))
        yield change


def _same(old: Any, new: Any) -> bool:
    """JSON equality: 1 and 1.0 are one number, but true is not 1 (as Python's == says it is)."""
    if isinstance(old, bool) or isinstance(new, bool):
        return type(old) is type(new) and old == new
    return bool(old == new)


def _child(path: str, key: str) -> str:
    if _PLAIN_KEY.fullmatch(key):
        return f"{path}.{key}"
    escaped = key.replace("\\", "\\\\").replace('"', '\\"')
    return f'{path}["{escaped}"]'


def _value(data: Any) -> Value:
    value = Value()
    json_format.ParseDict(data, value)
    return value


class RevisionUseCases:
    """Reads the revisions of one kind's resources."""

    def __init__(self, database: Database, kind: Kind, page_tokens: PageTokens) -> None:
        self._database = database
        self._kind = kind
        self._stored = STORED[kind.name]
        self._page_tokens = page_tokens

    async def list(
        self, id_or_name: str, namespace: str, page_size: int, page_token: str
    ) -> revision_pb2.ListRevisionsResponse:
        async with self._database.transaction() as db:
            resource = await common.load(db, self._stored, id_or_name, namespace, for_update=False)
            page = self._page_tokens.numbered_page_request(
                page_size, page_token, query_hash(self._kind.name, "revisions", resource.id)
            )
            items, last = await revisions.page(db, uuid.UUID(resource.id), page.after, page.size)
        return revision_pb2.ListRevisionsResponse(
            revisions=items, next_page_token=self._page_tokens.next_numbered_page_token(page, last)
        )

    async def diff(
        self, id_or_name: str, namespace: str, from_number: int, to_number: int
    ) -> revision_pb2.DiffRevisionsResponse:
        violations = [
            FieldViolation(field, "must be a revision number, from 1")
            for field, number in (("from", from_number), ("to", to_number))
            if number < 1
        ]
        if violations:
            raise invalid_argument(violations)
        async with self._database.transaction() as db:
            resource = await common.load(db, self._stored, id_or_name, namespace, for_update=False)
            specs = await revisions.specs(db, uuid.UUID(resource.id), (from_number, to_number))
        missing = sorted({n for n in (from_number, to_number) if n not in specs})
        if missing:
            raise DomainError(
                Code.NOT_FOUND,
                "REVISION_NOT_FOUND",
                f"{self._kind.name} {resource.name!r} has no revision {', '.join(map(str, missing))}; its "
                f"newest is {resource.generation}",
                metadata={"missing": ",".join(map(str, missing)), "latest": str(resource.generation)},
            )
        return revision_pb2.DiffRevisionsResponse(
            changes=spec_changes(specs[from_number], specs[to_number]), to=to_number, **{"from": from_number}
        )
