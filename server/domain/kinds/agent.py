"""Agent: spec rules beyond its annotations."""

from __future__ import annotations

from jangar.server.core.names import dns1123_subdomain_problems
from jangar.server.domain.kinds import KindRules
from jangar.server.domain.validation import Violations
from jangar.v1 import agent_pb2

KIND = "Agent"


def validate_spec(spec: agent_pb2.AgentSpec, v: Violations) -> None:
    v.reference("spec.providerRef", spec.provider_ref, required=True)
    v.struct("spec.config", spec.config)
    v.env_vars("spec.env", spec.env)
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


RULES = KindRules(validate_spec=validate_spec)
