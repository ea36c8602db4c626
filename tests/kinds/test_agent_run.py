"""AgentRun: its sample for the conformance suite. (Its own behaviour: tests/test_runs.py.)"""

from __future__ import annotations

from jangar.v1 import agent_run_pb2
from tests import builders
from tests.support import unique

KIND = "AgentRun"


def sample(namespace: str, parent_name: str, **labels: str) -> agent_run_pb2.AgentRun:
    return builders.agent_run(parent_name, namespace, name=unique("run"), **labels)
