"""SQL for every stored kind, driven by its ResourceTable: insert, find, keyset list, update, delete."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any

from sqlalchemy import Executable, Row, Table, and_, bindparam, delete, func, or_, select, tuple_, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.sql.elements import ColumnElement

from jangar.server.domain.pagination import Cursor, Page
from jangar.server.repository.records import ResourceTable


@dataclass(frozen=True)
class Ref:
    """A resource addressed by UUID, or by name within a namespace."""

    id: uuid.UUID | None = None
    namespace: str = ""
    name: str = ""


# The statements on the request path are built once per kind with bind parameters: building and
# cache-keying a fresh statement on every call cost more server CPU than the database round trip itself.


@cache
def _insert_statement(resource: ResourceTable) -> Executable:
    table = resource.table
    return (
        insert(table)
        .on_conflict_do_nothing()
        .returning(table.c.id, table.c.created_at, table.c.updated_at, table.c.resource_version)
    )


def ref_conditions(table: Table, name_column: str, *, by_id: bool) -> list[ColumnElement[bool]]:
    """The WHERE terms that select a Ref, with the bind parameters `ref_params` fills."""
    if by_id:
        return [table.c.id == bindparam("ref_id")]
    return [table.c.namespace == bindparam("ref_namespace"), table.c[name_column] == bindparam("ref_name")]


@cache
def _find_statement(resource: ResourceTable, by_id: bool, for_update: bool) -> Executable:
    statement = select(resource.table).where(
        *ref_conditions(resource.table, resource.name_column, by_id=by_id)
    )
    return statement.with_for_update() if for_update else statement


def ref_params(ref: Ref) -> dict[str, Any]:
    if ref.id is not None:
        return {"ref_id": ref.id}
    return {"ref_namespace": ref.namespace, "ref_name": ref.name}


async def insert_row(db: AsyncConnection, resource: ResourceTable, values: dict[str, Any]) -> Row | None:
    """Inserts a row and returns what the database assigned (id, created_at, updated_at, resource_version);
    None when a unique index (name, delivery id) already holds the values.

    ON CONFLICT DO NOTHING makes a concurrent twin wait for the first insert's transaction and then yield,
    instead of failing the whole transaction."""
    return (await db.execute(_insert_statement(resource), values)).first()


async def find_row(
    db: AsyncConnection, resource: ResourceTable, ref: Ref, *, for_update: bool = False
) -> Row | None:
    statement = _find_statement(resource, ref.id is not None, for_update)
    return (await db.execute(statement, ref_params(ref))).first()


async def find_id(db: AsyncConnection, resource: ResourceTable, column: str, value: Any) -> uuid.UUID | None:
    table = resource.table
    return await db.scalar(select(table.c.id).where(table.c[column] == value).limit(1))


async def list_rows(
    db: AsyncConnection,
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
    rows = list((await db.execute(statement)).all())
    return rows[: page.size], len(rows) > page.size


def cursor_of(row: Row) -> Cursor:
    return Cursor(row.created_at, row.id)


async def update_row(
    db: AsyncConnection, resource: ResourceTable, row_id: uuid.UUID, values: dict[str, Any]
) -> Row:
    table = resource.table
    statement = (
        update(table)
        .where(table.c.id == row_id)
        .values(**values, resource_version=table.c.resource_version + 1, updated_at=func.now())
        .returning(*table.c)
    )
    return (await db.execute(statement)).one()


async def delete_row(db: AsyncConnection, resource: ResourceTable, row_id: uuid.UUID) -> None:
    await db.execute(delete(resource.table).where(resource.table.c.id == row_id))


def any_of(column: Any, values: Sequence[Any]) -> ColumnElement[bool]:
    return column.in_(values) if len(values) != 1 else column == values[0]


def either(*clauses: ColumnElement[bool]) -> ColumnElement[bool]:
    return or_(*clauses)
