"""AgentRuns, OrchestrationRuns and the Run view over gRPC."""

from __future__ import annotations

import json
import re
import uuid
from datetime import UTC

import grpc
import pytest

from jangar.v1 import (
    agent_pb2,
    agent_provider_pb2,
    agent_provider_pb2_grpc,
    agent_run_pb2,
    orchestration_pb2,
    orchestration_run_pb2,
    run_pb2,
)
from jangar.v1.run_phase_pb2 import RunPhase
from tests import builders
from tests.builders import key
from tests.support import error_details, reason_of, unique, violated_fields


async def test_agent_run_starts_pending_for_an_existing_agent(channel, agents, agent_runs, db):
    agent = await builders.create_agent(channel, builders.agent(namespace="jangar"))
    metadata = key()
    sent = builders.agent_run(agent.name, namespace="jangar", team="search")
    reply = await agent_runs.CreateAgentRun(
        agent_run_pb2.CreateAgentRunRequest(agent_run=sent), metadata=metadata
    )
    run = reply

    assert uuid.UUID(run.id)
    assert run.spec == sent.spec
    assert run.agent_id == agent.id
    assert run.delivery_id == metadata[0][1]
    assert run.status.phase == RunPhase.Pending
    assert run.generation == 1
    assert re.fullmatch(rf"{agent.name}-[a-z0-9]{{5}}", run.name), run.name

    row = await db.fetchrow("SELECT * FROM agent_runs WHERE id = $1", uuid.UUID(run.id))
    assert (row["agent_name"], row["delivery_id"], row["provider"], row["status"]) == (
        agent.name,
        run.delivery_id,
        "codex",
        "Pending",
    )
    # The stored spec is the AgentRun custom resource's spec.
    assert json.loads(row["payload"]) == {
        "agentRef": {"name": agent.name},
        "parameters": {"repo": "proompteng/lab"},
        "goal": {"objective": "fix the flaky test", "tokenBudget": 20000},
        "workload": {
            "image": "ghcr.io/proompteng/runner:1",
            "resources": {"limits": {"cpu": "500m", "memory": "1Gi"}},
        },
    }
    audit = await db.fetch(
        "SELECT event_type, delivery_id, actor, request_id FROM audit_events WHERE entity_id = $1",
        uuid.UUID(run.id),
    )
    assert [(a["event_type"], a["delivery_id"], a["actor"]) for a in audit] == [
        ("Created", run.delivery_id, "anonymous")
    ]
    assert audit[0]["request_id"]


async def test_run_of_a_missing_agent_is_not_found_and_writes_nothing(agent_runs, db):
    ghost = unique("ghost")
    metadata = key()
    with pytest.raises(grpc.aio.AioRpcError) as error:
        await agent_runs.CreateAgentRun(
            agent_run_pb2.CreateAgentRunRequest(agent_run=builders.agent_run(ghost)), metadata=metadata
        )
    assert error.value.code() == grpc.StatusCode.NOT_FOUND
    assert reason_of(error.value) == "AGENT_NOT_FOUND"
    assert await db.fetchval("SELECT count(*) FROM agent_runs WHERE agent_name = $1", ghost) == 0
    assert await db.fetchval("SELECT count(*) FROM idempotency_keys WHERE key = $1", metadata[0][1]) == 0


async def test_agent_must_exist_in_the_runs_namespace(channel, agents, agent_runs):
    agent = await builders.create_agent(channel, builders.agent(namespace="team-a"))
    with pytest.raises(grpc.aio.AioRpcError) as error:
        await builders.create_agent_run(agent_runs, builders.agent_run(agent.name, namespace="team-b"))
    assert error.value.code() == grpc.StatusCode.NOT_FOUND


async def test_named_run_conflict_names_the_existing_run(channel, agents, agent_runs):
    agent = await builders.create_agent(channel)
    first = await builders.create_agent_run(agent_runs, builders.agent_run(agent.name, name=unique("run")))
    with pytest.raises(grpc.aio.AioRpcError) as error:
        await builders.create_agent_run(agent_runs, builders.agent_run(agent.name, name=first.name))
    assert error.value.code() == grpc.StatusCode.ALREADY_EXISTS
    info = error_details(error.value)["ErrorInfo"]
    assert info.reason == "AGENT_RUN_ALREADY_EXISTS"
    assert info.metadata["existingId"] == first.id


@pytest.mark.parametrize(
    ("mutate", "field"),
    [
        (lambda r: r.spec.agent_ref.ClearField("name"), "spec.agentRef.name"),
        (lambda r: r.spec.goal.__setattr__("token_budget", -1), "spec.goal.tokenBudget"),
        (
            lambda r: r.spec.workload.resources.limits.__setitem__("cpu", "lots"),
            "spec.workload.resources.limits['cpu']",
        ),
        (
            lambda r: r.spec.workload.resources.requests.__setitem__("memory", "-1Gi"),
            "spec.workload.resources.requests['memory']",
        ),
        (lambda r: r.spec.secrets.append("Not_A_Secret"), "spec.secrets[0]"),
        (
            lambda r: r.spec.workload.__setattr__("service_account_name", "UPPER"),
            "spec.workload.serviceAccountName",
        ),
        (lambda r: r.__setattr__("name", "x" * 64), "name"),
        (lambda r: r.labels.__setitem__("bad key!", "v"), "labels['bad key!']"),
        (lambda r: r.labels.__setitem__("ok", "v" * 64), "labels['ok']"),
        (lambda r: r.annotations.__setitem__("/nope", "v"), "annotations['/nope']"),
        (lambda r: r.spec.parameters.__setitem__("big", "x" * 17000), "spec.parameters['big']"),
        (lambda r: r.__setattr__("namespace", "Bad"), "namespace"),
        (lambda r: r.spec.__setattr__("ttl_seconds_after_finished", -5), "spec.ttlSecondsAfterFinished"),
    ],
)
async def test_agent_run_field_validation(agent_runs, mutate, field):
    run = builders.agent_run("some-agent")
    mutate(run)
    with pytest.raises(grpc.aio.AioRpcError) as error:
        await builders.create_agent_run(agent_runs, run)
    assert error.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert reason_of(error.value) == "INVALID_ARGUMENT"
    assert field in violated_fields(error.value)


async def test_all_problems_are_reported_at_once(agent_runs):
    run = agent_run_pb2.AgentRun(name="BAD", namespace="Bad", spec=agent_run_pb2.AgentRunSpec())
    with pytest.raises(grpc.aio.AioRpcError) as error:
        await builders.create_agent_run(agent_runs, run)
    assert {"name", "namespace", "spec.agentRef.name"} <= set(violated_fields(error.value))


async def test_cancel_moves_a_pending_run_to_cancelled_once(channel, agents, agent_runs, db):
    agent = await builders.create_agent(channel)
    run = await builders.create_agent_run(agent_runs, builders.agent_run(agent.name))
    reply = await agent_runs.CancelAgentRun(
        agent_run_pb2.CancelAgentRunRequest(id=run.id, reason="not needed"), metadata=key()
    )
    cancelled = reply
    assert cancelled.status.phase == RunPhase.Cancelled
    assert cancelled.status.message == "not needed"
    assert cancelled.status.HasField("finish_time")
    assert cancelled.etag != run.etag

    again = await agent_runs.CancelAgentRun(agent_run_pb2.CancelAgentRunRequest(id=run.id), metadata=key())
    assert again == cancelled
    events = await db.fetch("SELECT event_type FROM audit_events WHERE entity_id = $1", uuid.UUID(run.id))
    assert sorted(e["event_type"] for e in events) == ["Cancelled", "Created"]


async def test_agent_with_unfinished_runs_cannot_be_deleted(channel, agents, agent_runs):
    agent = await builders.create_agent(channel)
    run = await builders.create_agent_run(agent_runs, builders.agent_run(agent.name))
    with pytest.raises(grpc.aio.AioRpcError) as error:
        await agents.DeleteAgent(agent_pb2.DeleteAgentRequest(id=agent.id))
    assert error.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert reason_of(error.value) == "AGENT_IN_USE"
    violations = error_details(error.value)["PreconditionFailure"].violations
    assert [v.subject for v in violations] == [f"AgentRun/{run.id}"]

    await agent_runs.CancelAgentRun(agent_run_pb2.CancelAgentRunRequest(id=run.id), metadata=key())
    await agents.DeleteAgent(agent_pb2.DeleteAgentRequest(id=agent.id))
    kept = await agent_runs.GetAgentRun(agent_run_pb2.GetAgentRunRequest(id=run.id))
    assert kept.agent_id == agent.id  # run history outlives its agent


async def test_orchestration_run_lists_every_step_pending(agents, orchestrations, orchestration_runs):
    orchestration = await builders.create_orchestration(orchestrations, builders.orchestration())
    run = await builders.create_orchestration_run(
        orchestration_runs, builders.orchestration_run(orchestration.name)
    )
    assert run.orchestration_id == orchestration.id
    assert run.status.phase == RunPhase.Pending
    assert run.status.orchestration_generation == 1
    assert [(s.name, s.phase) for s in run.status.step_statuses] == [
        ("plan", RunPhase.Pending),
        ("approve", RunPhase.Pending),
        ("write", RunPhase.Pending),
    ]
    assert run.status.step_statuses[1].kind == orchestration_pb2.OrchestrationStep.ApprovalGate

    reply = await orchestration_runs.CancelOrchestrationRun(
        orchestration_run_pb2.CancelOrchestrationRunRequest(id=run.id), metadata=key()
    )
    assert reply.status.phase == RunPhase.Cancelled
    assert {s.phase for s in reply.status.step_statuses} == {RunPhase.Cancelled}


async def test_run_of_a_missing_orchestration_is_not_found(orchestration_runs):
    with pytest.raises(grpc.aio.AioRpcError) as error:
        await builders.create_orchestration_run(
            orchestration_runs, builders.orchestration_run(unique("none"))
        )
    assert error.value.code() == grpc.StatusCode.NOT_FOUND
    assert reason_of(error.value) == "ORCHESTRATION_NOT_FOUND"


async def test_run_view_normalizes_both_kinds(
    channel, agents, orchestrations, agent_runs, orchestration_runs, runs
):
    agent = await builders.create_agent(channel)
    agent_run = await builders.create_agent_run(agent_runs, builders.agent_run(agent.name))
    orchestration = await builders.create_orchestration(orchestrations, builders.orchestration())
    orchestration_run = await builders.create_orchestration_run(
        orchestration_runs, builders.orchestration_run(orchestration.name)
    )

    view = await runs.GetRun(run_pb2.GetRunRequest(id=agent_run.id))
    assert (view.kind, view.id, view.name, view.phase) == (
        "AgentRun",
        agent_run.id,
        agent_run.name,
        RunPhase.Pending,
    )
    assert (view.parent.kind, view.parent.id, view.parent.name) == ("Agent", agent.id, agent.name)
    assert view.delivery_id == agent_run.delivery_id
    assert view.create_time == agent_run.create_time

    view = await runs.GetRun(run_pb2.GetRunRequest(id=orchestration_run.name))
    assert (view.kind, view.id) == ("OrchestrationRun", orchestration_run.id)
    assert (view.parent.kind, view.parent.name) == ("Orchestration", orchestration.name)

    with pytest.raises(grpc.aio.AioRpcError) as missing:
        await runs.GetRun(run_pb2.GetRunRequest(id=str(uuid.uuid4())))
    assert missing.value.code() == grpc.StatusCode.NOT_FOUND
    assert reason_of(missing.value) == "RUN_NOT_FOUND"


async def test_run_view_history_has_each_phase_change_at_its_recorded_time(
    channel, agents, agent_runs, runs, db
):
    agent = await builders.create_agent(channel)
    run = await builders.create_agent_run(agent_runs, builders.agent_run(agent.name))
    cancelled = await agent_runs.CancelAgentRun(
        agent_run_pb2.CancelAgentRunRequest(id=run.id, reason="not needed"), metadata=key()
    )

    view = await runs.GetRun(run_pb2.GetRunRequest(id=run.id))
    recorded = await db.fetch(
        "SELECT to_phase, created_at FROM run_transitions WHERE run_id = $1 ORDER BY created_at, id",
        uuid.UUID(run.id),
    )
    assert [(RunPhase.Name(h.to_phase), h.time.ToDatetime(UTC)) for h in view.history] == [
        (r["to_phase"], r["created_at"]) for r in recorded
    ]
    assert [RunPhase.Name(h.to_phase) for h in view.history] == ["Pending", "Cancelled"]
    assert view.finish_time == cancelled.status.finish_time
    assert view.update_time == cancelled.update_time


async def test_each_kind_of_run_has_its_own_history_by_id_and_by_name(
    channel, agents, orchestrations, agent_runs, orchestration_runs, runs, db
):
    agent = await builders.create_agent(channel)
    orchestration = await builders.create_orchestration(orchestrations, builders.orchestration())
    agent_run = await builders.create_agent_run(agent_runs, builders.agent_run(agent.name))
    orchestration_run = await builders.create_orchestration_run(
        orchestration_runs, builders.orchestration_run(orchestration.name)
    )
    await orchestration_runs.CancelOrchestrationRun(
        orchestration_run_pb2.CancelOrchestrationRunRequest(id=orchestration_run.id, reason="not needed"),
        metadata=key(),
    )

    for run, kind in ((agent_run, "AgentRun"), (orchestration_run, "OrchestrationRun")):
        recorded = await db.fetch(
            "SELECT to_phase, reason FROM run_transitions WHERE run_id = $1 ORDER BY created_at, id",
            uuid.UUID(run.id),
        )
        assert recorded
        for ref in (run.id, run.name):
            view = await runs.GetRun(run_pb2.GetRunRequest(id=ref, namespace=run.namespace))
            assert (view.kind, view.id) == (kind, run.id)
            assert [(RunPhase.Name(h.to_phase), h.reason) for h in view.history] == [
                (r["to_phase"], r["reason"]) for r in recorded
            ]
    cancelled = await runs.GetRun(run_pb2.GetRunRequest(id=orchestration_run.id))
    assert RunPhase.Name(cancelled.history[-1].to_phase) == "Cancelled"


async def test_run_name_shared_by_both_kinds_is_ambiguous(
    channel, agents, orchestrations, agent_runs, orchestration_runs, runs
):
    name = unique("same")
    agent = await builders.create_agent(channel)
    orchestration = await builders.create_orchestration(orchestrations, builders.orchestration())
    await builders.create_agent_run(agent_runs, builders.agent_run(agent.name, name=name))
    await builders.create_orchestration_run(
        orchestration_runs, builders.orchestration_run(orchestration.name, name=name)
    )
    with pytest.raises(grpc.aio.AioRpcError) as error:
        await runs.GetRun(run_pb2.GetRunRequest(id=name))
    assert error.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert reason_of(error.value) == "RUN_NAME_AMBIGUOUS"


async def test_each_run_is_planned_from_its_provider_as_it_is_then(channel, agents, agent_runs, db):
    providers = agent_provider_pb2_grpc.AgentProviderServiceStub(channel)
    provider = await providers.CreateAgentProvider(
        agent_provider_pb2.CreateAgentProviderRequest(agent_provider=builders.provider()), metadata=key()
    )
    agent = builders.agent()
    agent.spec.provider_ref.name = provider.name
    agent = await builders.create_agent(channel, agent)
    first = await builders.create_agent_run(agent_runs, builders.agent_run(agent.name))
    await providers.UpdateAgentProvider(
        agent_provider_pb2.UpdateAgentProviderRequest(
            id=provider.id,
            agent_provider=agent_provider_pb2.AgentProvider(
                spec=agent_provider_pb2.AgentProviderSpec(args_template=["exec", "--v2"])
            ),
            update_mask={"paths": ["spec.args_template"]},
        )
    )
    second = await builders.create_agent_run(agent_runs, builders.agent_run(agent.name))

    async def argv(run_id: str) -> list[str]:
        payload = await db.fetchval(
            "SELECT payload FROM outbox WHERE run_id = $1 AND operation = 'start'", uuid.UUID(run_id)
        )
        return json.loads(payload)["argv"]

    assert await argv(first.id) == ["codex", "exec"]
    assert await argv(second.id) == ["codex", "exec", "--v2"]


async def start_payload(db, run_id: str) -> dict:
    """What the run's first attempt executes: its outbox `start` entry."""
    payload = await db.fetchval(
        "SELECT payload FROM outbox WHERE run_id = $1 AND operation = 'start'", uuid.UUID(run_id)
    )
    return json.loads(payload)


async def test_each_run_is_planned_from_its_agent_as_it_is_then(channel, agents, agent_runs, db):
    # The server remembers an agent between creates; a change must still reach the very next run.
    agent = await builders.create_agent(channel)
    first = await builders.create_agent_run(agent_runs, builders.agent_run(agent.name))
    changed = await agents.UpdateAgent(
        agent_pb2.UpdateAgentRequest(
            id=agent.id,
            agent=agent_pb2.Agent(spec=agent_pb2.AgentSpec(env=[{"name": "LOG_LEVEL", "value": "warn"}])),
            update_mask={"paths": ["spec.env"]},
        )
    )
    second = await builders.create_agent_run(agent_runs, builders.agent_run(agent.name))

    assert (await start_payload(db, first.id))["env"]["LOG_LEVEL"] == "debug"
    assert (await start_payload(db, second.id))["env"]["LOG_LEVEL"] == "warn"
    run_document = (await start_payload(db, second.id))["run_document"]
    assert run_document["agent"]["etag"] == changed.etag


async def test_a_change_made_by_another_replica_reaches_the_next_run(channel, agent_runs, db):
    # Another server process writes the row as this one would (new version, new update time) without this
    # process hearing of it: the create it decides from what it remembers must notice and read again.
    agent = await builders.create_agent(channel)
    first = await builders.create_agent_run(agent_runs, builders.agent_run(agent.name))
    await db.execute(
        "UPDATE agent_providers SET spec = jsonb_set(spec, '{argsTemplate}', '[\"exec\", \"--other\"]'), "
        "resource_version = resource_version + 1, updated_at = now() WHERE namespace = $1 AND name = $2",
        agent.namespace,
        agent.spec.provider_ref.name,
    )
    second = await builders.create_agent_run(agent_runs, builders.agent_run(agent.name))
    third = await builders.create_agent_run(agent_runs, builders.agent_run(agent.name))

    assert (await start_payload(db, first.id))["argv"] == ["codex", "exec"]
    assert (await start_payload(db, second.id))["argv"] == ["codex", "exec", "--other"]
    assert (await start_payload(db, third.id))["argv"] == ["codex", "exec", "--other"]
    # Each create wrote its run once: the one that found the provider changed wrote nothing before retrying.
    assert await db.fetchval("SELECT count(*) FROM agent_runs WHERE agent_name = $1", agent.name) == 3
    keys = await db.fetchval(
        "SELECT count(*) FROM idempotency_keys WHERE resource_id = ANY($1::uuid[])",
        [uuid.UUID(r.id) for r in (first, second, third)],
    )
    assert keys == 3


async def test_a_run_names_the_agent_that_now_has_the_name(channel, agents, agent_runs):
    agent = await builders.create_agent(channel)
    run = await builders.create_agent_run(agent_runs, builders.agent_run(agent.name))
    await agent_runs.CancelAgentRun(agent_run_pb2.CancelAgentRunRequest(id=run.id), metadata=key())
    await agents.DeleteAgent(agent_pb2.DeleteAgentRequest(id=agent.id))

    with pytest.raises(grpc.aio.AioRpcError) as error:
        await builders.create_agent_run(agent_runs, builders.agent_run(agent.name))
    assert error.value.code() == grpc.StatusCode.NOT_FOUND

    again = await builders.create_agent(channel, builders.agent(name=agent.name))
    later = await builders.create_agent_run(agent_runs, builders.agent_run(agent.name))
    assert again.id != agent.id
    assert later.agent_id == again.id
