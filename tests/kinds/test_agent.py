"""Agent: its sample for the conformance suite, and that its provider must exist and stays while agents name
it. (Its other behaviour: tests/test_definitions.py.)"""

from __future__ import annotations

import grpc
import pytest

from jangar.v1 import agent_pb2, agent_provider_pb2, agent_provider_pb2_grpc
from tests import builders
from tests.support import error_details, reason_of, unique, violated_fields

KIND = "Agent"


def sample(namespace: str, **labels: str) -> agent_pb2.Agent:
    return builders.agent(namespace=namespace, **labels)


def changed_spec() -> tuple[str, agent_pb2.AgentSpec]:
    return "spec.defaults.timeout_seconds", agent_pb2.AgentSpec(defaults={"timeout_seconds": 30})


@pytest.fixture
def providers(channel: grpc.aio.Channel) -> agent_provider_pb2_grpc.AgentProviderServiceStub:
    return agent_provider_pb2_grpc.AgentProviderServiceStub(channel)


async def test_an_agent_must_name_an_existing_provider_of_its_namespace(channel, agents, db):
    namespace = unique("ns")
    await builders.ensure_provider(channel, "elsewhere", "codex")
    agent = builders.agent(namespace=namespace)
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await agents.CreateAgent(agent_pb2.CreateAgentRequest(agent=agent), metadata=builders.key())
    assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert reason_of(refused.value) == "REFERENCE_NOT_FOUND"
    assert violated_fields(refused.value) == ["spec.providerRef.name"]
    assert await db.fetchval("SELECT count(*) FROM agents WHERE name = $1", agent.name) == 0


async def test_an_update_to_a_missing_provider_is_refused_and_changes_nothing(channel, agents):
    created = await builders.create_agent(channel, builders.agent(namespace=unique("ns")))
    patch = agent_pb2.Agent(spec=created.spec)
    patch.spec.provider_ref.name = "no-such-provider"
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await agents.UpdateAgent(
            agent_pb2.UpdateAgentRequest(id=created.id, agent=patch, update_mask={"paths": ["spec"]})
        )
    assert reason_of(refused.value) == "REFERENCE_NOT_FOUND"
    assert (await agents.GetAgent(agent_pb2.GetAgentRequest(id=created.id))) == created


async def test_a_provider_that_agents_name_cannot_be_deleted_until_they_are_gone(
    channel, agents, providers, http
):
    namespace = unique("ns")
    first = await builders.create_agent(channel, builders.agent(namespace=namespace))
    second = await builders.create_agent(channel, builders.agent(namespace=namespace))
    provider = await providers.GetAgentProvider(
        agent_provider_pb2.GetAgentProviderRequest(id="codex", namespace=namespace)
    )
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await providers.DeleteAgentProvider(agent_provider_pb2.DeleteAgentProviderRequest(id=provider.id))
    assert refused.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert reason_of(refused.value) == "AGENT_PROVIDER_IN_USE"
    failure = error_details(refused.value)["PreconditionFailure"]
    assert {v.subject for v in failure.violations} == {f"Agent/{first.id}", f"Agent/{second.id}"}
    over_rest = await http.delete(f"/v1/agent-providers/{provider.id}")
    assert over_rest.status_code == 409, over_rest.text

    for agent in (first, second):
        await agents.DeleteAgent(agent_pb2.DeleteAgentRequest(id=agent.id))
    deleted = await providers.DeleteAgentProvider(
        agent_provider_pb2.DeleteAgentProviderRequest(id=provider.id)
    )
    assert deleted.id == provider.id


async def test_a_provider_of_the_same_name_in_another_namespace_does_not_hold_a_delete(channel, providers):
    namespace = unique("ns")
    await builders.create_agent(channel, builders.agent(namespace=namespace))
    await builders.ensure_provider(channel, unique("other"), "codex")
    lonely = unique("ns")
    await builders.ensure_provider(channel, lonely, "codex")
    deleted = await providers.DeleteAgentProvider(
        agent_provider_pb2.DeleteAgentProviderRequest(id="codex", namespace=lonely)
    )
    assert deleted.name == "codex"
