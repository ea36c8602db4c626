"""AgentRun: spec rules beyond its annotations, and the provider a new run records."""

from __future__ import annotations

from jangar.server.core.names import dns1123_subdomain_problems
from jangar.server.domain.kinds import KindRules
from jangar.server.domain.validation import MAX_LIST_ITEMS, Violations
from jangar.v1 import agent_pb2, agent_run_pb2

KIND = "AgentRun"


def validate_spec(spec: agent_run_pb2.AgentRunSpec, v: Violations) -> None:
    v.reference("spec.agentRef", spec.agent_ref, required=True)
    if spec.runtime.type:
        v.dns_label("spec.runtime.type", spec.runtime.type)
    v.struct("spec.runtime.config", spec.runtime.config)
    v.string_map("spec.parameters", spec.parameters)
    v.bounded_text("spec.goal.objective", spec.goal.objective)
    if spec.goal.token_budget < 0:
        v.add("spec.goal.tokenBudget", "must not be negative")
    v.workload("spec.workload", spec.workload)
    if v.list_size("spec.secrets", spec.secrets, MAX_LIST_ITEMS):
        for index, secret in enumerate(spec.secrets):
            v.extend(f"spec.secrets[{index}]", dns1123_subdomain_problems(secret))
        v.unique("spec.secrets", list(spec.secrets))
    v.reference("spec.memoryRef", spec.memory_ref, required=False)
    v.seconds("spec.ttlSecondsAfterFinished", spec.ttl_seconds_after_finished)


def prepare_run(run: agent_run_pb2.AgentRun, agent: agent_pb2.Agent) -> str:
    """The run's `provider` column is the Agent's provider, as the seed's agent_runs table records it."""
    return agent.spec.provider_ref.name


RULES = KindRules(validate_spec=validate_spec, prepare_run=prepare_run)
