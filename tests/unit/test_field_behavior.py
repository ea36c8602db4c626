"""The field_behavior annotations drive what a request may set, must set and may change."""

from __future__ import annotations

from jangar.server.core.field_behavior import (
    clear_output_only,
    is_mutable_path,
    missing_required,
    mutable_fields,
)
from jangar.v1 import agent_pb2, agent_provider_pb2, agent_run_pb2, memory_pb2, orchestration_pb2

Step = orchestration_pb2.OrchestrationStep


def test_output_only_fields_are_cleared_and_the_rest_kept():
    run = agent_run_pb2.AgentRun(
        id="forged", name="r", etag="1", generation=7, delivery_id="d", agent_id="x", labels={"a": "b"}
    )
    run.status.phase = 3
    run.spec.agent_ref.name = "writer"
    clear_output_only(run)
    assert run == agent_run_pb2.AgentRun(name="r", labels={"a": "b"}, spec={"agent_ref": {"name": "writer"}})


def test_a_missing_required_message_reports_its_required_fields():
    assert list(missing_required(agent_pb2.Agent())) == [
        ("name", "is required"),
        ("spec.providerRef.name", "is required"),
    ]


def test_a_present_reference_needs_its_name_even_when_optional():
    agent = agent_pb2.Agent(name="a", spec={"provider_ref": {"name": "p"}, "memory_ref": {}})
    assert list(missing_required(agent)) == [("spec.memoryRef.name", "is required")]


def test_required_enums_name_their_values_and_lists_are_checked_per_item():
    assert list(missing_required(memory_pb2.Memory(name="m"))) == [
        ("spec.type", "is required: one of postgres, redis, weaviate, pinecone, custom")
    ]
    orchestration = orchestration_pb2.Orchestration(name="o", spec={"steps": [Step(name="a"), Step(kind=1)]})
    assert [path for path, _ in missing_required(orchestration)] == [
        "spec.steps[0].kind",
        "spec.steps[1].name",
    ]
    provider = agent_provider_pb2.AgentProvider(name="p", spec={"binary": "b", "secret_env": [{"name": "X"}]})
    assert [path for path, _ in missing_required(provider)] == [
        "spec.secretEnv[0].secretName",
        "spec.secretEnv[0].key",
    ]


def test_mutable_fields_and_paths():
    descriptor = agent_pb2.Agent.DESCRIPTOR
    assert mutable_fields(descriptor) == ("labels", "annotations", "spec")
    assert is_mutable_path(descriptor, "spec.defaults.timeout_seconds")
    assert not is_mutable_path(descriptor, "name")
    assert not is_mutable_path(descriptor, "status.conditions")
    assert not is_mutable_path(descriptor, "spec.nope")
    # A run's spec is IMMUTABLE: nothing of a run can be changed by an update.
    assert mutable_fields(agent_run_pb2.AgentRun.DESCRIPTOR) == ("labels", "annotations")
