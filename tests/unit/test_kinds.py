"""The kind registry reads everything from the descriptors: names, methods, paths, parents and filters."""

from __future__ import annotations

import pytest

from jangar.server.core.kinds import Verb, registry, snake_case
from jangar.v1 import agent_provider_pb2, agent_run_pb2


def test_every_kind_with_its_group_plural_and_collection():
    rows = {(k.name, k.crd_group, k.plural, k.collection, k.is_run) for k in registry()}
    assert rows == {
        ("Agent", "agents.proompteng.ai", "agents", "/v1/agents", False),
        ("AgentProvider", "agents.proompteng.ai", "agent_providers", "/v1/agent-providers", False),
        ("AgentRun", "agents.proompteng.ai", "agent_runs", "/v1/agent-runs", True),
        ("Memory", "agents.proompteng.ai", "memories", "/v1/memories", False),
        ("Orchestration", "orchestration.proompteng.ai", "orchestrations", "/v1/orchestrations", False),
        (
            "OrchestrationRun",
            "orchestration.proompteng.ai",
            "orchestration_runs",
            "/v1/orchestration-runs",
            True,
        ),
        ("Tool", "tools.proompteng.ai", "tools", "/v1/tools", False),
        ("ToolRun", "tools.proompteng.ai", "tool_runs", "/v1/tool-runs", True),
    }


def test_multi_word_kinds_get_their_declared_method_names():
    provider = registry()["AgentProvider"]
    assert {verb: m.name for verb, m in provider.methods.items()} == {
        Verb.CREATE: "CreateAgentProvider",
        Verb.GET: "GetAgentProvider",
        Verb.LIST: "ListAgentProviders",
        Verb.UPDATE: "UpdateAgentProvider",
        Verb.DELETE: "DeleteAgentProvider",
    }
    assert provider.method(Verb.LIST).response_class is agent_provider_pb2.ListAgentProvidersResponse
    assert provider.method(Verb.CREATE).full_name == "jangar.v1.AgentProviderService/CreateAgentProvider"


def test_run_kinds_know_their_parent_and_list_filters():
    run = registry()["AgentRun"]
    assert run.parent is not None
    assert (run.parent.kind, run.parent.id_field, run.parent.ref_field) == ("Agent", "agent_id", "agent_ref")
    assert (run.parent.name_field, run.parent.column_prefix) == ("agent_name", "agent")
    assert [(f.field, f.json_name, f.is_uuid) for f in run.list_filters] == [
        ("agent_id", "agentId", True),
        ("agent_name", "agentName", False),
    ]
    assert run.lists_by_phase
    assert run.message_class is agent_run_pb2.AgentRun
    assert registry().children(registry()["Agent"]) == (run,)
    assert registry().children(registry()["AgentProvider"]) == ()


def test_every_service_is_listed_once_including_the_run_view():
    names = registry().service_names
    assert len(names) == len(set(names))
    assert "jangar.v1.RunService" in names
    # Besides the kinds' services: the run view, the reconciler's stream, and Memories' records.
    views = {"jangar.v1.RunService", "jangar.v1.ReconcilerService", "jangar.v1.MemoryRecordService"}
    assert {k.service.full_name for k in registry()} == set(names) - views


@pytest.mark.parametrize(
    ("camel", "snake"),
    [
        ("agentRuns", "agent_runs"),
        ("SecretBindings", "secret_bindings"),
        ("signalDeliveries", "signal_deliveries"),
    ],
)
def test_snake_case(camel, snake):
    assert snake_case(camel) == snake
