"""Lists: keyset pagination across pages, filters, label selectors, and malformed parameters."""

from __future__ import annotations

import grpc
import pytest

from jangar.v1 import agent_pb2, run_pb2
from tests import builders
from tests.support import unique, violated_fields


async def _all_pages(call, request, field: str) -> list[list[str]]:
    pages = []
    while True:
        reply = await call(request)
        pages.append([item.name for item in getattr(reply, field)])
        if not reply.next_page_token:
            return pages
        request.page_token = reply.next_page_token


async def test_pages_cover_everything_once_newest_first(channel, agents):
    namespace = unique("ns")
    names = [
        (await builders.create_agent(channel, builders.agent(namespace=namespace))).name for _ in range(7)
    ]
    pages = await _all_pages(
        agents.ListAgents, agent_pb2.ListAgentsRequest(namespace=namespace, page_size=3), "agents"
    )
    assert [len(page) for page in pages] == [3, 3, 1]
    assert [name for page in pages for name in page] == list(reversed(names))


async def test_label_selector_filters_with_kubernetes_semantics(channel, agents):
    namespace = unique("ns")
    specs = {
        "a": {"team": "search", "tier": "gold"},
        "b": {"team": "search", "tier": "silver"},
        "c": {"team": "ads"},
        "d": {},
    }
    for suffix, labels in specs.items():
        await builders.create_agent(channel, builders.agent(f"agent-{suffix}", namespace, **labels))

    async def names(selector: str) -> set[str]:
        reply = await agents.ListAgents(
            agent_pb2.ListAgentsRequest(namespace=namespace, label_selector=selector)
        )
        return {agent.name.removeprefix("agent-") for agent in reply.agents}

    assert await names("team=search") == {"a", "b"}
    assert await names("team==search,tier!=gold") == {"b"}
    assert await names("tier in (gold, silver)") == {"a", "b"}
    assert await names("tier notin (gold)") == {"b", "c", "d"}
    assert await names("tier") == {"a", "b"}
    assert await names("!tier") == {"c", "d"}
    assert await names("") == {"a", "b", "c", "d"}


async def test_pagination_with_a_filter_keeps_the_filter(channel, agents):
    namespace = unique("ns")
    for index in range(5):
        await builders.create_agent(channel, builders.agent(namespace=namespace, parity=str(index % 2)))
    pages = await _all_pages(
        agents.ListAgents,
        agent_pb2.ListAgentsRequest(namespace=namespace, page_size=2, label_selector="parity=0"),
        "agents",
    )
    assert [len(page) for page in pages] == [2, 1]


async def test_page_token_is_bound_to_its_query(channel, agents):
    namespace = unique("ns")
    for _ in range(3):
        await builders.create_agent(channel, builders.agent(namespace=namespace))
    first = await agents.ListAgents(agent_pb2.ListAgentsRequest(namespace=namespace, page_size=1))
    with pytest.raises(grpc.aio.AioRpcError) as error:
        await agents.ListAgents(
            agent_pb2.ListAgentsRequest(
                namespace=namespace, page_size=1, page_token=first.next_page_token, label_selector="x"
            )
        )
    assert error.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert violated_fields(error.value) == ["pageToken"]


@pytest.mark.parametrize(
    ("request_", "field"),
    [
        (agent_pb2.ListAgentsRequest(page_size=501), "pageSize"),
        (agent_pb2.ListAgentsRequest(page_size=-1), "pageSize"),
        (agent_pb2.ListAgentsRequest(page_token="garbage!"), "pageToken"),
        (agent_pb2.ListAgentsRequest(label_selector="a in (b"), "labelSelector"),
        (agent_pb2.ListAgentsRequest(label_selector="Bad Key=1"), "labelSelector"),
        (agent_pb2.ListAgentsRequest(namespace="Not_A_Namespace"), "namespace"),
    ],
)
async def test_malformed_list_parameters_are_named(agents, request_, field):
    with pytest.raises(grpc.aio.AioRpcError) as error:
        await agents.ListAgents(request_)
    assert error.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert violated_fields(error.value) == [field]


async def test_run_view_lists_both_kinds_across_pages(
    channel, agents, orchestrations, agent_runs, orchestration_runs, runs
):
    namespace = unique("ns")
    agent = await builders.create_agent(channel, builders.agent(namespace=namespace))
    orchestration = await builders.create_orchestration(
        orchestrations, builders.orchestration(namespace=namespace)
    )
    created = []
    for index in range(5):
        if index % 2:
            run = await builders.create_agent_run(agent_runs, builders.agent_run(agent.name, namespace))
        else:
            run = await builders.create_orchestration_run(
                orchestration_runs, builders.orchestration_run(orchestration.name, namespace)
            )
        created.append(run.name)
    pages = await _all_pages(runs.ListRuns, run_pb2.ListRunsRequest(namespace=namespace, page_size=2), "runs")
    assert [len(page) for page in pages] == [2, 2, 1]
    assert [name for page in pages for name in page] == list(reversed(created))
    reply = await runs.ListRuns(run_pb2.ListRunsRequest(namespace=namespace))
    assert {run.kind for run in reply.runs} == {"AgentRun", "OrchestrationRun"}
