"""SQL for every stored kind, driven by its ResourceTable: insert, find, keyset list, update, delete."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Row, and_, delete, func, or_, select, tuple_, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.elements import ColumnElement

from jangar.server.domain.pagination import Cursor, Page
from jangar.server.repository.records import ResourceTable


@dataclass(frozen=True)
class Ref:
    """A resource addressed by UUID, or by name within a namespace."""

    id: uuid.UUID | None = None
    namespace: str = ""
    name: str = ""


def _ref_clause(resource: ResourceTable, ref: Ref) -> ColumnElement[bool]:
    table = resource.table
    if ref.id is not None:
        return table.c.id == ref.id
    return and_(table.c.namespace == ref.namespace, resource.name == ref.name)


async def insert_row(session: AsyncSession, resource: ResourceTable, values: dict[str, Any]) -> Row | None:
    """Inserts a row; None when a unique index (name, delivery id) already holds the values.

    ON CONFLICT DO NOTHING makes a concurrent twin wait for the first insert's transaction and then yield,
    instead of failing the whole transaction."""
    statement = insert(resource.table).values(**values).on_conflict_do_nothing().returning(*resource.table.c)
    return (await session.execute(statement)).first()


async def find_row(
    session: AsyncSession, resource: ResourceTable, ref: Ref, *, for_update: bool = False
) -> Row | None:
    statement = select(resource.table).where(_ref_clause(resource, ref))
    if for_update:
        statement = statement.with_for_update()
    return (await session.execute(statement)).first()


async def find_id(
    session: AsyncSession, resource: ResourceTable, column: str, value: Any
) -> uuid.UUID | None:
    table = resource.table
    return await session.scalar(select(table.c.id).where(table.c[column] == value).limit(1))


async def list_rows(
    session: AsyncSession,
    resource: ResourceTable,
    filters: Sequence[ColumnElement[bool]],
    page: Page,
) -> tuple[list[Row], bool]:
    """One page, newest first with id as tie-breaker; returns the rows and whether more follow."""
    table = resource.table
    conditions = list(filters)
    if page.after is not None:
        conditions.append(
            tuple_(table.c.created_at, table.c.id) < tuple_(page.after.create_time, page.after.id)
        )
    statement = (
        select(table)
        .where(and_(*conditions))
        .order_by(table.c.created_at.desc(), table.c.id.desc())
        .limit(page.size + 1)
    )
    rows = list((await session.execute(statement)).all())
    return rows[: page.size], len(rows) > page.size


def cursor_of(row: Row) -> Cursor:
    return Cursor(row.created_at, row.id)


async def update_row(
    session: AsyncSession, resource: ResourceTable, row_id: uuid.UUID, values: dict[str, Any]
) -> Row:
    table = resource.table
    statement = (
        update(table)
        .where(table.c.id == row_id)
        .values(**values, resource_version=table.c.resource_version + 1, updated_at=func.now())
        .returning(*table.c)
    )
    return (await session.execute(statement)).one()


async def delete_row(session: AsyncSession, resource: ResourceTable, row_id: uuid.UUID) -> None:
    await session.execute(delete(resource.table).where(resource.table.c.id == row_id))


def any_of(column: Any, values: Sequence[Any]) -> ColumnElement[bool]:
    return column.in_(values) if len(values) != 1 else column == values[0]


def either(*clauses: ColumnElement[bool]) -> ColumnElement[bool]:
    return or_(*clauses)
