"""SecretBinding: its sample for the conformance suite, the rules of its spec, its Ready/Invalid status, and
that it holds Secret names only."""

from __future__ import annotations

import asyncio
import json
import uuid

import grpc
import pytest

from jangar.server.core.kinds import registry
from jangar.v1 import secret_binding_pb2
from tests.builders import agent, create_agent
from tests.support import unique
from tests.transports import TRANSPORTS, client_for, new_key, refused

KIND = "SecretBinding"

Binding = secret_binding_pb2.SecretBinding
Spec = secret_binding_pb2.SecretBindingSpec
Phase = secret_binding_pb2.SecretBindingStatus.Phase


def sample(namespace: str, **labels: str) -> Binding:
    return Binding(
        name=unique("secrets"),
        namespace=namespace,
        labels=labels,
        spec=Spec(
            subjects=[{"kind": "Agent", "name": "release-bot"}],
            allowed_secrets=["github-token", "registry.credentials"],
        ),
    )


def changed_spec() -> tuple[str, Spec]:
    return "spec.allowed_secrets", Spec(allowed_secrets=["github-token"])


@pytest.fixture(params=TRANSPORTS)
def client(request: pytest.FixtureRequest):
    return client_for(registry()[KIND], request.param, request)


@pytest.mark.parametrize(
    ("spec", "fields"),
    [
        (Spec(subjects=[{"kind": "Agent", "name": "a"}]), ["spec.allowedSecrets"]),
        (Spec(allowed_secrets=["token"]), ["spec.subjects"]),
        (
            Spec(subjects=[{"kind": "Agent", "name": "a"}], allowed_secrets=["Bad_Name"]),
            ["spec.allowedSecrets[0]"],
        ),
        (
            Spec(subjects=[{"kind": "Agent", "name": "a"}], allowed_secrets=["t", "t"]),
            ["spec.allowedSecrets[1]"],
        ),
        (Spec(subjects=[{"kind": "Secret", "name": "a"}], allowed_secrets=["t"]), ["spec.subjects[0].kind"]),
        (
            Spec(
                subjects=[{"kind": "Tool", "name": "a"}, {"kind": "Tool", "name": "a"}], allowed_secrets=["t"]
            ),
            ["spec.subjects[1]"],
        ),
    ],
)
async def test_each_rule_names_its_field(client, spec, fields):
    binding = sample(unique("ns"))
    binding.spec.CopyFrom(spec)
    error = await refused(
        client.create(binding, key=new_key()), grpc.StatusCode.INVALID_ARGUMENT, 400, "INVALID_ARGUMENT"
    )
    assert error.violations == fields


async def test_a_binding_is_invalid_until_its_subject_exists_then_ready(client, channel):
    namespace = unique("ns")
    created = (await client.create(sample(namespace), key=new_key())).resource
    assert created.status.phase == Phase.Invalid
    assert created.status.reason == "SubjectNotFound"
    assert "Agent/release-bot" in created.status.message
    ready = {c.type: c for c in created.status.conditions}["Ready"]
    assert (ready.status, ready.reason) == ("False", "SubjectNotFound")

    await create_agent(channel, agent("release-bot", namespace))
    # The server's upkeep re-checks bindings every few seconds.
    for _ in range(100):
        current = await client.get(created.id)
        if current.status.phase == Phase.Ready:
            break
        await asyncio.sleep(0.2)
    assert (current.status.phase, current.status.reason) == (Phase.Ready, "SubjectsFound")
    assert current.generation == created.generation  # a status change is not a spec change


async def test_a_binding_stores_and_returns_names_only(client, db):
    binding = sample(unique("ns"))
    created = (await client.create(binding, key=new_key())).resource
    row = await db.fetchrow("SELECT spec FROM secret_bindings WHERE id = $1", uuid.UUID(created.id))
    assert json.loads(row["spec"]) == {
        "subjects": [{"kind": "Agent", "name": "release-bot"}],
        "allowedSecrets": ["github-token", "registry.credentials"],
    }
