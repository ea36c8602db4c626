"""Workspaces on Kubernetes (docs/storage.md), end to end: a server whose KUBECONFIG names the fake API server
writes each Workspace's PersistentVolumeClaim through its outbox, and a reconciler reports the claim back.
The test plays the cluster's volume provisioner: it binds a claim (spec.volumeName, then status.phase Bound)
or loses its volume, as the PersistentVolume controller would, and the Workspace's phase follows."""

from __future__ import annotations

import asyncio
import uuid

import asyncpg
import grpc
import pytest

from jangar.v1 import common_pb2, workspace_pb2, workspace_pb2_grpc
from tests import test_job_runs
from tests.builders import key
from tests.fakekube import JobScript
from tests.support import unique

NAMESPACE = test_job_runs.NAMESPACE
Phase = workspace_pb2.WorkspaceStatus
wait_for = test_job_runs.wait_for

# The fake API server, the server with a cluster and its reconciler: module fixtures of this module too.
kube = test_job_runs.kube
job_server = test_job_runs.job_server
reconciler = test_job_runs.reconciler
job_channel = test_job_runs.job_channel


@pytest.fixture
def workspaces(job_channel: grpc.aio.Channel) -> workspace_pb2_grpc.WorkspaceServiceStub:
    return workspace_pb2_grpc.WorkspaceServiceStub(job_channel)


async def create(workspaces, **spec) -> workspace_pb2.Workspace:
    workspace = workspace_pb2.Workspace(
        name=unique("ws"), namespace=NAMESPACE, spec=workspace_pb2.WorkspaceSpec(size="5Gi", **spec)
    )
    return await workspaces.CreateWorkspace(
        workspace_pb2.CreateWorkspaceRequest(workspace=workspace), metadata=key()
    )


async def phase_of(workspaces, workspace_id: str, wanted: int) -> workspace_pb2.Workspace | None:
    current = await workspaces.GetWorkspace(workspace_pb2.GetWorkspaceRequest(id=workspace_id))
    return current if current.status.phase == wanted else None


async def until_phase(workspaces, workspace_id: str, wanted: int) -> workspace_pb2.Workspace:
    for _ in range(400):
        current = await phase_of(workspaces, workspace_id, wanted)
        if current is not None:
            return current
        await asyncio.sleep(0.05)
    raise AssertionError(f"Workspace {workspace_id} never became {Phase.Phase.Name(wanted)}")


def bind(kube, claim: str, volume: str) -> None:
    """What the PersistentVolume controller does when it binds a claim: the volume into the spec, then the
    phase into the status."""
    kube.merge_patch("persistentvolumeclaims", claim, {"spec": {"volumeName": volume}}, NAMESPACE)
    kube.merge_patch(
        "persistentvolumeclaims", claim, {"status": {"phase": "Bound"}}, NAMESPACE, subresource="status"
    )


async def audit_of(server, entity_id: str) -> list[tuple[str, str, str]]:
    """(event, phase it went to, actor) of each audit event of a resource in the server's own database."""
    connection = await asyncpg.connect(server.database_url.replace("postgresql+asyncpg://", "postgresql://"))
    try:
        rows = await connection.fetch(
            "SELECT event_type, coalesce(payload->>'to', '') AS phase, actor FROM audit_events "
            "WHERE entity_id = $1 ORDER BY created_at",
            uuid.UUID(entity_id),
        )
    finally:
        await connection.close()
    return [(r["event_type"], r["phase"], r["actor"]) for r in rows]


async def test_a_workspace_is_a_claim_and_its_phase_follows_the_claims(
    kube, reconciler, workspaces, job_server
):
    created = await create(workspaces, storage_class_name="fast-ssd", access_modes=["ReadWriteMany"])
    claim_name = f"workspace-{created.id}"
    assert (created.status.phase, created.status.claim_name) == (Phase.Pending, claim_name)

    claim = await wait_for(lambda: kube.get("persistentvolumeclaims", claim_name, NAMESPACE))
    assert claim["spec"]["resources"] == {"requests": {"storage": "5Gi"}}
    assert claim["spec"]["accessModes"] == ["ReadWriteMany"]
    assert claim["spec"]["storageClassName"] == "fast-ssd"
    labels = claim["metadata"]["labels"]
    assert labels["jangar.proompteng.ai/workspace-id"] == created.id
    assert labels["app.kubernetes.io/managed-by"] == "jangar"

    # Reported while unbound: still Pending.
    kube.merge_patch(
        "persistentvolumeclaims",
        claim_name,
        {"status": {"phase": "Pending"}},
        NAMESPACE,
        subresource="status",
    )
    bind(kube, claim_name, "pv-0001")
    ready = await until_phase(workspaces, created.id, Phase.Ready)
    assert ready.status.volume_name == "pv-0001"
    provisioned = next(c for c in ready.status.conditions if c.type == "Provisioned")
    assert (provisioned.status, provisioned.reason) == ("True", "Bound")

    kube.merge_patch(
        "persistentvolumeclaims", claim_name, {"status": {"phase": "Lost"}}, NAMESPACE, subresource="status"
    )
    failed = await until_phase(workspaces, created.id, Phase.Failed)
    assert next(c.reason for c in failed.status.conditions if c.type == "Provisioned") == "Lost"
    assert await audit_of(job_server, created.id) == [
        ("Created", "", "anonymous"),
        ("PhaseChanged", "Ready", "system:reconciler"),
        ("PhaseChanged", "Failed", "system:reconciler"),
    ]


async def test_an_empty_access_mode_list_asks_for_read_write_once(kube, reconciler, workspaces):
    created = await create(workspaces)
    claim = await wait_for(lambda: kube.get("persistentvolumeclaims", created.status.claim_name, NAMESPACE))
    assert claim["spec"]["accessModes"] == ["ReadWriteOnce"]
    assert "storageClassName" not in claim["spec"]


async def test_after_its_ttl_the_claim_is_deleted_and_the_workspace_expired(kube, reconciler, workspaces):
    created = await create(workspaces, ttl_seconds=1)
    name = created.status.claim_name
    await wait_for(lambda: kube.get("persistentvolumeclaims", name, NAMESPACE))
    bind(kube, name, "pv-ttl")
    expired = await until_phase(workspaces, created.id, Phase.Expired)
    assert next(c.reason for c in expired.status.conditions if c.type == "Expired") == "TTLPassed"
    await wait_for(lambda: kube.get("persistentvolumeclaims", name, NAMESPACE) is None)
    # The claim's deletion, reported by the reconciler, leaves the phase final.
    await asyncio.sleep(0.5)
    assert (await phase_of(workspaces, created.id, Phase.Expired)) is not None


async def test_deleting_a_workspace_deletes_its_claim(kube, reconciler, workspaces):
    created = await create(workspaces)
    name = created.status.claim_name
    await wait_for(lambda: kube.get("persistentvolumeclaims", name, NAMESPACE))
    await workspaces.DeleteWorkspace(workspace_pb2.DeleteWorkspaceRequest(id=created.id))
    await wait_for(lambda: kube.get("persistentvolumeclaims", name, NAMESPACE) is None)


async def test_a_job_run_that_names_a_workspace_works_on_its_claim(kube, reconciler, workspaces, job_channel):
    created = await create(workspaces)
    kube.kubelet.script(JobScript.hang(), namespace=NAMESPACE)
    run = await test_job_runs.job_run(
        job_channel, workspace_ref=common_pb2.LocalObjectReference(name=created.name)
    )
    job = await wait_for(lambda: kube.get("jobs", f"{run.id}-1", NAMESPACE))
    pod = job["spec"]["template"]["spec"]
    volume = next(v for v in pod["volumes"] if v["name"] == "jangar-workspace")
    assert volume == {
        "name": "jangar-workspace",
        "persistentVolumeClaim": {"claimName": created.status.claim_name},
    }
    (container,) = pod["containers"]
    assert {"name": "jangar-workspace", "mountPath": "/workspace"} in container["volumeMounts"]
    assert container["workingDir"] == "/workspace"
    assert {"name": "JANGAR_WORKSPACE", "value": "/workspace"} in container["env"]

    # While the run uses it, the Workspace cannot be deleted.
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await workspaces.DeleteWorkspace(workspace_pb2.DeleteWorkspaceRequest(id=created.id))
    assert refused.value.code() == grpc.StatusCode.FAILED_PRECONDITION
