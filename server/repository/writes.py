"""Rows written together in one statement: the inserts of a create (its idempotency record, its row, its
history, audit and outbox rows) go to Postgres as data-modifying CTEs of one statement, on the raw asyncpg
connection under SQLAlchemy, so a create costs one round trip. The statement is atomic on its own: any
unique index that refuses a row refuses them all, and the caller learns it as a WriteConflict."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any

import asyncpg
from sqlalchemy import Table
from sqlalchemy.types import JSON

from jangar.server.core.errors import WriteConflict
from jangar.server.repository.database import Tx, json_text


@dataclass(frozen=True)
class NewRow:
    """One row to insert: the table and its column values (the rest take the columns' defaults)."""

    table: Table
    values: dict[str, Any]


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


@cache
def _statement(groups: tuple[tuple[Table, tuple[str, ...], int], ...]) -> tuple[str, tuple[bool, ...]]:
    """The SQL text of inserting rows of these shapes, and which parameters are JSON. asyncpg prepares a
    text once per connection (its statement cache), so each shape is planned once."""
    parts: list[str] = []
    is_json: list[bool] = []
    for table, columns, count in groups:
        tuples = []
        for _ in range(count):
            tuples.append("(" + ", ".join(f"${len(is_json) + i + 1}" for i in range(len(columns))) + ")")
            is_json += [isinstance(table.c[name].type, JSON) for name in columns]
        parts.append(f"INSERT INTO {table.name} ({', '.join(columns)}) VALUES {', '.join(tuples)}")
    if len(parts) == 1:
        return parts[0], tuple(is_json)
    ctes = ", ".join(f"w{i} AS ({part})" for i, part in enumerate(parts))
    return f"WITH {ctes} SELECT 1", tuple(is_json)


async def insert_all(db: Tx, rows: Sequence[NewRow]) -> None:
    """Inserts `rows` in one statement, in the caller's transaction (or on its own, on a connection from
    Database.connection()). Raises WriteConflict when a unique index already holds one of the rows (or a
    concurrent transaction just committed one), with nothing written. Other driver errors are translated
    where the connection was taken (Database.transaction, Database.connection)."""
    if not rows:
        return
    sql, is_json = _statement(_groups(rows))
    values = [value for row in rows for value in row.values.values()]
    params = [json_text(v) if j else v for v, j in zip(values, is_json, strict=True)]
    raw = await db.get_raw_connection()
    connection: asyncpg.Connection = raw.driver_connection  # type: ignore[assignment]
    try:
        await connection.execute(sql, *params)
    except asyncpg.UniqueViolationError as error:
        raise WriteConflict(error.constraint_name or "") from error
