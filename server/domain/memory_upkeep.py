"""The memory upkeep (docs/memory.md): every round it checks each postgres Memory's store (reachable, its
schema there with the Memory's dimension) and sets the Memory's phase and `Ready` condition from what it
found; it deletes the records that `spec.retention.ttlDays` has expired. A Memory on a CNPG Cluster is
`Unreachable` while the reconciler reports the Cluster not ready (domain/cnpg.py)."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass

from jangar.server.core.context import RequestContext
from jangar.server.core.errors import DomainError, ServiceUnavailable
from jangar.server.core.pages import Cursor, Page
from jangar.server.core.query import ListQuery, Ref
from jangar.server.domain import common
from jangar.server.domain.embeddings import dimension_of
from jangar.server.domain.memory_stores import MemoryStores
from jangar.server.repository import cluster_objects, memory_store, rows
from jangar.server.repository.database import Database, Tx
from jangar.server.repository.mapping import STORED
from jangar.v1 import common_pb2, memory_pb2

log = logging.getLogger("jangar.server.memory")

Phase = memory_pb2.MemoryStatus.Phase
READY_CONDITION = "Ready"
CLUSTER_CONDITION = "ClusterReady"
CLUSTER_API = ("postgresql.cnpg.io/v1", "Cluster")
_PAGE = 200
UPKEEP_CONTEXT = RequestContext(
    request_id="", method="jangar.server/MemoryUpkeep", principal="system:memory-upkeep"
)


@dataclass(frozen=True)
class Health:
    phase: int
    reason: str
    message: str


def _condition(memory: memory_pb2.Memory, type_: str) -> common_pb2.Condition | None:
    return next((c for c in memory.status.conditions if c.type == type_), None)


def set_condition(memory: memory_pb2.Memory, type_: str, ok: bool, reason: str, message: str) -> bool:
    """Sets condition `type_`; True when it changed. Its transition time moves only when its status does,
    as Kubernetes conditions' do."""
    status = "True" if ok else "False"
    current = _condition(memory, type_)
    if current is not None and (current.status, current.reason, current.message) == (status, reason, message):
        return False
    replacement = common.condition(type_, status, reason, message, memory.generation)
    if current is not None and current.status == status:
        replacement.last_transition_time.CopyFrom(current.last_transition_time)
    kept = [c for c in memory.status.conditions if c.type != type_]
    del memory.status.conditions[:]
    memory.status.conditions.extend([*kept, replacement])
    return True


StatusChange = Callable[[memory_pb2.Memory], bool]


async def save_status(
    db: Tx, memory_id: str, change: StatusChange, event_reason: str, context: RequestContext = UPKEEP_CONTEXT
) -> None:
    """Applies `change(memory) -> bool` to the locked Memory and stores its status when it changed, with an
    audit row when its phase moved."""
    current = await rows.find(db, STORED["Memory"], Ref(id=uuid.UUID(memory_id)), for_update=True)
    if current is None:
        return
    updated = memory_pb2.Memory()
    updated.CopyFrom(current)
    if not change(updated):
        return
    updated.status.observed_generation = updated.generation
    await memory_store.save_memory_status(db, updated)
    if updated.status.phase != current.status.phase:
        await common.record_audit(
            db,
            context,
            kind="Memory",
            entity_id=memory_id,
            event="StatusChanged",
            namespace=updated.namespace,
            payload={
                "from": Phase.Name(current.status.phase),
                "to": Phase.Name(updated.status.phase),
                "reason": event_reason,
            },
        )


class MemoryUpkeep:
    def __init__(self, database: Database, stores: MemoryStores) -> None:
        self._database = database
        self._stores = stores

    async def _memories(self) -> list[memory_pb2.Memory]:
        found: list[memory_pb2.Memory] = []
        after: Cursor | None = None
        while True:
            query = ListQuery(page=Page(size=_PAGE, after=after, query_hash=""))
            async with self._database.transaction() as db:
                page = await rows.list_page(db, STORED["Memory"], query)
            found.extend(m for m in page.items if m.spec.type == memory_pb2.MemorySpec.postgres)
            if page.next_cursor is None:
                return found
            after = page.next_cursor

    async def check(self, memory: memory_pb2.Memory) -> Health:
        """What the store of `memory` looks like now; deletes its expired records on the way."""
        if memory.spec.connection.cluster_ref.name:
            ready, message = await self._cluster_readiness(memory)
            if not ready:
                return Health(Phase.Unreachable, "ClusterNotReady", message)
        schema = memory_store.schema_of(memory.id)
        expected = dimension_of(memory.spec)
        try:
            async with self._database.transaction() as own, self._stores.transaction(own, memory) as store:
                found = await memory_store.store_dimension(store, schema)
                if found is None:
                    return Health(
                        Phase.Degraded, "StoreMissing", f"the store's schema {schema} does not exist"
                    )
                if found != expected:
                    return Health(
                        Phase.Degraded,
                        "DimensionMismatch",
                        f"the store has {found} dimensions, not {expected}",
                    )
                if memory.spec.retention.ttl_days:
                    expired = await memory_store.delete_expired(store, schema, memory.spec.retention.ttl_days)
                    if expired:
                        log.info(
                            "deleted %d expired records of Memory %s/%s",
                            expired,
                            memory.namespace,
                            memory.name,
                        )
        except DomainError as error:
            degraded = error.reason in ("MEMORY_DIMENSION_MISMATCH", "MEMORY_CONNECTION_INVALID")
            return Health(
                Phase.Degraded if degraded else Phase.Unreachable, _camel(error.reason), error.message
            )
        except ServiceUnavailable:
            raise  # Jangar's own database is down: nothing can be said about the store
        except Exception as error:  # the store answered, but its schema could not be made (permissions)
            return Health(
                Phase.Degraded,
                "StoreNotMigrated",
                f"the store's schema could not be created ({type(error).__name__})",
            )
        return Health(Phase.Ready, "StoreReady", "the store is reachable and migrated")

    async def _cluster_readiness(self, memory: memory_pb2.Memory) -> tuple[bool, str]:
        """From the ClusterReady condition the reconciler's reports set, or, for a Memory created after
        the last report, from that report."""
        cluster = _condition(memory, CLUSTER_CONDITION)
        if cluster is not None:
            return cluster.status == "True", cluster.message
        async with self._database.transaction() as db:
            seen = await cluster_objects.latest(
                db, *CLUSTER_API, memory.namespace, memory.spec.connection.cluster_ref.name
            )
        if seen is None or seen.deleted:
            return False, "the reconciler has not reported the CNPG Cluster"
        return bool(seen.facts.get("ready")), str(seen.facts.get("message", ""))

    async def tick(self) -> None:
        for memory in await self._memories():
            health = await self.check(memory)

            def change(current: memory_pb2.Memory, health: Health = health) -> bool:
                changed = set_condition(
                    current, READY_CONDITION, health.phase == Phase.Ready, health.reason, health.message
                )
                if current.status.phase != health.phase:
                    current.status.phase = health.phase
                    changed = True
                return changed

            async with self._database.transaction() as db:
                await save_status(db, memory.id, change, health.reason)


def _camel(reason: str) -> str:
    """`MEMORY_SECRET_UNAVAILABLE` -> `SecretUnavailable` (condition reasons are CamelCase)."""
    return "".join(part.capitalize() for part in reason.removeprefix("MEMORY_").split("_"))
