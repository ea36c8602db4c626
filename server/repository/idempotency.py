"""Storage of idempotency keys: the claim is an INSERT ... ON CONFLICT in the request's own transaction."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import bindparam, delete, func, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.exc import DBAPIError

from jangar.server.core.errors import LockNotAvailable
from jangar.server.repository.database import LOCK_NOT_AVAILABLE, Tx, sqlstate
from jangar.server.repository.tables import idempotency_keys
from jangar.server.repository.writes import NewRow

_c = idempotency_keys.c
# Built once: these run on every POST.
_CLAIM = (
    insert(idempotency_keys).on_conflict_do_nothing(index_elements=["principal", "key"]).returning(_c.key)
)
_LOAD = select(_c.method, _c.fingerprint, _c.response).where(
    _c.principal == bindparam("p_principal"), _c.key == bindparam("p_key")
)
_COMPLETE = (
    update(idempotency_keys)
    .where(_c.principal == bindparam("p_principal"), _c.key == bindparam("p_key"))
    .values(response=bindparam("p_response"), resource_id=bindparam("p_resource_id"))
)


@dataclass(frozen=True)
class StoredKey:
    method: str
    fingerprint: bytes
    response: bytes | None


async def claim(db: Tx, principal: str, key: str, method: str, fingerprint: bytes) -> bool:
    """True when this transaction now owns the key. A concurrent owner makes this wait on the unique index
    until it commits (then False) or rolls back (then True), or raises LockNotAvailable after lock_timeout."""
    values = {"principal": principal, "key": key, "method": method, "fingerprint": fingerprint}
    try:
        return (await db.execute(_CLAIM, values)).first() is not None
    except DBAPIError as error:
        if sqlstate(error) == LOCK_NOT_AVAILABLE:
            # The owner is still working on it; the caller says IN_USE rather than UNAVAILABLE.
            raise LockNotAvailable(f"idempotency key {key!r} is held by a request in flight") from error
        raise


def completed_row(
    principal: str, key: str, method: str, fingerprint: bytes, response: bytes, resource_id: uuid.UUID | None
) -> NewRow:
    """A key claimed and completed at once, for writes.insert_all: its insert fails (WriteConflict) when
    the key is taken, or waits for a transaction in flight that holds it."""
    values = {
        "principal": principal,
        "key": key,
        "method": method,
        "fingerprint": fingerprint,
        "response": response,
        "resource_id": resource_id,
    }
    return NewRow(idempotency_keys, values)


async def load(db: Tx, principal: str, key: str) -> StoredKey | None:
    row = (await db.execute(_LOAD, {"p_principal": principal, "p_key": key})).first()
    return None if row is None else StoredKey(row.method, row.fingerprint, row.response)


async def complete(db: Tx, principal: str, key: str, response: bytes, resource_id: uuid.UUID | None) -> None:
    await db.execute(
        _COMPLETE,
        {"p_principal": principal, "p_key": key, "p_response": response, "p_resource_id": resource_id},
    )


async def purge_older_than(db: Tx, retention: timedelta) -> int:
    result = await db.execute(
        delete(idempotency_keys).where(idempotency_keys.c.created_at < func.now() - retention)
    )
    return result.rowcount or 0
