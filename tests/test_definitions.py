"""Agents, Memories and Orchestrations over gRPC: create, read, list, update with etag and mask, delete."""

from __future__ import annotations

import json
import uuid

import grpc
import pytest
from google.protobuf import field_mask_pb2

from jangar.v1 import agent_pb2, memory_pb2, orchestration_pb2
from tests import builders
from tests.builders import Step, key
from tests.support import error_details, reason_of, unique, violated_fields


async def test_create_agent_returns_the_full_resource(agents):
    sent = builders.agent(namespace="jangar", team="search")
    created = await builders.create_agent(agents, sent)

    assert uuid.UUID(created.id)
    assert (created.name, created.namespace) == (sent.name, "jangar")
    assert created.spec == sent.spec
    assert dict(created.labels) == {"team": "search"}
    assert created.generation == 1
    assert created.etag
    assert created.create_time.seconds > 0 and created.update_time == created.create_time
    assert [(c.type, c.status) for c in created.status.conditions] == [("Accepted", "True")]
    assert not created.HasField("delete_time")


async def test_namespace_defaults_to_default_and_output_only_fields_are_ignored(agents):
    sent = builders.agent(namespace="")
    sent.id = "00000000-0000-0000-0000-000000000001"
    sent.generation = 42
    sent.etag = "forged"
    created = await builders.create_agent(agents, sent)
    assert created.namespace == "default"
    assert created.id != sent.id
    assert created.generation == 1
    assert created.etag != "forged"


async def test_get_by_id_and_by_name_with_namespace(agents):
    created = await builders.create_agent(agents, builders.agent(namespace="team-a"))

    by_id = await agents.GetAgent(agent_pb2.GetAgentRequest(id=created.id))
    by_name = await agents.GetAgent(agent_pb2.GetAgentRequest(id=created.name, namespace="team-a"))
    assert by_id == created
    assert by_name == created

    with pytest.raises(grpc.aio.AioRpcError) as missing:
        await agents.GetAgent(agent_pb2.GetAgentRequest(id=created.name))  # wrong (default) namespace
    assert missing.value.code() == grpc.StatusCode.NOT_FOUND
    assert reason_of(missing.value) == "AGENT_NOT_FOUND"


async def test_get_rejects_an_id_that_is_neither_uuid_nor_name(agents):
    with pytest.raises(grpc.aio.AioRpcError) as error:
        await agents.GetAgent(agent_pb2.GetAgentRequest(id="Not A Name"))
    assert error.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert violated_fields(error.value) == ["id"]


async def test_second_agent_with_the_same_name_is_refused_naming_the_existing_one(agents, db):
    first = await builders.create_agent(agents)
    with pytest.raises(grpc.aio.AioRpcError) as error:
        await builders.create_agent(agents, builders.agent(first.name))
    assert error.value.code() == grpc.StatusCode.ALREADY_EXISTS
    info = error_details(error.value)["ErrorInfo"]
    assert info.reason == "AGENT_ALREADY_EXISTS"
    assert info.metadata["existingId"] == first.id
    assert first.id in error.value.details()
    assert await db.fetchval("SELECT count(*) FROM agents WHERE name = $1", first.name) == 1


async def test_update_spec_bumps_generation_and_etag(agents, db):
    created = await builders.create_agent(agents)
    patch = agent_pb2.Agent(spec=agent_pb2.AgentSpec(defaults={"timeout_seconds": 30}))
    reply = await agents.UpdateAgent(
        agent_pb2.UpdateAgentRequest(
            id=created.id,
            agent=patch,
            update_mask=field_mask_pb2.FieldMask(paths=["spec.defaults.timeout_seconds"]),
            etag=created.etag,
        )
    )
    updated = reply
    assert updated.spec.defaults.timeout_seconds == 30
    assert updated.spec.defaults.retry_limit == created.spec.defaults.retry_limit  # untouched sibling
    assert updated.spec.provider_ref.name == "codex"
    assert updated.generation == 2
    assert updated.etag != created.etag
    assert updated.status.observed_generation == 2
    events = await db.fetch(
        "SELECT event_type FROM audit_events WHERE entity_id = $1 ORDER BY created_at", uuid.UUID(created.id)
    )
    assert [e["event_type"] for e in events] == ["Created", "Updated"]


async def test_label_only_update_keeps_generation(agents):
    created = await builders.create_agent(agents)
    reply = await agents.UpdateAgent(
        agent_pb2.UpdateAgentRequest(
            id=created.id,
            agent=agent_pb2.Agent(labels={"tier": "gold"}),
            update_mask=field_mask_pb2.FieldMask(paths=["labels"]),
        )
    )
    assert dict(reply.labels) == {"tier": "gold"}
    assert reply.generation == 1
    assert reply.etag != created.etag


async def test_empty_mask_replaces_the_fields_the_request_sets(agents):
    created = await builders.create_agent(agents, builders.agent(team="a"))
    reply = await agents.UpdateAgent(
        agent_pb2.UpdateAgentRequest(id=created.id, agent=agent_pb2.Agent(annotations={"note": "x"}))
    )
    assert dict(reply.annotations) == {"note": "x"}
    assert dict(reply.labels) == {"team": "a"}  # not sent, so not replaced


@pytest.mark.parametrize("how", ["body", "if-match"])
async def test_stale_etag_is_refused_and_nothing_changes(agents, how):
    created = await builders.create_agent(agents)
    await agents.UpdateAgent(
        agent_pb2.UpdateAgentRequest(
            id=created.id, agent=agent_pb2.Agent(labels={"v": "2"}), update_mask={"paths": ["labels"]}
        )
    )
    request = agent_pb2.UpdateAgentRequest(
        id=created.id, agent=agent_pb2.Agent(labels={"v": "3"}), update_mask={"paths": ["labels"]}
    )
    metadata = ()
    if how == "body":
        request.etag = created.etag
    else:
        metadata = (("if-match", f'"{created.etag}"'),)
    with pytest.raises(grpc.aio.AioRpcError) as error:
        await agents.UpdateAgent(request, metadata=metadata)
    assert error.value.code() == grpc.StatusCode.ABORTED
    assert reason_of(error.value) == "ETAG_MISMATCH"
    current = await agents.GetAgent(agent_pb2.GetAgentRequest(id=created.id))
    assert dict(current.labels) == {"v": "2"}


@pytest.mark.parametrize("path", ["name", "namespace", "status", "labels.team", "spec.nope", "generation"])
async def test_update_mask_names_only_mutable_fields(agents, path):
    created = await builders.create_agent(agents)
    with pytest.raises(grpc.aio.AioRpcError) as error:
        await agents.UpdateAgent(
            agent_pb2.UpdateAgentRequest(
                id=created.id, agent=agent_pb2.Agent(name="x"), update_mask={"paths": [path]}
            )
        )
    assert error.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert violated_fields(error.value) == ["updateMask"]


async def test_update_that_breaks_the_spec_is_refused(agents):
    created = await builders.create_agent(agents)
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


async def test_delete_returns_the_resource_and_frees_the_name(agents, db):
    created = await builders.create_agent(agents)
    with pytest.raises(grpc.aio.AioRpcError) as stale:
        await agents.DeleteAgent(agent_pb2.DeleteAgentRequest(id=created.id, etag="999"))
    assert stale.value.code() == grpc.StatusCode.ABORTED

    deleted = await agents.DeleteAgent(agent_pb2.DeleteAgentRequest(id=created.id, etag=created.etag))
    assert deleted.id == created.id
    assert deleted.HasField("delete_time")
    with pytest.raises(grpc.aio.AioRpcError) as gone:
        await agents.GetAgent(agent_pb2.GetAgentRequest(id=created.id))
    assert gone.value.code() == grpc.StatusCode.NOT_FOUND
    again = await builders.create_agent(agents, builders.agent(created.name))
    assert again.id != created.id
    events = await db.fetch("SELECT event_type FROM audit_events WHERE entity_id = $1", uuid.UUID(created.id))
    assert sorted(e["event_type"] for e in events) == ["Created", "Deleted"]


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


async def test_orchestration_round_trips_its_dag(orchestrations):
    sent = builders.orchestration()
    created = await builders.create_orchestration(orchestrations, sent)
    assert created.spec == sent.spec
    assert [s.name for s in created.spec.steps] == ["plan", "approve", "write"]


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


# Get, list, update and delete behave the same for every definition kind; these run them over gRPC for the
# two kinds the tests above do not cover in depth.

KINDS = {
    "memory": ("Memory", builders.memory, memory_pb2, "memories"),
    "orchestration": ("Orchestration", builders.orchestration, orchestration_pb2, "orchestrations"),
}


@pytest.mark.parametrize("kind", sorted(KINDS))
async def test_definition_lifecycle_over_grpc(kind, memories, orchestrations, db):
    name, build, module, plural = KINDS[kind]
    stub = memories if kind == "memory" else orchestrations
    namespace = unique("ns")
    resource = build(namespace=namespace, team="a")
    created = await getattr(stub, f"Create{name}")(
        getattr(module, f"Create{name}Request")(**{kind: resource}), metadata=key()
    )
    by_name = await getattr(stub, f"Get{name}")(
        getattr(module, f"Get{name}Request")(id=created.name, namespace=namespace)
    )
    assert by_name == created

    listed = await getattr(stub, f"List{plural.title()}")(
        getattr(module, f"List{plural.title()}Request")(namespace=namespace, label_selector="team=a")
    )
    assert [item.id for item in getattr(listed, plural)] == [created.id]

    updated = await getattr(stub, f"Update{name}")(
        getattr(module, f"Update{name}Request")(
            id=created.id, etag=created.etag, update_mask={"paths": ["labels"]}, **{kind: build(team="b")}
        )
    )
    assert dict(updated.labels) == {"team": "b"} and updated.generation == 1

    deleted = await getattr(stub, f"Delete{name}")(
        getattr(module, f"Delete{name}Request")(id=created.id, etag=updated.etag)
    )
    assert deleted.HasField("delete_time")
    with pytest.raises(grpc.aio.AioRpcError) as error:
        await getattr(stub, f"Get{name}")(getattr(module, f"Get{name}Request")(id=created.id))
    assert reason_of(error.value) == f"{name.upper()}_NOT_FOUND"
    events = await db.fetch(
        "SELECT event_type FROM audit_events WHERE entity_id = $1 ORDER BY created_at", uuid.UUID(created.id)
    )
    assert [e["event_type"] for e in events] == ["Created", "Updated", "Deleted"]


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
