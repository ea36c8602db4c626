"""Workspaces' volumes (docs/storage.md). With a cluster, a Workspace is a PersistentVolumeClaim named after
its id, written and deleted through the outbox; its phase follows the claim as the reconciler reports it
(Bound -> Ready, Lost -> Failed, otherwise Pending). Without one, it is a directory of the local runtime and
Ready at once. Which of the two is decided by the server that creates the Workspace: the one that has a
Kubernetes client writes claims."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Mapping
from typing import Any

from jangar.server.core import custom_resources as cr
from jangar.server.core.context import RequestContext
from jangar.server.core.query import Ref
from jangar.server.core.runtime import LocalFiles
from jangar.server.domain import cluster_facts, common
from jangar.server.domain.definitions import WriteHooks
from jangar.server.repository import outbox, rows
from jangar.server.repository.database import Tx
from jangar.server.repository.mapping import STORED
from jangar.v1 import workspace_pb2

KIND = "Workspace"
Phase = workspace_pb2.WorkspaceStatus.Phase
WORKSPACE_ID_LABEL = cr.LABEL_PREFIX + "workspace-id"
WORKSPACE_LABEL = cr.LABEL_PREFIX + "workspace"
CLAIM_API = ("v1", "PersistentVolumeClaim")
CREATE_CLAIM = "create-claim"
DELETE_CLAIM = "delete-claim"
CONDITION = "Provisioned"
DEFAULT_ACCESS_MODE = "ReadWriteOnce"


def claim_name(workspace_id: str) -> str:
    """The claim's name: from the id, never the Workspace's name, so that a Workspace deleted and created
    again under the same name never meets the old claim while it is still being deleted."""
    return f"workspace-{workspace_id}"


def claim_manifest(workspace: workspace_pb2.Workspace) -> dict[str, Any]:
    spec = workspace.spec
    claim_spec: dict[str, Any] = {
        "accessModes": list(spec.access_modes) or [DEFAULT_ACCESS_MODE],
        "resources": {"requests": {"storage": spec.size}},
        "volumeMode": "Filesystem",
    }
    if spec.storage_class_name:
        claim_spec["storageClassName"] = spec.storage_class_name
    return {
        "apiVersion": "v1",
        "kind": "PersistentVolumeClaim",
        "metadata": {
            "name": claim_name(workspace.id),
            "namespace": workspace.namespace,
            "labels": {
                WORKSPACE_ID_LABEL: workspace.id,
                WORKSPACE_LABEL: workspace.name,
                cr.MANAGED_BY_LABEL: cr.MANAGED_BY,
            },
        },
        "spec": claim_spec,
    }


def claim_phase(body: Mapping[str, Any]) -> tuple[int, str]:
    """The Workspace phase a claim's state means, and the bound volume's name."""
    facts = cluster_facts.claim_facts(body)
    phase, volume = facts["phase"], facts["volumeName"]
    if phase == "Bound":
        return Phase.Ready, volume
    if phase == "Lost":
        return Phase.Failed, volume
    return Phase.Pending, volume


def _set_condition(workspace: Any, status: str, reason: str, message: str) -> None:
    common.set_condition(
        workspace, common.condition(CONDITION, status, reason, message, workspace.generation)
    )


async def _queue(db: Tx, operation: str, workspace: Any, payload: dict[str, Any]) -> None:
    """An outbox entry for the Workspace's claim (entries name a kind and an id; a Workspace has no
    attempts)."""
    await outbox.add(db, operation=operation, run_kind=KIND, run_id=workspace.id, attempt=0, payload=payload)


async def queue_claim_deletion(db: Tx, workspace: Any) -> None:
    payload = {"namespace": workspace.namespace, "name": workspace.status.claim_name}
    await _queue(db, DELETE_CLAIM, workspace, payload)


class WorkspaceProvisioning(WriteHooks):
    """The write hooks of Workspaces: a claim, or a local directory."""

    def __init__(self, cluster: bool, files: LocalFiles | None = None) -> None:
        self._cluster = cluster
        self._files = files

    async def created(self, db: Tx, workspace: Any) -> Any:
        if self._cluster:
            workspace.status.claim_name = claim_name(workspace.id)
            await _queue(db, CREATE_CLAIM, workspace, claim_manifest(workspace))
            _set_condition(workspace, "False", "ClaimRequested", "the PersistentVolumeClaim is being written")
        else:
            workspace.status.phase = Phase.Ready
            _set_condition(workspace, "True", "LocalDirectory", "a directory of the local runtime")
        return await rows.update(db, STORED[KIND], uuid.UUID(workspace.id), workspace)

    async def deleted(self, db: Tx, workspace: Any) -> None:
        if workspace.status.claim_name:
            if workspace.status.phase != Phase.Expired:  # an expired one's claim is deleted already
                await queue_claim_deletion(db, workspace)
        elif self._files is not None:
            # Before the commit: a delete that then fails leaves a Workspace whose directory is empty,
            # which its next run simply recreates.
            await asyncio.to_thread(self._files.remove_workspace, workspace.id)


# The outbox worker's identity in audit events.
OUTBOX = RequestContext(request_id="", method="jangar.server/OutboxWorker", principal="system:outbox-worker")


async def claim_wanted(db: Tx, workspace_id: uuid.UUID) -> bool:
    workspace = await rows.find(db, STORED[KIND], Ref(id=workspace_id))
    return workspace is not None and workspace.status.phase != Phase.Expired


async def claim_refused(db: Tx, workspace_id: uuid.UUID, message: str) -> None:
    """The API server refused the claim as invalid (a StorageClass it rejects, a quota): the Workspace is
    Failed; writing it again would not help."""
    workspace = await rows.find(db, STORED[KIND], Ref(id=workspace_id), for_update=True)
    if workspace is None or workspace.status.phase in (Phase.Expired, Phase.Failed):
        return
    await _change_phase(db, OUTBOX, workspace, Phase.Failed, "False", "ClaimRejected", message[:1024])


async def _change_phase(
    db: Tx, context: RequestContext, workspace: Any, phase: int, status: str, reason: str, message: str
) -> None:
    condition = common.condition(CONDITION, status, reason, message, workspace.generation)
    await common.change_phase(db, context, STORED[KIND], workspace, phase, condition)


async def claim_reported(
    db: Tx, context: RequestContext, body: Mapping[str, Any], name: str, deleted: bool
) -> bool:
    """A snapshot of a claim Jangar wrote: the Workspace's phase and volume follow it. False when the claim
    is no Workspace's (any more)."""
    labels = (body.get("metadata") or {}).get("labels") or {}
    try:
        workspace_id = uuid.UUID(str(labels.get(WORKSPACE_ID_LABEL) or ""))
    except ValueError:
        return False
    stored = STORED[KIND]
    workspace = await rows.find(db, stored, Ref(id=workspace_id), for_update=True)
    if workspace is None or workspace.status.claim_name != name:
        return False
    if workspace.status.phase == Phase.Expired:
        return True  # final: its claim's deletion is what is being reported
    phase, volume = claim_phase(body)
    if deleted:
        phase, reason, message = Phase.Failed, "ClaimDeleted", "the PersistentVolumeClaim was deleted"
        status = "False"
    elif phase == Phase.Ready:
        reason, message, status = "Bound", f"bound to PersistentVolume {volume}", "True"
    elif phase == Phase.Failed:
        reason, message, status = "Lost", "the claim lost its PersistentVolume", "False"
    else:
        reason, message, status = "ClaimPending", "the claim is not bound yet", "False"
    if (workspace.status.phase, workspace.status.volume_name) == (phase, volume):
        return True
    workspace.status.volume_name = volume
    await _change_phase(db, context, workspace, phase, status, reason, message)
    return True
