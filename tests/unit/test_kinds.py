"""The kind registry reads everything from the descriptors: names, methods, paths, parents and filters."""

from __future__ import annotations

import pytest

from jangar.server.core import kinds
from jangar.server.core.kinds import Category, KindError, Parent, Verb, category_of, registry, snake_case
from jangar.server.domain.policy_subjects import subject_kinds
from jangar.v1 import agent_provider_pb2, agent_run_pb2

DEFINITION, RUN, RECORD = Category.DEFINITION, Category.RUN, Category.RECORD


def test_every_kind_with_its_group_plural_and_collection():
    rows = {(k.name, k.crd_group, k.plural, k.collection, k.category) for k in registry()}
    assert rows == {
        ("Agent", "agents.proompteng.ai", "agents", "/v1/agents", DEFINITION),
        ("AgentProvider", "agents.proompteng.ai", "agent_providers", "/v1/agent-providers", DEFINITION),
        ("AgentRun", "agents.proompteng.ai", "agent_runs", "/v1/agent-runs", RUN),
        (
            "ApprovalPolicy",
            "approvals.proompteng.ai",
            "approval_policies",
            "/v1/approval-policies",
            DEFINITION,
        ),
        ("Budget", "budgets.proompteng.ai", "budgets", "/v1/budgets", DEFINITION),
        ("Memory", "agents.proompteng.ai", "memories", "/v1/memories", DEFINITION),
        ("Orchestration", "orchestration.proompteng.ai", "orchestrations", "/v1/orchestrations", DEFINITION),
        (
            "OrchestrationRun",
            "orchestration.proompteng.ai",
            "orchestration_runs",
            "/v1/orchestration-runs",
            RUN,
        ),
        ("SecretBinding", "security.proompteng.ai", "secret_bindings", "/v1/secret-bindings", DEFINITION),
        ("Signal", "signals.proompteng.ai", "signals", "/v1/signals", DEFINITION),
        ("SignalDelivery", "signals.proompteng.ai", "signal_deliveries", "/v1/signal-deliveries", RECORD),
        ("Tool", "tools.proompteng.ai", "tools", "/v1/tools", DEFINITION),
        ("ToolRun", "tools.proompteng.ai", "tool_runs", "/v1/tool-runs", RUN),
        ("Schedule", "schedules.proompteng.ai", "schedules", "/v1/schedules", DEFINITION),
        ("Workspace", "workspaces.proompteng.ai", "workspaces", "/v1/workspaces", DEFINITION),
        ("Artifact", "artifacts.proompteng.ai", "artifacts", "/v1/artifacts", DEFINITION),
    }


def test_multi_word_kinds_get_their_declared_method_names():
    provider = registry()["AgentProvider"]
    assert {verb: m.name for verb, m in provider.methods.items()} == {
        Verb.CREATE: "CreateAgentProvider",
        Verb.GET: "GetAgentProvider",
        Verb.LIST: "ListAgentProviders",
        Verb.UPDATE: "UpdateAgentProvider",
        Verb.DELETE: "DeleteAgentProvider",
        Verb.REVISIONS: "ListAgentProviderRevisions",
        Verb.DIFF_REVISIONS: "DiffAgentProviderRevisions",
    }
    assert provider.keeps_revisions
    assert not registry()["Memory"].keeps_revisions
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


def test_runs_reference_the_workspace_they_name():
    workspace = registry()["Workspace"]
    assert {(kind.name, ref.json_path) for kind, ref in registry().referrers(workspace)} == {
        ("AgentRun", "spec.workspaceRef"),
        ("ToolRun", "spec.workspaceRef"),
    }


def test_a_record_kind_has_a_parent_and_filters_but_no_phase():
    delivery = registry()["SignalDelivery"]
    assert delivery.category is RECORD and not delivery.is_run
    assert set(delivery.methods) == {Verb.CREATE, Verb.GET, Verb.LIST}
    assert delivery.parent == Parent(kind="Signal", id_field="signal_id", ref_field="signal_ref")
    assert [(f.field, f.json_name) for f in delivery.list_filters] == [
        ("signal_id", "signalId"),
        ("signal_name", "signalName"),
    ]
    assert not delivery.lists_by_phase
    assert delivery.references == ()  # the parent reference is not one of them
    signal = registry()["Signal"]
    assert registry().children(signal) == (delivery,)
    assert registry().children(signal, RUN) == ()
    assert registry().records == (delivery,)
    assert delivery not in registry().runs + registry().definitions


@pytest.mark.parametrize(
    ("verbs", "category"),
    [
        ({Verb.CREATE, Verb.GET, Verb.LIST, Verb.UPDATE, Verb.DELETE}, DEFINITION),
        ({Verb.CREATE, Verb.GET, Verb.LIST, Verb.CANCEL, Verb.LOGS}, RUN),
        ({Verb.CREATE, Verb.GET, Verb.LIST}, RECORD),
    ],
)
def test_the_methods_make_the_category(verbs, category):
    assert category_of(verbs) is category


PARENT = Parent(kind="Signal", id_field="signal_id", ref_field="signal_ref")


@pytest.mark.parametrize(
    ("verbs", "parent", "problem"),
    [
        ({Verb.CANCEL, Verb.DELETE}, PARENT, "has no Update or Delete"),
        ({Verb.UPDATE}, None, "has both UpdateThing and DeleteThing"),
        ({Verb.CANCEL}, None, "a run kind needs a parent"),
        (set(), None, "a record kind needs a parent"),
        ({Verb.LOGS}, PARENT, "only a run kind has GetThingLogs"),
    ],
)
def test_a_kind_that_mixes_categories_is_refused(verbs, parent, problem):
    methods = dict.fromkeys({Verb.CREATE, Verb.GET, Verb.LIST} | verbs)
    with pytest.raises(KindError, match=problem):
        kinds._check_category("Thing", methods, parent)


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


def test_a_schedule_has_the_custom_methods_trigger_and_fire():
    schedule = registry()["Schedule"]
    assert schedule.method(Verb.TRIGGER).name == "TriggerSchedule"
    assert schedule.method(Verb.FIRE).name == "FireSchedule"
    assert not schedule.is_run


def test_policies_name_the_kinds_that_have_runs():
    assert subject_kinds() == ("Agent", "Orchestration", "Tool")
