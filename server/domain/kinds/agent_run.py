"""AgentRun: spec rules beyond its annotations, the provider a new run records, and what its attempts
execute: the AgentProvider's binary with the provider's templates rendered for the run."""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

from jangar.server.core.custom_resources import LABEL_PREFIX
from jangar.server.core.errors import FieldViolation
from jangar.server.core.names import dns1123_subdomain_problems
from jangar.server.core.query import Ref
from jangar.server.core.runtime import Attempt, Launch, SecretKeyEnv, Workload
from jangar.server.core.templates import Root
from jangar.server.domain.kinds import KindRules
from jangar.server.domain.launch import (
    Limits,
    PlanProblems,
    Renderer,
    document,
    resource_map,
    run_env,
    workspace_mount,
)
from jangar.server.domain.validation import MAX_LIST_ITEMS, Violations
from jangar.server.repository import rows
from jangar.server.repository.database import Tx
from jangar.server.repository.mapping import STORED
from jangar.v1 import agent_pb2, agent_run_pb2

KIND = "AgentRun"
PROVIDER = "AgentProvider"
EMPTY: Mapping[str, Any] = MappingProxyType({})


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
    v.reference("spec.workspaceRef", spec.workspace_ref, required=False)


def prepare_run(run: agent_run_pb2.AgentRun, agent: agent_pb2.Agent) -> str:
    """The run's `provider` column is the Agent's provider, as the seed's agent_runs table records it."""
    return agent.spec.provider_ref.name


async def plan(
    db: Tx,
    run: agent_run_pb2.AgentRun,
    agent: agent_pb2.Agent,
    attempt: int,
    read_along: Mapping[str, Any] = EMPTY,
) -> Launch:
    """The provider's binary with its rendered arguments, environment and input files."""
    provider_name = agent.spec.provider_ref.name
    if PROVIDER in read_along:
        provider = read_along[PROVIDER]
    else:
        provider = await rows.find(db, STORED[PROVIDER], Ref(namespace=run.namespace, name=provider_name))
    if provider is None:
        problem = f"Agent {agent.name!r} names AgentProvider {provider_name!r}, which does not exist"
        raise PlanProblems([FieldViolation("spec.agentRef", problem)])
    context = {
        "run": Root(run),
        "agentRun": Root(run),
        "agent": Root(agent),
        "provider": Root(provider),
        "parameters": Root(run.spec.parameters),
    }
    spec = provider.spec
    render = Renderer(context, f"AgentProvider {provider.name!r}", "spec.agentRef")
    args = [render.text(f"spec.argsTemplate[{i}]", t) for i, t in enumerate(spec.args_template)]
    env = {name: render.text(f"spec.envTemplate[{name!r}]", t) for name, t in spec.env_template.items()}
    files = {
        f.path: render.text(f"spec.inputFiles[{i}].content", f.content)
        for i, f in enumerate(spec.input_files)
    }
    render.raise_if_any()
    env.update({var.name: var.value for var in agent.spec.env})
    env.update(run_env(run, attempt))
    return Launch(
        attempt=Attempt(KIND, run.id, attempt, run.namespace),
        argv=(spec.binary, *args),
        env=env,
        files=files,
        run_document=document(run=run, agent=agent, provider=provider, parameters=run.spec.parameters),
        output_artifacts={a.name: a.path for a in spec.output_artifacts},
        required_secrets=tuple(s.name for s in spec.secret_env if not s.optional),
        workload=workload(run, agent, provider),
        workspace=await workspace_mount(db, run),
    )


def workload(run: agent_run_pb2.AgentRun, agent: agent_pb2.Agent, provider: Any) -> Workload:
    """The container: the run's workload where it sets a field, otherwise the provider's."""
    own, default = run.spec.workload, provider.spec.workload
    resources = own.resources if own.HasField("resources") else default.resources
    return Workload(
        image=own.image or default.image,
        resources=resource_map(resources),
        service_account=own.service_account_name or default.service_account_name,
        secret_refs=tuple(run.spec.secrets),
        secret_env=tuple(
            SecretKeyEnv(s.name, s.secret_name, s.key, s.optional) for s in provider.spec.secret_env
        ),
        timeout_seconds=agent.spec.defaults.timeout_seconds,
        ttl_seconds_after_finished=run.spec.ttl_seconds_after_finished,
        labels={LABEL_PREFIX + "agent": agent.name, LABEL_PREFIX + "provider": provider.name},
    )


def limits(run: agent_run_pb2.AgentRun, agent: agent_pb2.Agent) -> Limits:
    return Limits(agent.spec.defaults.timeout_seconds, agent.spec.defaults.retry_limit)


RULES = KindRules(
    validate_spec=validate_spec,
    prepare_run=prepare_run,
    plan=plan,
    limits=limits,
    read_with_parent=(PROVIDER, ("providerRef", "name")),
)
