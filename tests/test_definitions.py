"""Agents, Memories and Orchestrations over gRPC beyond what every kind does (tests/test_conformance.py):
defaults, update masks, validation and deletion of a definition in use."""

from __future__ import annotations

import json
import uuid

import grpc
import pytest

from jangar.v1 import agent_pb2, memory_pb2, orchestration_pb2
from tests import builders
from tests.builders import Step, key
from tests.support import reason_of, unique, violated_fields


async def test_namespace_defaults_to_default_and_output_only_fields_are_ignored(channel, agents):
    sent = builders.agent(namespace="")
    sent.id = "00000000-0000-0000-0000-000000000001"
    sent.generation = 42
    sent.etag = "forged"
    created = await builders.create_agent(channel, sent)
    assert created.namespace == "default"
    assert created.id != sent.id
    assert created.generation == 1
    assert created.etag != "forged"


async def test_get_rejects_an_id_that_is_neither_uuid_nor_name(agents):
    with pytest.raises(grpc.aio.AioRpcError) as error:
        await agents.GetAgent(agent_pb2.GetAgentRequest(id="Not A Name"))
    assert error.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert violated_fields(error.value) == ["id"]


async def test_empty_mask_replaces_the_fields_the_request_sets(channel, agents):
    created = await builders.create_agent(channel, builders.agent(team="a"))
    reply = await agents.UpdateAgent(
        agent_pb2.UpdateAgentRequest(id=created.id, agent=agent_pb2.Agent(annotations={"note": "x"}))
    )
    assert dict(reply.annotations) == {"note": "x"}
    assert dict(reply.labels) == {"team": "a"}  # not sent, so not replaced


async def test_stale_etag_in_if_match_is_refused_and_nothing_changes(channel, agents):
    # The etag in the request body: tests/test_conformance.py.
    created = await builders.create_agent(channel)
    await agents.UpdateAgent(
        agent_pb2.UpdateAgentRequest(
            id=created.id, agent=agent_pb2.Agent(labels={"v": "2"}), update_mask={"paths": ["labels"]}
        )
    )
    request = agent_pb2.UpdateAgentRequest(
        id=created.id, agent=agent_pb2.Agent(labels={"v": "3"}), update_mask={"paths": ["labels"]}
    )
    with pytest.raises(grpc.aio.AioRpcError) as error:
        await agents.UpdateAgent(request, metadata=(("if-match", f'"{created.etag}"'),))
    assert error.value.code() == grpc.StatusCode.ABORTED
    assert reason_of(error.value) == "ETAG_MISMATCH"
    current = await agents.GetAgent(agent_pb2.GetAgentRequest(id=created.id))
    assert dict(current.labels) == {"v": "2"}


@pytest.mark.parametrize("path", ["name", "namespace", "status", "labels.team", "spec.nope", "generation"])
async def test_update_mask_names_only_mutable_fields(channel, agents, path):
    created = await builders.create_agent(channel)
    with pytest.raises(grpc.aio.AioRpcError) as error:
        await agents.UpdateAgent(
            agent_pb2.UpdateAgentRequest(
                id=created.id, agent=agent_pb2.Agent(name="x"), update_mask={"paths": [path]}
            )
        )
    assert error.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert violated_fields(error.value) == ["updateMask"]


async def test_update_that_breaks_the_spec_is_refused(channel, agents):
    created = await builders.create_agent(channel)
    with pytest.raises(grpc.aio.AioRpcError) as error:
        await agents.UpdateAgent(
            agent_pb2.UpdateAgentRequest(
                id=created.id, agent=agent_pb2.Agent(), update_mask={"paths": ["spec.provider_ref"]}
            )
        )
    assert error.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert violated_fields(error.value) == ["spec.providerRef.name"]
    current = await agents.GetAgent(agent_pb2.GetAgentRequest(id=created.id))
    assert current == created


async def test_memory_keeps_only_the_secret_reference(memories, db):
    sent = builders.memory()
    created = await memories.CreateMemory(memory_pb2.CreateMemoryRequest(memory=sent), metadata=key())
    assert created.spec == sent.spec
    assert created.status.phase == memory_pb2.MemoryStatus.Pending
    row = await db.fetchrow(
        "SELECT memory_name, provider, status, connection_secret FROM memory_resources WHERE id = $1",
        uuid.UUID(created.id),
    )
    assert row["memory_name"] == sent.name
    assert row["provider"] == "postgres"
    assert row["status"] == "Pending"
    assert json.loads(row["connection_secret"]) == {"name": "memory-db", "key": "uri"}


@pytest.mark.parametrize(
    ("mutate", "field"),
    [
        (lambda m: m.spec.ClearField("type"), "spec.type"),
        (lambda m: m.spec.connection.secret_ref.ClearField("name"), "spec.connection.secretRef.name"),
        (lambda m: m.spec.connection.secret_ref.ClearField("key"), "spec.connection.secretRef.key"),
        (lambda m: m.spec.capabilities.append(memory_pb2.MemorySpec.vector), "spec.capabilities[2]"),
    ],
)
async def test_memory_validation(memories, mutate, field):
    resource = builders.memory()
    mutate(resource)
    with pytest.raises(grpc.aio.AioRpcError) as error:
        await memories.CreateMemory(memory_pb2.CreateMemoryRequest(memory=resource), metadata=key())
    assert error.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert field in violated_fields(error.value)


async def test_custom_memory_needs_no_connection(memories):
    resource = memory_pb2.Memory(
        name=unique("mem"), spec=memory_pb2.MemorySpec(type=memory_pb2.MemorySpec.custom)
    )
    created = await memories.CreateMemory(memory_pb2.CreateMemoryRequest(memory=resource), metadata=key())
    assert created.spec.type == memory_pb2.MemorySpec.custom


def _steps(*steps: Step) -> orchestration_pb2.Orchestration:
    return orchestration_pb2.Orchestration(
        name=unique("orch"), spec=orchestration_pb2.OrchestrationSpec(steps=steps)
    )


@pytest.mark.parametrize(
    ("resource", "field"),
    [
        (_steps(), "spec.steps"),
        (
            _steps(
                Step(name="a", kind=Step.Checkpoint, depends_on=["b"]),
                Step(name="b", kind=Step.Checkpoint, depends_on=["a"]),
            ),
            "spec.steps",
        ),
        (_steps(Step(name="a", kind=Step.Checkpoint, depends_on=["ghost"])), "spec.steps[0].dependsOn[0]"),
        (_steps(Step(name="a", kind=Step.Checkpoint, depends_on=["a"])), "spec.steps[0].dependsOn[0]"),
        (
            _steps(Step(name="a", kind=Step.Checkpoint), Step(name="a", kind=Step.Checkpoint)),
            "spec.steps.name[1]",
        ),
        (_steps(Step(name="a")), "spec.steps[0].kind"),
        (_steps(Step(name="a", kind=Step.AgentRun)), "spec.steps[0].agentRef.name"),
        (_steps(Step(name="a", kind=Step.SignalWait)), "spec.steps[0].signalRef.name"),
        (_steps(Step(name="A_B", kind=Step.Checkpoint)), "spec.steps[0].name"),
        (_steps(Step(name="a", kind=Step.Checkpoint, retries=-1)), "spec.steps[0].retries"),
    ],
)
async def test_orchestration_graph_validation(orchestrations, resource, field):
    with pytest.raises(grpc.aio.AioRpcError) as error:
        await builders.create_orchestration(orchestrations, resource)
    assert error.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert field in violated_fields(error.value)


async def test_cycle_message_names_the_cycle(orchestrations):
    resource = _steps(
        Step(name="a", kind=Step.Checkpoint, depends_on=["c"]),
        Step(name="b", kind=Step.Checkpoint, depends_on=["a"]),
        Step(name="c", kind=Step.Checkpoint, depends_on=["b"]),
    )
    with pytest.raises(grpc.aio.AioRpcError) as error:
        await builders.create_orchestration(orchestrations, resource)
    assert "cycle" in error.value.details()
    assert all(step in error.value.details() for step in "abc")


async def test_orchestration_with_unfinished_runs_cannot_be_deleted(orchestrations, orchestration_runs):
    orchestration = await builders.create_orchestration(orchestrations, builders.orchestration())
    await builders.create_orchestration_run(
        orchestration_runs, builders.orchestration_run(orchestration.name)
    )
    with pytest.raises(grpc.aio.AioRpcError) as error:
        await orchestrations.DeleteOrchestration(
            orchestration_pb2.DeleteOrchestrationRequest(id=orchestration.id)
        )
    assert error.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert reason_of(error.value) == "ORCHESTRATION_IN_USE"
