"""The idempotency contract (design.md section 5): every POST carries a key; the first request with a key
runs and its response is stored in the same transaction as its work; a retry with the same request gets the
stored bytes back; a different request with the same key is refused."""

from __future__ import annotations

import hashlib
import re
import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field

from google.protobuf.message import Message

from jangar.server.core.context import RequestContext
from jangar.server.core.errors import Code, DomainError, LockNotAvailable, WriteConflict
from jangar.server.repository import idempotency as keys
from jangar.server.repository import writes
from jangar.server.repository.database import Database, Tx

MAX_KEY_LENGTH = 255
# Visible ASCII without white space or commas: safe in headers, logs and as a deliveryId.
_KEY_PATTERN = re.compile(r"[!-+\--~]+")
RETENTION_HOURS_MINIMUM = 24


@dataclass(frozen=True)
class Outcome:
    """A serialized response and whether it is a replay of a stored one."""

    response: bytes
    replayed: bool


def require_key(context: RequestContext) -> str:
    key = context.idempotency_key
    if key is None:
        raise DomainError(
            Code.INVALID_ARGUMENT,
            "IDEMPOTENCY_KEY_MISSING",
            "this request needs an Idempotency-Key header (gRPC metadata `idempotency-key`)",
        )
    if not key or len(key) > MAX_KEY_LENGTH or not _KEY_PATTERN.fullmatch(key):
        raise DomainError(
            Code.INVALID_ARGUMENT,
            "IDEMPOTENCY_KEY_INVALID",
            f"Idempotency-Key must be 1 to {MAX_KEY_LENGTH} visible ASCII characters, without spaces or "
            "commas",
        )
    return key


def fingerprint(method: str, request: Message) -> bytes:
    """Hash of the method and the canonical request: deterministic serialization of the normalized message,
    so field order in the JSON and explicitly sent default values do not change it."""
    digest = hashlib.sha256(method.encode())
    digest.update(b"\0")
    digest.update(request.SerializeToString(deterministic=True))
    return digest.digest()


def key_reused(key: str, stored_method: str, method: str) -> DomainError:
    where = "another endpoint" if stored_method != method else "a different request body"
    return DomainError(
        Code.INVALID_ARGUMENT,
        "IDEMPOTENCY_KEY_REUSED",
        f"Idempotency-Key {key!r} was already used for {where}; use a new key for a new request",
        metadata={"idempotencyKey": key},
        http_status=422,
    )


def key_in_use(key: str) -> DomainError:
    return DomainError(
        Code.ABORTED,
        "IDEMPOTENCY_KEY_IN_USE",
        f"a request with Idempotency-Key {key!r} is still in progress; retry shortly to get its result",
        metadata={"idempotencyKey": key},
    )


# The work of an idempotent request: returns the response and the id of the resource it created or changed.
Work = Callable[[Tx], Awaitable[tuple[Message, str | None]]]


async def idempotent(
    database: Database, context: RequestContext, method: str, request: Message, work: Work
) -> Outcome:
    """Runs `work` once per (caller, key), in the transaction that claims the key and stores the response.
    The request must already be normalized: its fingerprint is what tells a retry from a different request."""
    require_key(context)
    async with database.transaction() as db:
        return await idempotent_in(db, context, method, request, work)


async def idempotent_in(
    db: Tx, context: RequestContext, method: str, request: Message, work: Work
) -> Outcome:
    """`idempotent` in the caller's transaction (a Schedule firing creates its run with the scheduler's own
    key inside the firing's transaction)."""
    key = require_key(context)
    digest = fingerprint(method, request)
    try:
        claimed = await keys.claim(db, context.principal, key, method, digest)
    except LockNotAvailable:
        raise key_in_use(key) from None
    if not claimed:
        stored = await keys.load(db, context.principal, key)
        if stored is None or stored.response is None:
            raise key_in_use(key)
        if stored.fingerprint != digest:
            raise key_reused(key, stored.method, method)
        return Outcome(stored.response, replayed=True)
    response, resource_id = await work(db)
    data = response.SerializeToString(deterministic=True)
    await keys.complete(db, context.principal, key, data, uuid.UUID(resource_id) if resource_id else None)
    return Outcome(data, replayed=False)


@dataclass(frozen=True)
class Prepared:
    """A create decided and built before anything is written: its response (the created resource, with
    the id and times the server assigned) and the rows that record it."""

    response: Message
    resource_id: str
    rows: Sequence[writes.NewRow]
    # The rows it was decided on, which the write finds unchanged or writes nothing; and what to do when
    # one has changed (forget what was remembered of it) before the create is decided again.
    unchanged: Sequence[writes.Unchanged] = ()
    changed: Callable[[], None] = field(default=lambda: None)


# Reads what a create needs, decides whether it is admitted (raising DomainError when not) and builds its
# rows, writing nothing.
Prepare = Callable[[Tx], Awaitable[Prepared]]


async def idempotent_create(
    database: Database, context: RequestContext, method: str, request: Message, prepare: Prepare, work: Work
) -> Outcome:
    """`idempotent` in one round trip for the common case, a new key: `prepare` runs on an autocommit
    connection, and its rows are written together with the key's completed record (the response included)
    in one statement, which writes all of them or none.

    Anything else falls back to `idempotent` with `work` (the same create, step by step in a transaction
    that claims the key first): a key already used or in flight, a unique name taken, a refusal, a row
    `prepare` decided on changed before the write (Prepared.unchanged). So a
    retry still gets its stored response even when the request would be refused now (its parent since
    deleted), and every conflict is resolved exactly as `idempotent` resolves it."""
    key = require_key(context)
    digest = fingerprint(method, request)
    try:
        async with database.connection() as db:
            prepared = await prepare(db)
            data = prepared.response.SerializeToString(deterministic=True)
            resource = uuid.UUID(prepared.resource_id)
            record = keys.completed_row(context.principal, key, method, digest, data, resource)
            if await writes.insert_all(db, [record, *prepared.rows], prepared.unchanged):
                return Outcome(data, replayed=False)
        prepared.changed()
    except (DomainError, WriteConflict, LockNotAvailable):
        pass  # the rare case: decided step by step
    return await idempotent(database, context, method, request, work)
