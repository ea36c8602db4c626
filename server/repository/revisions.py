"""SQL for definition revisions: the spec a definition had at each generation, written with the change and
read newest first."""

from __future__ import annotations

import uuid
from typing import Any

from google.protobuf.struct_pb2 import Struct
from sqlalchemy import delete, insert, select

from jangar.server.core.timestamps import set_timestamp
from jangar.server.repository.database import Tx
from jangar.server.repository.tables import definition_revisions
from jangar.v1 import revision_pb2

_INSERT = insert(definition_revisions)
_COLUMNS = definition_revisions.c


async def record(
    db: Tx,
    *,
    kind: str,
    resource_id: uuid.UUID,
    number: int,
    spec: dict[str, Any],
    actor: str,
    audit_event_id: uuid.UUID,
) -> None:
    await db.execute(
        _INSERT,
        {
            "kind": kind,
            "resource_id": resource_id,
            "number": number,
            "spec": spec,
            "actor": actor,
            "audit_event_id": audit_event_id,
        },
    )


async def page(
    db: Tx, resource_id: uuid.UUID, before: int | None, size: int
) -> tuple[list[revision_pb2.Revision], int | None]:
    """Up to `size` revisions numbered below `before` (all when None), newest first, and the last number
    when more follow."""
    statement = select(definition_revisions).where(_COLUMNS.resource_id == resource_id)
    if before is not None:
        statement = statement.where(_COLUMNS.number < before)
    statement = statement.order_by(_COLUMNS.number.desc()).limit(size + 1)
    rows = (await db.execute(statement)).all()
    revisions = [_revision(row) for row in rows[:size]]
    return revisions, (revisions[-1].number if len(rows) > size else None)


async def specs(db: Tx, resource_id: uuid.UUID, numbers: tuple[int, ...]) -> dict[int, dict[str, Any]]:
    """The specs of the revisions numbered `numbers` that exist, by number."""
    statement = select(_COLUMNS.number, _COLUMNS.spec).where(
        _COLUMNS.resource_id == resource_id, _COLUMNS.number.in_(numbers)
    )
    return {row.number: row.spec for row in (await db.execute(statement)).all()}


async def delete_all(db: Tx, resource_id: uuid.UUID) -> None:
    await db.execute(delete(definition_revisions).where(_COLUMNS.resource_id == resource_id))


def _revision(row: Any) -> revision_pb2.Revision:
    revision = revision_pb2.Revision(
        number=row.number, actor=row.actor, audit_event_id=str(row.audit_event_id or ""), spec=Struct()
    )
    revision.spec.update(row.spec)
    set_timestamp(revision.create_time, row.created_at)
    return revision
