"""Core statements compiled once and run on the raw asyncpg connection under SQLAlchemy, for the hottest
reads (GetRun), where SQLAlchemy's execution path (compiled-cache lookup, parameter processing, result
wrapping, greenlet switches) costs more server CPU than the query. The connection's JSON codecs are
SQLAlchemy's (set up when it connected), so rows hold the same values SQLAlchemy would give.

Only for statements in autocommit (Database.connection()), or after another statement in the same
transaction: a transaction's BEGIN is sent by SQLAlchemy with its first statement, not by this module."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import asyncpg
from sqlalchemy import Executable
from sqlalchemy.dialects.postgresql import asyncpg as asyncpg_dialect

from jangar.server.repository.database import Tx

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


def compile_statement(statement: Executable) -> Compiled:
    compiled = statement.compile(dialect=_DIALECT)  # type: ignore[attr-defined]
    literals = {name: value for name, value in compiled.params.items() if value is not None}
    return Compiled(compiled.string, tuple(compiled.positiontup or ()), literals)


async def fetch(db: Tx, statement: Compiled, values: Mapping[str, Any]) -> Sequence[asyncpg.Record]:
    """The statement's rows; each is read by column name (`row["name"]`)."""
    raw = await db.get_raw_connection()
    connection: asyncpg.Connection = raw.driver_connection  # type: ignore[assignment]
    return await connection.fetch(statement.sql, *statement.parameters(values))
