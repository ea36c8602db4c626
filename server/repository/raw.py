"""Core statements compiled once and run on the raw asyncpg connection under SQLAlchemy, for the hottest
reads (GetRun), where SQLAlchemy's execution path (compiled-cache lookup, parameter processing, result
wrapping, greenlet switches) costs more server CPU than the query. The connection's JSON codecs are
SQLAlchemy's (set up when it connected), so rows hold the same values SQLAlchemy would give.

For single statements outside any transaction, on Database.driver_connection(): each is its own
transaction. Constants belong in the SQL text (`sql_constant`), not in parameters: every parameter is
encoded by the server and bound by Postgres on every call."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import asyncpg
from sqlalchemy import Executable, String, literal_column
from sqlalchemy.dialects.postgresql import asyncpg as asyncpg_dialect
from sqlalchemy.sql.elements import ColumnElement

_DIALECT = asyncpg_dialect.dialect()


@dataclass(frozen=True)
class Compiled:
    """A statement's SQL text (`$n` parameters) and, by position, the bind each parameter takes: a name the
    caller gives, or the statement's own literal value."""

    sql: str
    names: tuple[str, ...]
    literals: Mapping[str, Any]

    def parameters(self, values: Mapping[str, Any]) -> list[Any]:
        return [values[name] if name in values else self.literals[name] for name in self.names]


def sql_constant(value: str) -> ColumnElement[str]:
    """A text constant written into the statement (a kind's name, a JSON key), where `literal()` would
    make it one more bind parameter of every call."""
    return literal_column("'" + value.replace("'", "''") + "'::text", String)


def compile_statement(statement: Executable) -> Compiled:
    compiled = statement.compile(dialect=_DIALECT)  # type: ignore[attr-defined]
    literals = {name: value for name, value in compiled.params.items() if value is not None}
    return Compiled(compiled.string, tuple(compiled.positiontup or ()), literals)


async def fetch(
    connection: asyncpg.Connection, statement: Compiled, values: Mapping[str, Any]
) -> Sequence[asyncpg.Record]:
    """The statement's rows on a pool's asyncpg connection (Database.driver_connection); each is read by
    column name (`row["name"]`)."""
    return await connection.fetch(statement.sql, *statement.parameters(values))
