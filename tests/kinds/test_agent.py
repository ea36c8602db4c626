"""Agent: its sample for the conformance suite. (Its own behaviour: tests/test_definitions.py.)"""

from __future__ import annotations

from jangar.v1 import agent_pb2
from tests import builders

KIND = "Agent"


def sample(namespace: str, **labels: str) -> agent_pb2.Agent:
    return builders.agent(namespace=namespace, **labels)


def changed_spec() -> tuple[str, agent_pb2.AgentSpec]:
    return "spec.defaults.timeout_seconds", agent_pb2.AgentSpec(defaults={"timeout_seconds": 30})
