"""Rows written together in one statement: the inserts of a create (its idempotency record, its row, its
history, audit and outbox rows) go to Postgres as data-modifying CTEs of one statement, on the raw asyncpg
connection under SQLAlchemy, so a create costs one round trip. The statement is atomic on its own: any
unique index that refuses a row refuses them all, and the caller learns it as a WriteConflict.

A create decided from rows it read earlier (or remembered) names them as `Unchanged`: the statement writes
only while each is still the version it read, so what it decided on cannot change between the read and the
write."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from typing import Any

import asyncpg
from sqlalchemy import Table
from sqlalchemy.dialects import postgresql
from sqlalchemy.types import JSON

from jangar.server.core.errors import WriteConflict
from jangar.server.repository.database import Tx, json_text


@dataclass(frozen=True)
class NewRow:
    """One row to insert: the table and its column values (the rest take the columns' defaults)."""

    table: Table
    values: dict[str, Any]


@dataclass(frozen=True)
class Unchanged:
    """A row the write depends on, as it was read: a definition row's id, version and update time (the
    time moves with status-only changes, which keep the version)."""

    table: Table
    id: uuid.UUID
    resource_version: int
    updated_at: datetime


def _shape(row: NewRow) -> tuple[Table, tuple[str, ...]]:
    return row.table, tuple(row.values)


def _groups(rows: Sequence[NewRow]) -> tuple[tuple[Table, tuple[str, ...], int], ...]:
    """Consecutive rows of one shape, as (table, columns, how many): each group is one INSERT with a VALUES
    row per row, which inserts them in their order (sibling CTEs run in no defined order, and an outbox
    consumer reads entries by id)."""
    groups: list[tuple[Table, tuple[str, ...], int]] = []
    for row in rows:
        table, columns = _shape(row)
        if groups and groups[-1][:2] == (table, columns):
            groups[-1] = (table, columns, groups[-1][2] + 1)
        else:
            groups.append((table, columns, 1))
    return tuple(groups)


_DIALECT = postgresql.dialect()


def _cast(table: Table, column: str) -> str:
    return table.c[column].type.compile(dialect=_DIALECT)


@cache
def _statement(
    groups: tuple[tuple[Table, tuple[str, ...], int], ...], guarded: tuple[Table, ...] = ()
) -> tuple[str, tuple[bool, ...]]:
    """The SQL text of inserting rows of these shapes, and which parameters are JSON; with `guarded`
    tables, the inserts are conditional on one row of each (id, version, update time: the first
    parameters) being unchanged, and the statement returns whether they were. asyncpg prepares a text once
    per connection (its statement cache), so each shape is planned once."""
    checks = []
    for i, table in enumerate(guarded):
        first = 3 * i + 1
        checks.append(
            f"EXISTS (SELECT 1 FROM {table.name} WHERE id = ${first} AND resource_version = ${first + 1} "
            f"AND updated_at = ${first + 2})"
        )
    parameters = 3 * len(guarded)
    parts: list[str] = []
    is_json: list[bool] = []
    for table, columns, count in groups:
        tuples = []
        for n in range(count):
            numbers = range(parameters + len(is_json) + 1, parameters + len(is_json) + len(columns) + 1)
            if guarded and n == 0:
                # In a VALUES list that is not an INSERT's own, a parameter's type is not the column's.
                tuples.append(
                    "("
                    + ", ".join(f"${p}::{_cast(table, c)}" for p, c in zip(numbers, columns, strict=True))
                    + ")"
                )
            else:
                tuples.append("(" + ", ".join(f"${p}" for p in numbers) + ")")
            is_json += [isinstance(table.c[name].type, JSON) for name in columns]
        values = f"VALUES {', '.join(tuples)}"
        if guarded:
            values = f"SELECT * FROM ({values}) AS v WHERE EXISTS (SELECT 1 FROM g)"
        parts.append(f"INSERT INTO {table.name} ({', '.join(columns)}) {values}")
    ctes = ", ".join(f"w{i} AS ({part})" for i, part in enumerate(parts))
    if guarded:
        guard = f"g AS (SELECT 1 WHERE {' AND '.join(checks)})"
        return f"WITH {guard}, {ctes} SELECT EXISTS (SELECT 1 FROM g)", tuple(is_json)
    if len(parts) == 1:
        return parts[0], tuple(is_json)
    return f"WITH {ctes} SELECT 1", tuple(is_json)


async def insert_all(db: Tx, rows: Sequence[NewRow], unchanged: Sequence[Unchanged] = ()) -> bool:
    """Inserts `rows` in one statement, in the caller's transaction (or on its own, on a connection from
    Database.connection()), while every `unchanged` row is as it was read. False, with nothing written,
    when one of them has changed or gone. Raises WriteConflict when a unique index already holds one of the
    rows (or a concurrent transaction just committed one), with nothing written. Other driver errors are
    translated where the connection was taken (Database.transaction, Database.connection)."""
    if not rows:
        return True
    sql, is_json = _statement(_groups(rows), tuple(u.table for u in unchanged))
    values = [value for row in rows for value in row.values.values()]
    params = [json_text(v) if j else v for v, j in zip(values, is_json, strict=True)]
    guard = [value for u in unchanged for value in (u.id, u.resource_version, u.updated_at)]
    raw = await db.get_raw_connection()
    connection: asyncpg.Connection = raw.driver_connection  # type: ignore[assignment]
    try:
        if not unchanged:
            await connection.execute(sql, *params)
            return True
        return bool(await connection.fetchval(sql, *guard, *params))
    except asyncpg.UniqueViolationError as error:
        raise WriteConflict(error.constraint_name or "") from error
