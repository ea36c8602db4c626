"""The kinds this server manages, each wired to its table, its spec rules and its status on creation."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from jangar.server.domain import common, specs
from jangar.server.domain.definitions import DefinitionKind, DefinitionService, RunsOf, accepted_status
from jangar.server.domain.run_view import RunViewService
from jangar.server.domain.runs import RunKind, RunService
from jangar.server.domain.store import Store
from jangar.server.repository import records
from jangar.v1 import agent_pb2, agent_run_pb2, memory_pb2, orchestration_pb2, orchestration_run_pb2
from jangar.v1.run_phase_pb2 import RunPhase


def _memory_status(memory: memory_pb2.Memory) -> None:
    accepted_status(memory)
    # Nothing has checked the store yet: that is the reconciler's job.
    memory.status.phase = memory_pb2.MemoryStatus.Pending


def _pending(run: agent_run_pb2.AgentRun | orchestration_run_pb2.OrchestrationRun) -> None:
    run.status.phase = RunPhase.Pending
    run.status.reason = "Accepted"
    run.status.message = "waiting to start"
    run.status.observed_generation = 1
    run.status.conditions.append(
        common.condition("Accepted", "True", "Valid", "the run passed validation", 1)
    )


def _prepare_agent_run(run: agent_run_pb2.AgentRun, agent: agent_pb2.Agent) -> str:
    _pending(run)
    return agent.spec.provider_ref.name


def _prepare_orchestration_run(
    run: orchestration_run_pb2.OrchestrationRun, orchestration: orchestration_pb2.Orchestration
) -> str:
    _pending(run)
    run.status.orchestration_generation = orchestration.generation
    for step in orchestration.spec.steps:
        run.status.step_statuses.add(name=step.name, kind=step.kind, phase=RunPhase.Pending)
    return records.RUN_PROVIDER_NATIVE


AGENT = DefinitionKind(
    records.AGENTS, specs.validate_agent_spec, accepted_status, RunsOf(records.AGENT_RUNS, "agent_id")
)
MEMORY = DefinitionKind(records.MEMORIES, specs.validate_memory_spec, _memory_status)
ORCHESTRATION = DefinitionKind(
    records.ORCHESTRATIONS,
    specs.validate_orchestration_spec,
    accepted_status,
    RunsOf(records.ORCHESTRATION_RUNS, "orchestration_id"),
)
AGENT_RUN = RunKind(
    records.AGENT_RUNS,
    records.AGENTS,
    "agent_ref",
    "agent_id",
    specs.validate_agent_run_spec,
    _prepare_agent_run,
)
ORCHESTRATION_RUN = RunKind(
    records.ORCHESTRATION_RUNS,
    records.ORCHESTRATIONS,
    "orchestration_ref",
    "orchestration_id",
    specs.validate_orchestration_run_spec,
    _prepare_orchestration_run,
)


@dataclass(frozen=True)
class Services:
    """Every use-case service, sharing one Store."""

    store: Store
    agents: DefinitionService
    memories: DefinitionService
    orchestrations: DefinitionService
    agent_runs: RunService
    orchestration_runs: RunService
    runs: RunViewService


def build_services(sessions: async_sessionmaker[AsyncSession]) -> Services:
    store = Store(sessions)
    return Services(
        store=store,
        agents=DefinitionService(store, AGENT),
        memories=DefinitionService(store, MEMORY),
        orchestrations=DefinitionService(store, ORCHESTRATION),
        agent_runs=RunService(store, AGENT_RUN),
        orchestration_runs=RunService(store, ORCHESTRATION_RUN),
        runs=RunViewService(store),
    )
