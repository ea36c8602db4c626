"""Workspace: its sample for the conformance suite, the rules of each spec field, and what a server without
a cluster makes of one (a local directory, Ready at once). tests/test_workspaces.py follows one through
Kubernetes."""

from __future__ import annotations

import grpc
import pytest

from jangar.server.core.kinds import registry
from jangar.v1 import workspace_pb2, workspace_pb2_grpc
from tests.builders import key
from tests.support import unique, violated_fields
from tests.transports import TRANSPORTS, Client, client_for, new_key, refused

KIND = "Workspace"

Workspace = workspace_pb2.Workspace
Spec = workspace_pb2.WorkspaceSpec
Phase = workspace_pb2.WorkspaceStatus


def sample(namespace: str, **labels: str) -> Workspace:
    return Workspace(
        name=unique("ws"),
        namespace=namespace,
        labels=labels,
        spec=Spec(
            size="10Gi", storage_class_name="fast-ssd", access_modes=["ReadWriteOnce"], ttl_seconds=86400
        ),
    )


def changed_spec() -> tuple[str, Spec]:
    return "spec.ttl_seconds", Spec(ttl_seconds=3600)


@pytest.fixture
def workspaces(channel: grpc.aio.Channel) -> workspace_pb2_grpc.WorkspaceServiceStub:
    return workspace_pb2_grpc.WorkspaceServiceStub(channel)


@pytest.fixture(params=TRANSPORTS)
def client(request: pytest.FixtureRequest) -> Client:
    """The kind over gRPC, or over REST through Envoy."""
    return client_for(registry()[KIND], request.param, request)


async def refused_fields(client: Client, spec: Spec) -> list[str]:
    resource = sample("workspaces")
    resource.spec.CopyFrom(spec)
    error = await refused(
        client.create(resource, key=new_key()), grpc.StatusCode.INVALID_ARGUMENT, 400, "INVALID_ARGUMENT"
    )
    return error.violations


async def test_a_size_is_required(client):
    assert await refused_fields(client, Spec(storage_class_name="fast")) == ["spec.size"]


@pytest.mark.parametrize(
    ("spec", "field"),
    [
        (Spec(size="10 gigs"), "spec.size"),
        (Spec(size="0"), "spec.size"),
        (Spec(size="-1Gi"), "spec.size"),
        (Spec(size="1Gi", storage_class_name="Fast_SSD"), "spec.storageClassName"),
        (Spec(size="1Gi", access_modes=["ReadWriteSometimes"]), "spec.accessModes[0]"),
        (Spec(size="1Gi", access_modes=["ReadWriteOnce", "ReadWriteOnce"]), "spec.accessModes[1]"),
        (Spec(size="1Gi", access_modes=["ReadWriteOncePod", "ReadOnlyMany"]), "spec.accessModes"),
        (Spec(size="1Gi", ttl_seconds=-1), "spec.ttlSeconds"),
    ],
)
async def test_each_spec_rule_names_its_field(client, spec, field):
    assert await refused_fields(client, spec) == [field]


async def test_size_storage_class_and_access_modes_cannot_change(workspaces):
    created = await workspaces.CreateWorkspace(
        workspace_pb2.CreateWorkspaceRequest(workspace=sample("workspaces")), metadata=key()
    )
    for path in ("spec.size", "spec.storage_class_name", "spec.access_modes"):
        with pytest.raises(grpc.aio.AioRpcError) as refused:
            await workspaces.UpdateWorkspace(
                workspace_pb2.UpdateWorkspaceRequest(
                    id=created.id, workspace=Workspace(spec=Spec(size="20Gi")), update_mask={"paths": [path]}
                )
            )
        assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        assert violated_fields(refused.value) == ["updateMask"]


async def test_without_a_cluster_a_workspace_is_a_local_directory_and_ready(workspaces):
    created = await workspaces.CreateWorkspace(
        workspace_pb2.CreateWorkspaceRequest(workspace=sample("workspaces")), metadata=key()
    )
    assert created.status.phase == Phase.Ready
    assert created.status.claim_name == ""
    provisioned = {c.type: (c.status, c.reason) for c in created.status.conditions}["Provisioned"]
    assert provisioned == ("True", "LocalDirectory")
    # A new TTL keeps the phase.
    updated = await workspaces.UpdateWorkspace(
        workspace_pb2.UpdateWorkspaceRequest(
            id=created.id,
            workspace=Workspace(spec=Spec(ttl_seconds=60)),
            update_mask={"paths": ["spec.ttl_seconds"]},
        )
    )
    assert (updated.status.phase, updated.generation) == (Phase.Ready, 2)
