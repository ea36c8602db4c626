"""Storage of idempotency keys: the claim is an INSERT ... ON CONFLICT in the request's own transaction."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import delete, func, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from jangar.server.repository.tables import idempotency_keys


@dataclass(frozen=True)
class StoredKey:
    method: str
    fingerprint: bytes
    response: bytes | None


async def claim(session: AsyncSession, principal: str, key: str, method: str, fingerprint: bytes) -> bool:
    """True when this transaction now owns the key. A concurrent owner makes this wait on the unique index
    until it commits (then False) or rolls back (then True)."""
    statement = (
        insert(idempotency_keys)
        .values(principal=principal, key=key, method=method, fingerprint=fingerprint)
        .on_conflict_do_nothing(index_elements=["principal", "key"])
        .returning(idempotency_keys.c.key)
    )
    return (await session.execute(statement)).first() is not None


async def load(session: AsyncSession, principal: str, key: str) -> StoredKey | None:
    c = idempotency_keys.c
    row = (
        await session.execute(
            select(c.method, c.fingerprint, c.response).where(c.principal == principal, c.key == key)
        )
    ).first()
    return None if row is None else StoredKey(row.method, row.fingerprint, row.response)


async def complete(
    session: AsyncSession, principal: str, key: str, response: bytes, resource_id: uuid.UUID | None
) -> None:
    c = idempotency_keys.c
    await session.execute(
        update(idempotency_keys)
        .where(c.principal == principal, c.key == key)
        .values(response=response, resource_id=resource_id)
    )


async def purge_older_than(session: AsyncSession, retention: timedelta) -> int:
    result = await session.execute(
        delete(idempotency_keys).where(idempotency_keys.c.created_at < func.now() - retention)
    )
    return result.rowcount or 0
