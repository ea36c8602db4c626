"""OrchestrationRun: every step of the Orchestration starts Pending."""

from __future__ import annotations

from jangar.server.domain.kinds import RUN_PROVIDER_NATIVE, KindRules
from jangar.server.domain.validation import Violations
from jangar.v1 import orchestration_pb2, orchestration_run_pb2
from jangar.v1.run_phase_pb2 import RunPhase

KIND = "OrchestrationRun"


def validate_spec(spec: orchestration_run_pb2.OrchestrationRunSpec, v: Violations) -> None:
    v.reference("spec.orchestrationRef", spec.orchestration_ref, required=True)
    v.string_map("spec.parameters", spec.parameters)


def prepare_run(
    run: orchestration_run_pb2.OrchestrationRun, orchestration: orchestration_pb2.Orchestration
) -> str:
    run.status.orchestration_generation = orchestration.generation
    for step in orchestration.spec.steps:
        run.status.step_statuses.add(name=step.name, kind=step.kind, phase=RunPhase.Pending)
    return RUN_PROVIDER_NATIVE


RULES = KindRules(validate_spec=validate_spec, prepare_run=prepare_run)
