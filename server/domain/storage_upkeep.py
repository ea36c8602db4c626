"""The server's upkeep of Workspaces and Artifacts (docs/storage.md): what outlived its TTL is Expired, with
an audit event, in the transaction that claims it. An expired Workspace's claim is deleted through the
outbox, its local directory removed; an expired Artifact's local copy is removed, so Artifacts with a
`file:` URI are expired only by servers with the local runtime. Files are removed after the commit: a crash in
between leaves a file behind, never an Artifact that is Ready without its file."""

from __future__ import annotations

import asyncio
from typing import Any

from jangar.server.core.context import RequestContext
from jangar.server.core.runtime import LocalFiles
from jangar.server.domain import common, workspaces
from jangar.server.repository import expiry
from jangar.server.repository.database import Database, Tx
from jangar.server.repository.mapping import STORED
from jangar.v1 import artifact_pb2, workspace_pb2

UPKEEP = RequestContext(
    request_id="", method="jangar.server/StorageUpkeep", principal="system:storage-upkeep"
)
BATCH = 32


class StorageUpkeep:
    def __init__(self, database: Database, files: LocalFiles | None = None) -> None:
        self._database = database
        self._files = files

    async def tick(self) -> int:
        """Expires one batch of each kind; returns how many expired."""
        return await self._workspaces() + await self._artifacts()

    async def _workspaces(self) -> int:
        removed: list[str] = []
        async with self._database.transaction() as db:
            due = await expiry.due(db, STORED["Workspace"], expiry.WORKSPACES, common.utcnow(), BATCH)
            for workspace in due:
                await _expire(
                    db, "Workspace", workspace, workspace_pb2.WorkspaceStatus.Expired, "the TTL passed"
                )
                if workspace.status.claim_name:
                    await workspaces.queue_claim_deletion(db, workspace)
                else:
                    removed.append(workspace.id)
        if self._files is not None:
            for workspace_id in removed:
                await asyncio.to_thread(self._files.remove_workspace, workspace_id)
        return len(due)

    async def _artifacts(self) -> int:
        async with self._database.transaction() as db:
            due = await expiry.due(
                db,
                STORED["Artifact"],
                expiry.ARTIFACTS,
                common.utcnow(),
                BATCH,
                # A file: URI names a file on a machine of the local runtime, whose server removes it when
                # it expires the Artifact; another server would leave the file behind.
                local_files=self._files is not None,
            )
            for artifact in due:
                await _expire(
                    db, "Artifact", artifact, artifact_pb2.ArtifactStatus.Expired, "lifecycle.ttlDays passed"
                )
        if self._files is not None:
            for artifact in due:
                await asyncio.to_thread(self._files.remove_artifact, artifact.spec.uri)
        return len(due)


async def _expire(db: Tx, kind: str, resource: Any, phase: int, message: str) -> None:
    condition = common.condition("Expired", "True", "TTLPassed", message, resource.generation)
    await common.change_phase(db, UPKEEP, STORED[kind], resource, phase, condition, event="Expired")
