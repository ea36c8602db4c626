"""The idempotency table of design.md section 5, row by row, over gRPC. (REST: tests/test_rest.py.)"""

from __future__ import annotations

import asyncio
import uuid

import grpc
import pytest

from jangar.v1 import agent_pb2, agent_run_pb2
from tests import builders
from tests.support import reason_of, unique


def _request(agent_name: str) -> agent_run_pb2.CreateAgentRunRequest:
    return agent_run_pb2.CreateAgentRunRequest(agent_run=builders.agent_run(agent_name))


@pytest.fixture
async def agent(channel, agents) -> agent_pb2.Agent:
    return await builders.create_agent(channel)


async def test_no_key_is_refused_and_nothing_is_written(agent_runs, agent, db):
    with pytest.raises(grpc.aio.AioRpcError) as error:
        await agent_runs.CreateAgentRun(_request(agent.name))
    assert error.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert reason_of(error.value) == "IDEMPOTENCY_KEY_MISSING"
    assert await db.fetchval("SELECT count(*) FROM agent_runs WHERE agent_id = $1", uuid.UUID(agent.id)) == 0


@pytest.mark.parametrize("bad", ["", "has space", "a,b", "x" * 256])
async def test_malformed_key_is_refused(agent_runs, agent, bad):
    with pytest.raises(grpc.aio.AioRpcError) as error:
        await agent_runs.CreateAgentRun(_request(agent.name), metadata=[("idempotency-key", bad)])
    assert error.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert reason_of(error.value) == "IDEMPOTENCY_KEY_INVALID"


async def test_every_post_needs_a_key(agents, memories, orchestrations, orchestration_runs):
    from jangar.v1 import memory_pb2, orchestration_pb2, orchestration_run_pb2

    calls = [
        agents.CreateAgent(agent_pb2.CreateAgentRequest(agent=builders.agent())),
        memories.CreateMemory(memory_pb2.CreateMemoryRequest(memory=builders.memory())),
        orchestrations.CreateOrchestration(
            orchestration_pb2.CreateOrchestrationRequest(orchestration=builders.orchestration())
        ),
        orchestration_runs.CreateOrchestrationRun(
            orchestration_run_pb2.CreateOrchestrationRunRequest(
                orchestration_run=builders.orchestration_run("x")
            )
        ),
        orchestration_runs.CancelOrchestrationRun(
            orchestration_run_pb2.CancelOrchestrationRunRequest(id="x")
        ),
    ]
    for call in calls:
        with pytest.raises(grpc.aio.AioRpcError) as error:
            await call
        assert reason_of(error.value) == "IDEMPOTENCY_KEY_MISSING"


async def test_same_key_same_request_replays_the_stored_response(agent_runs, agent, db):
    key = [("idempotency-key", f"replay-{uuid.uuid4()}")]
    first_call = agent_runs.CreateAgentRun(_request(agent.name), metadata=key)
    first = await first_call
    replay_call = agent_runs.CreateAgentRun(_request(agent.name), metadata=key)
    replay = await replay_call

    assert replay.SerializeToString() == first.SerializeToString()
    assert ("idempotent-replayed", "true") in tuple(await replay_call.initial_metadata())
    assert ("idempotent-replayed", "true") not in tuple(await first_call.initial_metadata())
    assert await db.fetchval("SELECT count(*) FROM agent_runs WHERE agent_id = $1", uuid.UUID(agent.id)) == 1
    assert (
        await db.fetchval("SELECT count(*) FROM audit_events WHERE entity_id = $1", uuid.UUID(first.id)) == 1
    )


async def test_replay_returns_the_original_response_even_after_the_run_changed(agent_runs, agent):
    key = [("idempotency-key", f"later-{uuid.uuid4()}")]
    created = await agent_runs.CreateAgentRun(_request(agent.name), metadata=key)
    await agent_runs.CancelAgentRun(
        agent_run_pb2.CancelAgentRunRequest(id=created.id),
        metadata=[("idempotency-key", unique("c"))],
    )
    replay = await agent_runs.CreateAgentRun(_request(agent.name), metadata=key)
    assert replay == created


async def test_default_values_and_field_order_do_not_change_the_fingerprint(agent_runs, agent):
    key = [("idempotency-key", f"canon-{uuid.uuid4()}")]
    plain = builders.agent_run(agent.name)
    first = await agent_runs.CreateAgentRun(
        agent_run_pb2.CreateAgentRunRequest(agent_run=plain), metadata=key
    )
    explicit = builders.agent_run(agent.name, namespace="default")
    explicit.status.phase = 3  # output only: ignored, so it is the same request
    replay = await agent_runs.CreateAgentRun(
        agent_run_pb2.CreateAgentRunRequest(agent_run=explicit), metadata=key
    )
    assert replay == first


async def test_same_key_different_request_is_refused(agent_runs, agent, db):
    key = [("idempotency-key", f"reuse-{uuid.uuid4()}")]
    await agent_runs.CreateAgentRun(_request(agent.name), metadata=key)
    changed = _request(agent.name)
    changed.agent_run.spec.parameters["repo"] = "other/repo"
    with pytest.raises(grpc.aio.AioRpcError) as error:
        await agent_runs.CreateAgentRun(changed, metadata=key)
    assert error.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert reason_of(error.value) == "IDEMPOTENCY_KEY_REUSED"
    assert ("x-jangar-http-status", "422") in tuple(error.value.trailing_metadata())
    assert await db.fetchval("SELECT count(*) FROM agent_runs WHERE agent_id = $1", uuid.UUID(agent.id)) == 1


async def test_same_key_on_another_endpoint_is_refused(agents, agent_runs, agent):
    key = [("idempotency-key", f"cross-{uuid.uuid4()}")]
    await agent_runs.CreateAgentRun(_request(agent.name), metadata=key)
    with pytest.raises(grpc.aio.AioRpcError) as error:
        await agents.CreateAgent(agent_pb2.CreateAgentRequest(agent=builders.agent()), metadata=key)
    assert reason_of(error.value) == "IDEMPOTENCY_KEY_REUSED"
    assert "another endpoint" in error.value.details()


async def test_failed_request_stores_nothing_so_a_retry_runs_again(channel, agents, agent_runs):
    name = unique("late")
    key = [("idempotency-key", f"retry-{uuid.uuid4()}")]
    with pytest.raises(grpc.aio.AioRpcError) as error:
        await agent_runs.CreateAgentRun(_request(name), metadata=key)
    assert error.value.code() == grpc.StatusCode.NOT_FOUND
    await builders.create_agent(channel, builders.agent(name))
    created = await agent_runs.CreateAgentRun(_request(name), metadata=key)
    assert created.status.phase != 0


async def test_concurrent_duplicates_create_one_run(agent_runs, agent, db):
    key = [("idempotency-key", f"race-{uuid.uuid4()}")]
    calls = [agent_runs.CreateAgentRun(_request(agent.name), metadata=key) for _ in range(12)]
    replies = await asyncio.gather(*calls)
    assert len({reply.id for reply in replies}) == 1
    assert len({reply.SerializeToString() for reply in replies}) == 1
    assert await db.fetchval("SELECT count(*) FROM agent_runs WHERE agent_id = $1", uuid.UUID(agent.id)) == 1
    assert (
        await db.fetchval("SELECT count(*) FROM audit_events WHERE entity_id = $1", uuid.UUID(replies[0].id))
        == 1
    )


async def test_request_still_in_flight_is_reported_in_use(agent_runs, agent, db, pg_url):
    """A key whose first request holds its claim longer than the lock timeout answers IN_USE."""
    key_value = f"inflight-{uuid.uuid4()}"
    async with db.acquire() as connection, connection.transaction():
        # Stand in for a first request that has claimed the key and not committed yet.
        await connection.execute(
            "INSERT INTO idempotency_keys(principal, key, method, fingerprint) "
            "VALUES ('anonymous', $1, 'm', 'x')",
            key_value,
        )
        with pytest.raises(grpc.aio.AioRpcError) as error:
            await agent_runs.CreateAgentRun(_request(agent.name), metadata=[("idempotency-key", key_value)])
        await connection.execute("SELECT 1")
    assert error.value.code() == grpc.StatusCode.ABORTED
    assert reason_of(error.value) == "IDEMPOTENCY_KEY_IN_USE"


async def test_key_is_stored_with_its_fingerprint_and_response(agent_runs, agent, db):
    key_value = f"stored-{uuid.uuid4()}"
    reply = await agent_runs.CreateAgentRun(_request(agent.name), metadata=[("idempotency-key", key_value)])
    row = await db.fetchrow("SELECT * FROM idempotency_keys WHERE key = $1", key_value)
    assert row["method"] == "jangar.v1.AgentRunService/CreateAgentRun"
    assert len(row["fingerprint"]) == 32
    assert row["response"] == reply.SerializeToString(deterministic=True)
    assert str(row["resource_id"]) == reply.id
