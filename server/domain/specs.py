"""Per-kind rules for specs, beyond what the protobuf types already enforce. Field paths are the JSON
(lowerCamelCase) paths a REST client sent."""

from __future__ import annotations

from graphlib import CycleError, TopologicalSorter

from jangar.server.domain.labels import c_identifier_problems, dns1123_subdomain_problems
from jangar.server.domain.quantity import non_negative_quantity_problems
from jangar.server.domain.validation import MAX_LIST_ITEMS, Violations
from jangar.v1 import agent_pb2, agent_run_pb2, memory_pb2, orchestration_pb2, orchestration_run_pb2

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


def validate_agent_spec(spec: agent_pb2.AgentSpec, v: Violations) -> None:
    v.reference("spec.providerRef", spec.provider_ref, required=True)
    v.struct("spec.config", spec.config)
    if v.list_size("spec.env", spec.env):
        for index, env in enumerate(spec.env):
            v.extend(
                f"spec.env[{index}].name", c_identifier_problems(env.name) if env.name else ["is required"]
            )
            v.bounded_text(f"spec.env[{index}].value", env.value)
        v.unique("spec.env.name", [env.name for env in spec.env])
    for field, values in (
        ("allowedServiceAccounts", spec.security.allowed_service_accounts),
        ("allowedSecrets", spec.security.allowed_secrets),
    ):
        if v.list_size(f"spec.security.{field}", values):
            for index, value in enumerate(values):
                v.extend(f"spec.security.{field}[{index}]", dns1123_subdomain_problems(value))
            v.unique(f"spec.security.{field}", list(values))
    v.reference("spec.memoryRef", spec.memory_ref, required=False)
    v.seconds("spec.defaults.timeoutSeconds", spec.defaults.timeout_seconds)
    v.retries("spec.defaults.retryLimit", spec.defaults.retry_limit)
    v.bounded_text("spec.defaults.systemPrompt", spec.defaults.system_prompt)


def validate_memory_spec(spec: memory_pb2.MemorySpec, v: Violations) -> None:
    if spec.type == memory_pb2.MemorySpec.TYPE_UNSPECIFIED:
        v.add("spec.type", "is required: one of postgres, redis, weaviate, pinecone, custom")
    secret = spec.connection.secret_ref
    if spec.type != memory_pb2.MemorySpec.custom or secret.name or secret.key:
        if v.required("spec.connection.secretRef.name", secret.name):
            v.extend("spec.connection.secretRef.name", dns1123_subdomain_problems(secret.name))
        if v.required("spec.connection.secretRef.key", secret.key) and len(secret.key) > 253:
            v.add("spec.connection.secretRef.key", "must be at most 253 characters")
    for index, capability in enumerate(spec.capabilities):
        if capability == memory_pb2.MemorySpec.CAPABILITY_UNSPECIFIED:
            v.add(f"spec.capabilities[{index}]", "must be one of vector, kv, blob")
    v.unique("spec.capabilities", [str(c) for c in spec.capabilities])


def validate_orchestration_spec(spec: orchestration_pb2.OrchestrationSpec, v: Violations) -> None:
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


def validate_agent_run_spec(spec: agent_run_pb2.AgentRunSpec, v: Violations) -> None:
    v.reference("spec.agentRef", spec.agent_ref, required=True)
    if spec.runtime.type:
        v.dns_label("spec.runtime.type", spec.runtime.type)
    v.struct("spec.runtime.config", spec.runtime.config)
    v.string_map("spec.parameters", spec.parameters)
    v.bounded_text("spec.goal.objective", spec.goal.objective)
    if spec.goal.token_budget < 0:
        v.add("spec.goal.tokenBudget", "must not be negative")
    workload = spec.workload
    v.bounded_text("spec.workload.image", workload.image, 1024)
    if any(c.isspace() for c in workload.image):
        v.add("spec.workload.image", "must not contain white space")
    for field, quantities in (
        ("limits", workload.resources.limits),
        ("requests", workload.resources.requests),
    ):
        for resource, quantity in quantities.items():
            path = f"spec.workload.resources.{field}[{resource!r}]"
            v.extend(path, dns1123_subdomain_problems(resource.split("/")[-1]))
            v.extend(path, non_negative_quantity_problems(quantity))
    if workload.service_account_name:
        v.extend(
            "spec.workload.serviceAccountName", dns1123_subdomain_problems(workload.service_account_name)
        )
    if v.list_size("spec.secrets", spec.secrets, MAX_LIST_ITEMS):
        for index, secret in enumerate(spec.secrets):
            v.extend(f"spec.secrets[{index}]", dns1123_subdomain_problems(secret))
        v.unique("spec.secrets", list(spec.secrets))
    v.reference("spec.memoryRef", spec.memory_ref, required=False)
    v.seconds("spec.ttlSecondsAfterFinished", spec.ttl_seconds_after_finished)


def validate_orchestration_run_spec(spec: orchestration_run_pb2.OrchestrationRunSpec, v: Violations) -> None:
    v.reference("spec.orchestrationRef", spec.orchestration_ref, required=True)
    v.string_map("spec.parameters", spec.parameters)
