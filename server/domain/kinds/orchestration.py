"""Orchestration: the steps form a valid DAG, and each step names what its kind needs."""

from __future__ import annotations

from graphlib import CycleError, TopologicalSorter

from jangar.server.domain.kinds import KindRules
from jangar.server.domain.validation import Violations
from jangar.v1 import orchestration_pb2

KIND = "Orchestration"

MAX_STEPS = 100
Kind = orchestration_pb2.OrchestrationStep.Kind

# The reference field each step kind must set, in JSON form and in proto form.
STEP_REFERENCE = {
    Kind.AgentRun: ("agentRef", "agent_ref"),
    Kind.ToolRun: ("toolRef", "tool_ref"),
    Kind.MemoryOp: ("memoryRef", "memory_ref"),
    Kind.ApprovalGate: ("policyRef", "policy_ref"),
    Kind.SignalWait: ("signalRef", "signal_ref"),
    Kind.SubOrchestration: ("orchestrationRef", "orchestration_ref"),
}
ALL_STEP_REFERENCES = [names for names in STEP_REFERENCE.values()]


def validate_spec(spec: orchestration_pb2.OrchestrationSpec, v: Violations) -> None:
    if not spec.steps:
        v.add("spec.steps", "must have at least one step")
        return
    if not v.list_size("spec.steps", spec.steps, MAX_STEPS):
        return
    names = [step.name for step in spec.steps]
    for index, step in enumerate(spec.steps):
        _validate_step(f"spec.steps[{index}]", step, v)
    v.unique("spec.steps.name", names)
    known = set(names)
    for index, step in enumerate(spec.steps):
        for dep_index, dependency in enumerate(step.depends_on):
            if dependency not in known:
                v.add(f"spec.steps[{index}].dependsOn[{dep_index}]", f"unknown step {dependency!r}")
            elif dependency == step.name:
                v.add(f"spec.steps[{index}].dependsOn[{dep_index}]", "a step cannot depend on itself")
    if spec.entrypoint and spec.entrypoint not in known:
        v.add("spec.entrypoint", f"unknown step {spec.entrypoint!r}")
    _check_acyclic(spec, known, v)
    v.retries("spec.policies.retries.limit", spec.policies.retries.limit)
    v.seconds("spec.policies.timeouts.totalSeconds", spec.policies.timeouts.total_seconds)


def _validate_step(path: str, step: orchestration_pb2.OrchestrationStep, v: Violations) -> None:
    v.dns_label(f"{path}.name", step.name)
    if step.kind == Kind.KIND_UNSPECIFIED:
        v.add(
            f"{path}.kind",
            "is required: one of "
            + ", ".join(Kind.Name(k) for k in Kind.values() if k != Kind.KIND_UNSPECIFIED),
        )
    required = STEP_REFERENCE.get(step.kind)
    for json_name, proto_name in ALL_STEP_REFERENCES:
        v.reference(
            f"{path}.{json_name}", getattr(step, proto_name), required=required == (json_name, proto_name)
        )
    if v.list_size(f"{path}.dependsOn", step.depends_on):
        v.unique(f"{path}.dependsOn", list(step.depends_on))
    v.string_map(f"{path}.with", step.with_params)
    v.retries(f"{path}.retries", step.retries)
    v.seconds(f"{path}.retryBackoffSeconds", step.retry_backoff_seconds)
    v.seconds(f"{path}.timeoutSeconds", step.timeout_seconds)


def _check_acyclic(spec: orchestration_pb2.OrchestrationSpec, known: set[str], v: Violations) -> None:
    graph = {step.name: [d for d in step.depends_on if d in known and d != step.name] for step in spec.steps}
    try:
        TopologicalSorter(graph).prepare()
    except CycleError as error:
        cycle = error.args[1]
        v.add("spec.steps", "dependencies form a cycle: " + " -> ".join(cycle))


RULES = KindRules(validate_spec=validate_spec)
