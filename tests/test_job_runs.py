"""Job runs end to end: a server process whose KUBECONFIG names the fake Kubernetes API server
(tests/fakekube) writes each attempt's custom resource, ConfigMap and Job through its outbox, deletes the Job
on cancel, and retries writes the API server refuses for a while."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest

from jangar.server.devstack.processes import free_port
from jangar.v1 import (
    agent_provider_pb2,
    agent_provider_pb2_grpc,
    agent_run_pb2,
    agent_run_pb2_grpc,
)
from jangar.v1.run_phase_pb2 import RunPhase
from tests import builders
from tests.fakekube import FakeKube, JobScript, KubeletConfig
from tests.fakekube.jangar import jangar_custom_resources
from tests.support import PROJECT_ROOT, ServerProcess

NAMESPACE = "jobs"
IMAGE = "ghcr.io/proompteng/runner:1"


@pytest.fixture(scope="module")
async def kube() -> AsyncIterator[FakeKube]:
    async with FakeKube(crds=jangar_custom_resources(PROJECT_ROOT), kubelet=KubeletConfig()) as fake:
        fake.create_namespace(NAMESPACE)
        yield fake
        assert fake.internal_errors == []


@pytest.fixture(scope="module")
def job_server(kube: FakeKube, pg_url: str, work_dir: Path):
    kubeconfig = kube.write_kubeconfig(work_dir / "job-runs.kubeconfig")
    process = ServerProcess(
        pg_url,
        free_port(),
        work_dir / "job-server.log",
        KUBECONFIG=str(kubeconfig),
        JANGAR_RETRY_BACKOFF_SECONDS="0.2",
    )
    process.start()
    yield process
    process.stop()


@pytest.fixture(scope="module")
async def job_channel(job_server: ServerProcess):
    import grpc

    async with grpc.aio.insecure_channel(job_server.address) as channel:
        yield channel


async def wait_for(check: Callable[[], Any], within: float = 20.0) -> Any:
    deadline = time.monotonic() + within
    while True:
        value = check()
        if value:
            return value
        assert time.monotonic() < deadline, "condition not met in time"
        await asyncio.sleep(0.05)


async def job_run(channel, **spec: Any) -> agent_run_pb2.AgentRun:
    providers = agent_provider_pb2_grpc.AgentProviderServiceStub(channel)
    provider = builders.provider(builders.unique("provider"), NAMESPACE)
    provider.spec.workload.image = IMAGE
    provider.spec.workload.service_account_name = "agent-runner"
    provider.spec.input_files.add(path="prompt.md", content="fix {{agentRun.name}}")
    provider.spec.secret_env.add(name="GITHUB_TOKEN", secret_name="github", key="token")
    await providers.CreateAgentProvider(
        agent_provider_pb2.CreateAgentProviderRequest(agent_provider=provider), metadata=builders.key()
    )
    agent = builders.agent(namespace=NAMESPACE)
    agent.spec.provider_ref.name = provider.name
    agent.spec.defaults.timeout_seconds = 120
    await builders.create_agent(channel, agent)
    run = builders.agent_run(agent.name, NAMESPACE)
    run.spec.secrets.append("openai")
    for field, value in spec.items():
        setattr(run.spec, field, value)
    return await builders.create_agent_run(agent_run_pb2_grpc.AgentRunServiceStub(channel), run)


async def test_a_job_run_writes_its_custom_resource_config_map_and_job(kube, job_channel):
    kube.kubelet.script(JobScript.hang(), namespace=NAMESPACE)
    run = await job_run(job_channel)
    name = f"{run.id}-1"
    job = await wait_for(lambda: kube.get("jobs", name, NAMESPACE))
    resource = kube.get("agentruns", run.name, NAMESPACE)
    config_map = kube.get("configmaps", name, NAMESPACE)
    assert resource["spec"]["agentRef"] == {"name": run.spec.agent_ref.name}
    assert resource["metadata"]["labels"]["jangar.proompteng.ai/run-id"] == run.id
    owner = {"kind": "AgentRun", "name": run.name, "uid": resource["metadata"]["uid"]}
    for written in (job, config_map):
        (reference,) = written["metadata"]["ownerReferences"]
        assert {k: reference[k] for k in owner} == owner
    assert json.loads(config_map["data"]["run.json"])["run"]["id"] == run.id
    assert config_map["data"]["input-0"] == f"fix {run.name}"
    labels = job["metadata"]["labels"]
    assert labels["jangar.proompteng.ai/run-id"] == run.id
    assert labels["jangar.proompteng.ai/attempt"] == "1"
    assert labels["jangar.proompteng.ai/agent"] == run.spec.agent_ref.name
    assert job["spec"]["backoffLimit"] == 0
    assert job["spec"]["activeDeadlineSeconds"] == 120
    pod = job["spec"]["template"]["spec"]
    assert pod["serviceAccountName"] == "agent-runner"
    (container,) = pod["containers"]
    assert container["image"] == IMAGE
    assert container["command"][0] == "codex"
    assert container["envFrom"] == [{"secretRef": {"name": "openai"}}]
    secret = next(e for e in container["env"] if e["name"] == "GITHUB_TOKEN")
    assert secret["valueFrom"]["secretKeyRef"] == {"name": "github", "key": "token", "optional": False}
    assert container["terminationMessagePath"] == "/var/run/jangar/status.json"
    assert container["terminationMessagePolicy"] == "FallbackToLogsOnError"
    # Exactly one of each, however often the outbox worker went round.
    assert len([j for j in kube.objects("jobs", NAMESPACE) if j["metadata"]["name"] == name]) == 1


async def test_cancel_deletes_the_job_in_the_background(kube, job_channel):
    kube.kubelet.script(JobScript.hang(), namespace=NAMESPACE)
    run = await job_run(job_channel)
    name = f"{run.id}-1"
    await wait_for(lambda: kube.get("jobs", name, NAMESPACE))
    stub = agent_run_pb2_grpc.AgentRunServiceStub(job_channel)
    cancelled = await stub.CancelAgentRun(
        agent_run_pb2.CancelAgentRunRequest(id=run.id, reason="no longer needed"), metadata=builders.key()
    )
    assert cancelled.status.phase == RunPhase.Cancelled
    await wait_for(lambda: kube.get("jobs", name, NAMESPACE) is None)
    deletes = [r for r in kube.requests if r.method == "DELETE" and r.path.endswith(f"/jobs/{name}")]
    assert deletes
    for delete in deletes:
        policy = delete.query.get("propagationPolicy") or (delete.json() or {}).get("propagationPolicy")
        assert policy == "Background"


async def test_writes_the_api_server_refuses_for_a_while_are_retried_and_shown_on_the_run(kube, job_channel):
    kube.faults.fail_next(3, 503, method="POST", path=f"/namespaces/{NAMESPACE}/jobs$")
    run = await job_run(job_channel)
    stub = agent_run_pb2_grpc.AgentRunServiceStub(job_channel)

    async def condition() -> str:
        current = await stub.GetAgentRun(agent_run_pb2.GetAgentRunRequest(id=run.id))
        return next((c.reason for c in current.status.conditions if c.type == "KubernetesWrite"), "")

    deadline = time.monotonic() + 20
    seen = set()
    while time.monotonic() < deadline and "Written" not in seen:
        seen.add(await condition())
        await asyncio.sleep(0.05)
    assert {"Retrying", "Written"} <= seen
    assert kube.get("jobs", f"{run.id}-1", NAMESPACE) is not None
