"""Artifact: its sample for the conformance suite and the rules of each spec field. Registration from runs
and expiry are in tests/test_artifacts.py."""

from __future__ import annotations

import uuid

import grpc
import pytest

from jangar.server.core.kinds import registry
from jangar.v1 import artifact_pb2, artifact_pb2_grpc
from tests.builders import key
from tests.support import unique, violated_fields
from tests.transports import TRANSPORTS, Client, client_for, new_key, refused

KIND = "Artifact"

Artifact = artifact_pb2.Artifact
Spec = artifact_pb2.ArtifactSpec
DIGEST = "sha256:" + "ab" * 32


def sample(namespace: str, **labels: str) -> Artifact:
    return Artifact(
        name=unique("artifact"),
        namespace=namespace,
        labels=labels,
        spec=Spec(
            producer_ref={"kind": "AgentRun", "id": str(uuid.uuid4())},
            uri="s3://jangar-artifacts/runs/report.md",
            digest=DIGEST,
            size_bytes=2048,
            media_type="text/markdown",
            lifecycle={"ttl_days": 30},
        ),
    )


def changed_spec() -> tuple[str, Spec]:
    return "spec.lifecycle", Spec(lifecycle={"ttl_days": 7})


@pytest.fixture
def artifacts(channel: grpc.aio.Channel) -> artifact_pb2_grpc.ArtifactServiceStub:
    return artifact_pb2_grpc.ArtifactServiceStub(channel)


@pytest.fixture(params=TRANSPORTS)
def client(request: pytest.FixtureRequest) -> Client:
    """The kind over gRPC, or over REST through Envoy."""
    return client_for(registry()[KIND], request.param, request)


async def refused_fields(client: Client, spec: Spec) -> list[str]:
    resource = sample("artifacts")
    resource.spec.CopyFrom(spec)
    error = await refused(
        client.create(resource, key=new_key()), grpc.StatusCode.INVALID_ARGUMENT, 400, "INVALID_ARGUMENT"
    )
    return error.violations


async def test_a_uri_is_required(client):
    assert await refused_fields(client, Spec(digest=DIGEST)) == ["spec.uri"]


URI = "https://example.com/a.txt"


@pytest.mark.parametrize(
    ("spec", "field"),
    [
        (Spec(uri="ftp://example.com/a"), "spec.uri"),
        (Spec(uri="file://relative/path"), "spec.uri"),
        (Spec(uri="s3:///no-bucket"), "spec.uri"),
        (Spec(uri="https://example.com/a b"), "spec.uri"),
        (Spec(uri="https://example.com/" + "a" * 2048), "spec.uri"),
        (Spec(uri=URI, digest="md5:abc"), "spec.digest"),
        (Spec(uri=URI, digest="sha256:" + "AB" * 32), "spec.digest"),
        (Spec(uri=URI, size_bytes=-1), "spec.sizeBytes"),
        (Spec(uri=URI, media_type="text"), "spec.mediaType"),
        (Spec(uri=URI, media_type="text/plain; charset=utf-8"), "spec.mediaType"),
        (Spec(uri=URI, lifecycle={"ttl_days": -1}), "spec.lifecycle.ttlDays"),
        (Spec(uri=URI, producer_ref={"kind": "Agent", "id": str(uuid.uuid4())}), "spec.producerRef.kind"),
        (Spec(uri=URI, producer_ref={"kind": "ToolRun", "id": "not-a-uuid"}), "spec.producerRef.id"),
    ],
)
async def test_each_spec_rule_names_its_field(client, spec, field):
    assert await refused_fields(client, spec) == [field]


async def test_a_new_artifact_is_ready_and_its_content_fields_cannot_change(artifacts):
    created = await artifacts.CreateArtifact(
        artifact_pb2.CreateArtifactRequest(artifact=sample("artifacts")), metadata=key()
    )
    assert created.status.phase == artifact_pb2.ArtifactStatus.Ready
    for path in ("spec.uri", "spec.digest", "spec.size_bytes", "spec.producer_ref"):
        with pytest.raises(grpc.aio.AioRpcError) as refused:
            await artifacts.UpdateArtifact(
                artifact_pb2.UpdateArtifactRequest(
                    id=created.id, artifact=Artifact(spec=Spec(uri=URI)), update_mask={"paths": [path]}
                )
            )
        assert violated_fields(refused.value) == ["updateMask"]
