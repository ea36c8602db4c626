"""CloudNativePG Clusters (postgresql.cnpg.io/v1) that Memories name in `spec.connection.clusterRef`: the
reconciler reports each Cluster, and every Memory on it follows the Cluster's `Ready` condition. A Cluster
not ready (or deleted) makes the Memory `Unreachable`; a ready one lets the memory upkeep check the store
itself, through the Cluster's `<name>-app` Secret (domain/memory_stores.py)."""

from __future__ import annotations

from typing import Any

from jangar.server.core.context import RequestContext
from jangar.server.domain.memory_upkeep import (
    CLUSTER_CONDITION,
    Phase,
    save_status,
    set_condition,
)
from jangar.server.repository import rows
from jangar.server.repository.database import Tx
from jangar.server.repository.mapping import STORED
from jangar.v1 import memory_pb2

_CLUSTER_REF_PATH = ("connection", "clusterRef", "name")
# Memories per Cluster updated per snapshot; more would be unusual (one database, many Memories).
_MAX_MEMORIES = 500


def readiness(body: dict[str, Any], deleted: bool) -> tuple[bool, str, str]:
    """(ready, reason, message) of a Cluster object, from its `Ready` condition (CNPG sets it from the
    instances' health) and its human-readable `status.phase`."""
    if deleted:
        return False, "ClusterDeleted", "the CNPG Cluster was deleted"
    status = body.get("status") if isinstance(body.get("status"), dict) else {}
    phase = str(status.get("phase") or "")
    conditions = status.get("conditions") if isinstance(status.get("conditions"), list) else []
    ready = next((c for c in conditions if isinstance(c, dict) and c.get("type") == "Ready"), None)
    if ready is not None and ready.get("status") == "True":
        return True, "ClusterReady", phase or "the CNPG Cluster is ready"
    if ready is not None:
        return False, "ClusterNotReady", str(ready.get("message") or phase or "the CNPG Cluster is not ready")
    return False, "ClusterNotReady", phase or "the CNPG Cluster reports no Ready condition yet"


async def follow_cluster(
    db: Tx, context: RequestContext, namespace: str, name: str, body: dict[str, Any], deleted: bool
) -> int:
    """Sets the ClusterReady condition (and the phase) of every Memory on the Cluster; returns how many."""
    ready, reason, message = readiness(body, deleted)
    memories = await rows.referrers(db, STORED["Memory"], _CLUSTER_REF_PATH, namespace, name, _MAX_MEMORIES)

    def change(memory: memory_pb2.Memory) -> bool:
        changed = set_condition(memory, CLUSTER_CONDITION, ready, reason, message)
        if not ready and memory.status.phase != Phase.Unreachable:
            memory.status.phase = Phase.Unreachable
            changed = True
        elif ready and memory.status.phase == Phase.Unreachable:
            # The upkeep's next round checks the store itself and says Ready (or why not).
            memory.status.phase = Phase.Pending
            changed = True
        return changed

    for memory in memories:
        await save_status(db, memory.id, change, reason, context)
    return len(memories)


def facts(body: dict[str, Any], deleted: bool) -> dict[str, Any]:
    """What the ingest keeps of a Cluster report, for Memories created after it."""
    ready, reason, message = readiness(body, deleted)
    return {"ready": ready, "reason": reason, "message": message}
