"""The NUL check walks every string of a request: fields, map keys and values, Struct and list values,
update masks, with JSON paths relative to the REST body."""

from __future__ import annotations

from google.protobuf import json_format

from jangar.server.core.storable import PROBLEM, request_violations
from jangar.v1 import agent_pb2, orchestration_pb2


def fields(request, body_field: str = "") -> list[str]:
    violations = request_violations(request, body_field)
    assert all(v.description == PROBLEM for v in violations)
    return sorted(v.field for v in violations)


def create_agent(agent: dict) -> agent_pb2.CreateAgentRequest:
    return json_format.ParseDict({"agent": agent}, agent_pb2.CreateAgentRequest())


def test_a_request_without_nul_has_no_violations():
    request = create_agent(
        {
            "name": "a",
            "labels": {"team": "x"},
            "spec": {"providerRef": {"name": "codex"}, "config": {"a": [1, "two", {"b": None}]}},
        }
    )
    assert fields(request, "agent") == []


def test_every_kind_of_place_is_named_relative_to_the_body():
    request = create_agent(
        {
            "name": "a\x00",
            "labels": {"k\x00": "v", "k": "v\x00"},
            "spec": {
                "providerRef": {"name": "codex"},
                "config": {"top\x00": 1, "list": ["ok", "no\x00", {"deep": {"deeper": "\x00"}}]},
                "env": [{"name": "A", "value": "x"}, {"name": "B", "value": "\x00"}],
                "security": {"allowedSecrets": ["ok", "\x00"]},
            },
        }
    )
    assert fields(request, "agent") == sorted(
        [
            "name",
            "labels['k\\x00']",
            "labels['k']",
            "spec.config['top\\x00']",
            "spec.config['list'][1]",
            "spec.config['list'][2]['deep']['deeper']",
            "spec.env[1].value",
            "spec.security.allowedSecrets[1]",
        ]
    )


def test_without_a_body_field_paths_start_at_the_request():
    request = create_agent({"name": "\x00"})
    assert fields(request) == ["agent.name"]


def test_map_values_that_are_messages_are_walked():
    request = json_format.ParseDict(
        {"orchestration": {"spec": {"steps": [{"name": "s", "with": {"k": "\x00"}}]}}},
        orchestration_pb2.CreateOrchestrationRequest(),
    )
    assert fields(request, "orchestration") == ["spec.steps[0].with['k']"]


def test_an_update_mask_is_one_path():
    request = agent_pb2.UpdateAgentRequest()
    request.update_mask.paths.extend(["labels", "spec\x00"])
    assert fields(request, "agent") == ["updateMask"]


def test_enum_numbers_the_schema_does_not_define_are_named():
    request = json_format.ParseDict(
        {"orchestration": {"spec": {"steps": [{"name": "a", "kind": "AgentRun"}, {"name": "b"}]}}},
        orchestration_pb2.CreateOrchestrationRequest(),
    )
    request.orchestration.spec.steps[1].kind = 77
    (violation,) = request_violations(request, "orchestration")
    assert violation.field == "spec.steps[1].kind"
    assert violation.description.startswith("77 is not a value of")
    assert "AgentRun" in violation.description
