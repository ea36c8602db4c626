"""Valid resources to start from, and calls that attach an idempotency key."""

from __future__ import annotations

import uuid
from typing import Any

import grpc
from google.protobuf import struct_pb2

from jangar.v1 import (
    agent_pb2,
    agent_pb2_grpc,
    agent_provider_pb2,
    agent_provider_pb2_grpc,
    agent_run_pb2,
    memory_pb2,
    orchestration_pb2,
    orchestration_run_pb2,
)
from tests.support import unique

Step = orchestration_pb2.OrchestrationStep


def key() -> list[tuple[str, str]]:
    """gRPC metadata with a fresh idempotency key."""
    return [("idempotency-key", f"k-{uuid.uuid4()}")]


def provider(name: str | None = None, namespace: str = "default") -> agent_provider_pb2.AgentProvider:
    return agent_provider_pb2.AgentProvider(
        name=name or unique("provider"),
        namespace=namespace,
        spec=agent_provider_pb2.AgentProviderSpec(binary="codex", args_template=["exec"]),
    )


def agent(name: str | None = None, namespace: str = "default", **labels: str) -> agent_pb2.Agent:
    config = struct_pb2.Struct()
    config.update({"model": "gpt-5", "temperature": 0.2})
    return agent_pb2.Agent(
        name=name or unique("agent"),
        namespace=namespace,
        labels=labels,
        spec=agent_pb2.AgentSpec(
            provider_ref={"name": "codex"},
            config=config,
            env=[{"name": "LOG_LEVEL", "value": "debug"}],
            security={"allowed_service_accounts": ["agent-runner"], "allowed_secrets": ["github-token"]},
            defaults={"timeout_seconds": 600, "retry_limit": 2, "system_prompt": "Be brief."},
        ),
    )


def memory(name: str | None = None, namespace: str = "default", **labels: str) -> memory_pb2.Memory:
    return memory_pb2.Memory(
        name=name or unique("memory"),
        namespace=namespace,
        labels=labels,
        spec=memory_pb2.MemorySpec(
            type=memory_pb2.MemorySpec.postgres,
            connection={"secret_ref": {"name": "memory-db", "key": "uri"}},
            capabilities=[memory_pb2.MemorySpec.vector, memory_pb2.MemorySpec.kv],
        ),
    )


def orchestration(
    name: str | None = None, namespace: str = "default", agent_name: str = "writer", **labels: str
) -> orchestration_pb2.Orchestration:
    return orchestration_pb2.Orchestration(
        name=name or unique("orch"),
        namespace=namespace,
        labels=labels,
        spec=orchestration_pb2.OrchestrationSpec(
            entrypoint="plan",
            steps=[
                Step(name="plan", kind=Step.AgentRun, agent_ref={"name": agent_name}),
                Step(
                    name="approve",
                    kind=Step.ApprovalGate,
                    policy_ref={"name": "two-eyes"},
                    depends_on=["plan"],
                ),
                Step(
                    name="write", kind=Step.AgentRun, agent_ref={"name": agent_name}, depends_on=["approve"]
                ),
            ],
            policies={"retries": {"limit": 1}, "timeouts": {"total_seconds": 3600}},
        ),
    )


def agent_run(
    agent_name: str, namespace: str = "default", name: str = "", **labels: str
) -> agent_run_pb2.AgentRun:
    return agent_run_pb2.AgentRun(
        name=name,
        namespace=namespace,
        labels=labels,
        spec=agent_run_pb2.AgentRunSpec(
            agent_ref={"name": agent_name},
            parameters={"repo": "proompteng/lab"},
            goal={"objective": "fix the flaky test", "token_budget": 20000},
            workload={
                "image": "ghcr.io/proompteng/runner:1",
                "resources": {"limits": {"cpu": "500m", "memory": "1Gi"}},
            },
        ),
    )


def orchestration_run(
    orchestration_name: str, namespace: str = "default", name: str = "", **labels: str
) -> orchestration_run_pb2.OrchestrationRun:
    return orchestration_run_pb2.OrchestrationRun(
        name=name,
        namespace=namespace,
        labels=labels,
        spec=orchestration_run_pb2.OrchestrationRunSpec(
            orchestration_ref={"name": orchestration_name}, parameters={"ticket": "JNG-1"}
        ),
    )


async def ensure_provider(channel: grpc.aio.Channel, namespace: str, name: str) -> None:
    """The AgentProvider an Agent names must exist; create it unless it does."""
    stub = agent_provider_pb2_grpc.AgentProviderServiceStub(channel)
    resource = provider(name, namespace or "default")
    try:
        await stub.CreateAgentProvider(
            agent_provider_pb2.CreateAgentProviderRequest(agent_provider=resource), metadata=key()
        )
    except grpc.aio.AioRpcError as error:
        if error.code() != grpc.StatusCode.ALREADY_EXISTS:
            raise


async def create_agent(channel: grpc.aio.Channel, resource: agent_pb2.Agent | None = None) -> agent_pb2.Agent:
    """Creates the Agent, and first the AgentProvider it names when there is none."""
    resource = resource or agent()
    await ensure_provider(channel, resource.namespace, resource.spec.provider_ref.name)
    stub = agent_pb2_grpc.AgentServiceStub(channel)
    return await stub.CreateAgent(agent_pb2.CreateAgentRequest(agent=resource), metadata=key())


async def create_orchestration(
    stub: Any, resource: orchestration_pb2.Orchestration
) -> orchestration_pb2.Orchestration:
    reply = await stub.CreateOrchestration(
        orchestration_pb2.CreateOrchestrationRequest(orchestration=resource), metadata=key()
    )
    return reply


async def create_agent_run(stub: Any, resource: agent_run_pb2.AgentRun) -> agent_run_pb2.AgentRun:
    reply = await stub.CreateAgentRun(agent_run_pb2.CreateAgentRunRequest(agent_run=resource), metadata=key())
    return reply


async def create_orchestration_run(
    stub: Any, resource: orchestration_run_pb2.OrchestrationRun
) -> orchestration_run_pb2.OrchestrationRun:
    reply = await stub.CreateOrchestrationRun(
        orchestration_run_pb2.CreateOrchestrationRunRequest(orchestration_run=resource), metadata=key()
    )
    return reply
