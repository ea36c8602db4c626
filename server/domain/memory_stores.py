"""Where a Memory's records live, and the transaction to reach them (docs/memory.md). A `postgres` Memory
without a connection keeps them in Jangar's own database, in the request's own transaction; one with
`connection.secretRef` (or `connection.clusterRef`, a CNPG Cluster's `<name>-app` Secret) in an external
Postgres whose connection string is read from the Secret for every use and never kept."""

from __future__ import annotations

import hashlib
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from jangar.server.core.errors import Code, DomainError, ServiceUnavailable
from jangar.server.core.secrets import SecretReader, SecretUnavailable
from jangar.server.domain.definitions import WriteHooks
from jangar.server.domain.embeddings import dimension_of
from jangar.server.repository import memory_store
from jangar.server.repository.database import Tx
from jangar.server.repository.memory_store import ExternalStores
from jangar.v1 import memory_pb2

log = logging.getLogger("jangar.server.memory")

# The key of a CNPG Cluster's application Secret that holds a full connection URI.
CNPG_URI_KEY = "uri"


def is_embedded(spec: memory_pb2.MemorySpec) -> bool:
    connection = spec.connection
    return not connection.secret_ref.name and not connection.cluster_ref.name


def store_unavailable(message: str, reason: str = "MEMORY_STORE_UNAVAILABLE") -> DomainError:
    return DomainError(Code.UNAVAILABLE, reason, message)


def _store_missing(memory: memory_pb2.Memory) -> DomainError:
    return DomainError(
        Code.FAILED_PRECONDITION,
        "MEMORY_STORE_MISSING",
        f"the store of Memory {memory.name!r} does not exist (its schema was dropped); delete the Memory and "
        "create it again",
    )


class MemoryStores(WriteHooks):
    """The stores of Memories, and the write hooks that create and drop them with their Memory."""

    def __init__(self, secrets: SecretReader, external: ExternalStores | None = None) -> None:
        self._secrets = secrets
        self._external = external or ExternalStores()
        # External stores this process has created (or found) the schema of: (hash of the URI, schema).
        self._ensured: set[tuple[str, str]] = set()

    async def connection_string(self, memory: memory_pb2.Memory) -> str:
        connection = memory.spec.connection
        if connection.cluster_ref.name:
            name, key = f"{connection.cluster_ref.name}-app", CNPG_URI_KEY
        else:
            name, key = connection.secret_ref.name, connection.secret_ref.key
        try:
            return await self._secrets.read(memory.namespace, name, key)
        except SecretUnavailable as error:
            raise store_unavailable(str(error), "MEMORY_SECRET_UNAVAILABLE") from None

    @asynccontextmanager
    async def transaction(self, own: Tx, memory: memory_pb2.Memory) -> AsyncIterator[Tx]:
        """The transaction the Memory's records are reached in: `own` (the request's transaction on Jangar's
        database) for an embedded store, else one on the external store, which commits when the block ends,
        before `own` does."""
        if is_embedded(memory.spec):
            try:
                async with memory_store.missing_store_raises():
                    yield own
            except memory_store.StoreMissing:
                raise _store_missing(memory) from None
            return
        dsn = await self.connection_string(memory)
        schema = memory_store.schema_of(memory.id)
        marker = (hashlib.sha256(dsn.encode()).hexdigest(), schema)
        try:
            database = await self._external.database(memory.id, dsn)
        except ValueError:
            raise store_unavailable(
                f"the connection string of Memory {memory.name!r} is not a PostgreSQL URL",
                "MEMORY_CONNECTION_INVALID",
            ) from None
        try:
            async with database.transaction() as db, memory_store.missing_store_raises():
                if marker not in self._ensured:
                    await self._ensure(db, schema, dimension_of(memory.spec))
                    self._ensured.add(marker)
                yield db
        except memory_store.StoreMissing:
            # Dropped behind this process's back: the next use creates it again.
            self._ensured.discard(marker)
            raise _store_missing(memory) from None
        except ServiceUnavailable:
            raise store_unavailable(f"the store of Memory {memory.name!r} cannot be reached") from None

    async def _ensure(self, db: Tx, schema: str, dimension: int) -> None:
        await memory_store.lock_provisioning(db)
        await memory_store.ensure_extensions(db)
        found = await memory_store.store_dimension(db, schema)
        if found is None:
            await memory_store.create_store(db, schema, dimension)
        elif found != dimension:
            raise DomainError(
                Code.FAILED_PRECONDITION,
                "MEMORY_DIMENSION_MISMATCH",
                f"the store's embeddings have {found} dimensions, the Memory's {dimension}",
            )

    async def created(self, db: Tx, memory: memory_pb2.Memory) -> memory_pb2.Memory:
        """An embedded store is created with its Memory; an external one on first use."""
        if is_embedded(memory.spec):
            await memory_store.create_store(db, memory_store.schema_of(memory.id), dimension_of(memory.spec))
        return memory

    async def changed(self, db: Tx, before: memory_pb2.Memory, after: memory_pb2.Memory) -> None:
        """A Memory moved to Jangar's own database gets its store there (empty: records are not moved)."""
        if is_embedded(after.spec) and not is_embedded(before.spec):
            await self.created(db, after)

    async def deleted(self, db: Tx, memory: memory_pb2.Memory) -> None:
        """Drops the store with its Memory: in `db` for an embedded store (and for one the Memory left when
        its connection changed); an external one after a best-effort connect (its Secret or server may be
        gone by now; the Memory is deleted anyway)."""
        schema = memory_store.schema_of(memory.id)
        await memory_store.drop_store(db, schema)
        if is_embedded(memory.spec):
            return
        try:
            dsn = await self.connection_string(memory)
            database = await self._external.database(memory.id, dsn)
            async with database.transaction() as external:
                await memory_store.drop_store(external, schema)
        except (DomainError, ServiceUnavailable, ValueError) as error:
            log.warning(
                "the external store of deleted Memory %s/%s was not dropped: %s",
                memory.namespace,
                memory.name,
                type(error).__name__,
            )
        finally:
            await self._external.forget(memory.id)

    async def dispose(self) -> None:
        await self._external.dispose()
