"""OrchestrationRun: its sample for the conformance suite. (Its own behaviour: tests/test_runs.py.)"""

from __future__ import annotations

from jangar.v1 import orchestration_run_pb2
from tests import builders
from tests.support import unique

KIND = "OrchestrationRun"


def sample(namespace: str, parent_name: str, **labels: str) -> orchestration_run_pb2.OrchestrationRun:
    return builders.orchestration_run(parent_name, namespace, name=unique("orun"), **labels)
