"""The unit of work: one session and one transaction per request, and the idempotent-POST wrapper that runs
a request's work inside the same transaction as its key claim."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

from google.protobuf.message import Message
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession, async_sessionmaker

from jangar.server.domain import idempotency
from jangar.server.domain.context import RequestContext
from jangar.server.domain.idempotency import Outcome
from jangar.server.repository import idempotency as keys

LOCK_NOT_AVAILABLE = "55P03"

# The work of an idempotent request: returns the response and the id of the resource it created or changed.
Work = Callable[[AsyncConnection], Awaitable[tuple[Message, uuid.UUID | None]]]


def sqlstate(error: DBAPIError) -> str | None:
    return getattr(error.orig, "sqlstate", None) or getattr(error.orig, "pgcode", None)


class Store:
    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self._sessions = sessions

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[AsyncConnection]:
        """One session and one transaction per request. Statements run on the session's connection: they are
        Core statements, and the ORM's execute path around them would only add per-call overhead."""
        async with self._sessions() as session, session.begin():
            yield await session.connection()

    async def idempotent(self, context: RequestContext, method: str, request: Message, work: Work) -> Outcome:
        """Runs `work` once per (caller, key). The request must already be normalized: its fingerprint is
        what tells a retry from a different request."""
        key = idempotency.require_key(context)
        fingerprint = idempotency.fingerprint(method, request)
        async with self.transaction() as db:
            try:
                claimed = await keys.claim(db, context.principal, key, method, fingerprint)
            except DBAPIError as error:
                if sqlstate(error) == LOCK_NOT_AVAILABLE:
                    raise idempotency.key_in_use(key) from None
                raise
            if not claimed:
                stored = await keys.load(db, context.principal, key)
                if stored is None or stored.response is None:
                    raise idempotency.key_in_use(key)
                if stored.fingerprint != fingerprint:
                    raise idempotency.key_reused(key, stored.method, method)
                return Outcome(stored.response, replayed=True)
            response, resource_id = await work(db)
            data = response.SerializeToString(deterministic=True)
            await keys.complete(db, context.principal, key, data, resource_id)
            return Outcome(data, replayed=False)
