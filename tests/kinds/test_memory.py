"""Memory: its sample for the conformance suite. (Its own behaviour: tests/test_definitions.py.)"""

from __future__ import annotations

from jangar.v1 import memory_pb2
from tests import builders

KIND = "Memory"


def sample(namespace: str, **labels: str) -> memory_pb2.Memory:
    return builders.memory(namespace=namespace, **labels)


def changed_spec() -> tuple[str, memory_pb2.MemorySpec]:
    return "spec.capabilities", memory_pb2.MemorySpec(capabilities=[memory_pb2.MemorySpec.blob])
