"""Orchestration: its sample for the conformance suite. (Its own behaviour: tests/test_definitions.py.)"""

from __future__ import annotations

from jangar.v1 import orchestration_pb2
from tests import builders

KIND = "Orchestration"


def sample(namespace: str, **labels: str) -> orchestration_pb2.Orchestration:
    return builders.orchestration(namespace=namespace, **labels)


def changed_spec() -> tuple[str, orchestration_pb2.OrchestrationSpec]:
    return "spec.policies", orchestration_pb2.OrchestrationSpec(policies={"retries": {"limit": 5}})
