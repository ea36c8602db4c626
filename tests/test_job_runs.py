"""Job runs end to end: a server process whose KUBECONFIG names the fake Kubernetes API server
(tests/fakekube) writes each attempt's custom resource, ConfigMap and Job through its outbox, deletes the Job
on cancel, and retries writes the API server refuses for a while; a reconciler process reports what the fake's
kubelet does with each Job, and the runs end as the Jobs did."""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import asyncpg
import grpc
import pytest
from google.protobuf.message import Message

from jangar.v1 import (
    agent_provider_pb2,
    agent_provider_pb2_grpc,
    agent_run_pb2,
    agent_run_pb2_grpc,
    run_pb2,
    run_pb2_grpc,
    tool_pb2,
    tool_pb2_grpc,
    tool_run_pb2,
    tool_run_pb2_grpc,
)
from jangar.v1.run_phase_pb2 import RunPhase
from tests import builders
from tests.cluster import cluster_reconciler, cluster_server, fake_cluster
from tests.fakekube import FakeKube, JobScript, KubeletConfig
from tests.support import ReconcilerProcess, ServerProcess

NAMESPACE = "jobs"
IMAGE = "ghcr.io/proompteng/runner:1"


# activeDeadlineSeconds run 100 times faster in the fake, so a 120 s timeout is over in 1.2 s.
DEADLINE_SCALE = 0.01


@pytest.fixture(scope="module")
async def kube() -> AsyncIterator[FakeKube]:
    async with fake_cluster(NAMESPACE, kubelet=KubeletConfig(deadline_scale=DEADLINE_SCALE)) as fake:
        yield fake


@pytest.fixture(scope="module")
async def job_server(kube: FakeKube, own_database, work_dir: Path) -> AsyncIterator[ServerProcess]:
    database = await own_database("job_runs")
    async with cluster_server(
        kube, database, work_dir, "job-runs", JANGAR_RETRY_BACKOFF_SECONDS="0.2"
    ) as process:
        yield process


@pytest.fixture(scope="module")
async def reconciler(
    kube: FakeKube, job_server: ServerProcess, work_dir: Path
) -> AsyncIterator[ReconcilerProcess]:
    async with cluster_reconciler(kube, job_server, work_dir, "job-runs") as process:
        yield process


@pytest.fixture(scope="module")
async def job_channel(job_server: ServerProcess):
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


async def job_run(
    channel,
    kube: FakeKube | None = None,
    script: JobScript | None = None,
    *,
    retry_limit: int = 0,
    scripted: Callable[[str], None] | None = None,
    **spec: Any,
) -> agent_run_pb2.AgentRun:
    """A provider with a workload, an agent, and a run of it; `script` says what the fake kubelet makes of
    the run's Jobs (registered before the run exists, by the agent's label)."""
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
    agent.spec.defaults.retry_limit = retry_limit
    await builders.create_agent(channel, agent)
    if script is not None:
        assert kube is not None
        kube.kubelet.script(script, labels=f"jangar.proompteng.ai/agent={agent.name}")
    if scripted is not None:
        scripted(agent.name)
    run = builders.agent_run(agent.name, NAMESPACE)
    run.spec.secrets.append("openai")
    for field, value in spec.items():
        if isinstance(value, Message):
            getattr(run.spec, field).CopyFrom(value)
        else:
            setattr(run.spec, field, value)
    return await builders.create_agent_run(agent_run_pb2_grpc.AgentRunServiceStub(channel), run)


def with_status(kube: FakeKube, run: agent_run_pb2.AgentRun) -> dict[str, Any] | None:
    """The run's custom resource, once a status has been copied onto it."""
    resource = kube.get("agentruns", run.name, NAMESPACE)
    return resource if resource and (resource.get("status") or {}).get("phase") else None


def jobs_named(kube: FakeKube, name: str) -> int:
    return len([j for j in kube.objects("jobs", NAMESPACE) if j["metadata"]["name"] == name])


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
    assert jobs_named(kube, name) == 1


async def test_kubectl_shows_a_new_job_runs_pending_status_once_its_job_is_written(kube, job_channel):
    kube.kubelet.script(JobScript.hang(), namespace=NAMESPACE)
    run = await job_run(job_channel)
    resource = await wait_for(lambda: with_status(kube, run))
    assert resource["status"]["phase"] == "Pending"
    assert resource["status"]["runtimeRef"]["name"] == f"{run.id}-1"
    assert [c["type"] for c in resource["status"]["conditions"]] == ["Accepted"]
    assert kube.get("jobs", f"{run.id}-1", NAMESPACE) is not None


async def test_a_status_copy_refused_after_the_job_is_written_is_retried_without_a_second_job(
    kube, job_channel
):
    kube.kubelet.script(JobScript.hang(), namespace=NAMESPACE)

    def refuse_status_copies(agent: str) -> None:
        kube.faults.fail_next(2, 500, method="PATCH", path=f"/agentruns/{agent}-[^/]+/status$")

    run = await job_run(job_channel, scripted=refuse_status_copies)
    name = f"{run.id}-1"
    resource = await wait_for(lambda: with_status(kube, run))
    patches = [r for r in kube.requests if r.method == "PATCH" and r.path.endswith(f"/{run.name}/status")]
    assert len(patches) == 3  # two refused, then written
    assert resource["status"]["phase"] == "Pending"
    # The retries wrote the Job again and found it there: one Job, and the run says the write is done.
    job_posts = [r for r in kube.requests if r.method == "POST" and r.path.endswith("/jobs")]
    assert len([r for r in job_posts if (r.json() or {}).get("metadata", {}).get("name") == name]) == 3
    assert jobs_named(kube, name) == 1
    stub = agent_run_pb2_grpc.AgentRunServiceStub(job_channel)
    current = await stub.GetAgentRun(agent_run_pb2.GetAgentRunRequest(id=run.id))
    (written,) = [c for c in current.status.conditions if c.type == "KubernetesWrite"]
    assert (written.status, written.reason) == ("True", "Written")
    copied = {c["type"]: c["reason"] for c in resource["status"]["conditions"]}
    assert copied == {"Accepted": "Valid", "KubernetesWrite": "Written"}


async def test_the_outbox_writes_several_runs_jobs_at_once_and_each_job_once(kube, job_channel):
    kube.kubelet.script(JobScript.hang(), namespace=NAMESPACE)
    # A slow API server: with writes done one at a time, only one Job create would ever be waiting.
    slowness = kube.faults.slow(0.3, method="POST", path=f"/namespaces/{NAMESPACE}/jobs$")
    try:
        runs = await asyncio.gather(*(job_run(job_channel) for _ in range(8)))
        for run in runs:
            await wait_for(lambda run=run: kube.get("jobs", f"{run.id}-1", NAMESPACE))
    finally:
        kube.faults.clear()
    # JANGAR_OUTBOX_CONCURRENCY's default.
    assert 2 <= slowness.most_in_flight <= 4
    assert [jobs_named(kube, f"{run.id}-1") for run in runs] == [1] * len(runs)


async def test_one_runs_status_copies_are_written_one_at_a_time(kube, job_channel, job_server):
    kube.kubelet.script(JobScript.hang(), namespace=NAMESPACE)
    runs = await asyncio.gather(job_run(job_channel), job_run(job_channel))
    for run in runs:
        await wait_for(lambda run=run: with_status(kube, run))
    slow = {
        run.id: kube.faults.slow(0.2, method="PATCH", path=f"/agentruns/{run.name}/status$") for run in runs
    }
    copies = 4
    db = await asyncpg.connect(job_server.database_url.replace("postgresql+asyncpg://", "postgresql://"))
    try:
        # Several copies of each run's status due at once, as a burst of phase changes leaves them.
        for run in runs:
            payload = {
                "apiVersion": "agents.proompteng.ai/v1alpha1",
                "plural": "agentruns",
                "namespace": NAMESPACE,
                "name": run.name,
            }
            for _ in range(copies):
                await db.execute(
                    "INSERT INTO outbox (operation, run_kind, run_id, attempt, payload)"
                    " VALUES ('status', 'AgentRun', $1, 1, $2)",
                    uuid.UUID(run.id),
                    json.dumps(payload),
                )
        await wait_for(lambda: all(s.answered == copies for s in slow.values()))
    finally:
        kube.faults.clear()
        await db.close()
    assert [s.most_in_flight for s in slow.values()] == [1, 1]


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


# With the reconciler.


async def phase_of(channel, run_id: str, phase: int, within: float = 30.0) -> agent_run_pb2.AgentRun:
    stub = agent_run_pb2_grpc.AgentRunServiceStub(channel)
    deadline = time.monotonic() + within
    while True:
        run = await stub.GetAgentRun(agent_run_pb2.GetAgentRunRequest(id=run_id))
        if run.status.phase == phase or time.monotonic() > deadline:
            assert RunPhase.Name(run.status.phase) == RunPhase.Name(phase), run.status
            return run
        await asyncio.sleep(0.1)


async def test_a_succeeding_job_ends_the_run_succeeded_with_the_runner_status_and_logs(
    kube, job_channel, reconciler
):
    report = {"status": "succeeded", "usage": {"inputTokens": 900, "outputTokens": 120, "costUsd": 0.02}}
    script = JobScript.succeed(json.dumps(report), logs="working\nall done\n", run_seconds=0.5)
    run = await job_run(job_channel, kube, script)
    done = await phase_of(job_channel, run.id, RunPhase.Succeeded)
    view = await run_pb2_grpc.RunServiceStub(job_channel).GetRun(run_pb2.GetRunRequest(id=run.id))
    assert [(h.to_phase, h.reason) for h in view.history] == [
        (RunPhase.Pending, "Accepted"),
        (RunPhase.Running, "Started"),
        (RunPhase.Succeeded, "Succeeded"),
    ]
    assert done.status.runner.status == "succeeded"
    assert done.status.runner.usage.input_tokens == 900
    stub = agent_run_pb2_grpc.AgentRunServiceStub(job_channel)
    logs = await stub.GetAgentRunLogs(agent_run_pb2.GetAgentRunLogsRequest(id=run.id))
    assert "all done" in logs.text
    # kubectl sees it too: the run's status is copied onto its custom resource.
    resource = await wait_for(
        lambda: (
            (kube.get("agentruns", run.name, NAMESPACE) or {}).get("status", {}).get("phase") == "Succeeded"
            and kube.get("agentruns", run.name, NAMESPACE)
        )
    )
    assert resource["status"]["runner"]["usage"]["inputTokens"] == "900"


async def test_a_failing_job_ends_the_run_failed_with_its_exit_code(kube, job_channel, reconciler):
    run = await job_run(job_channel, kube, JobScript.fail(3, logs="boom\n"))
    done = await phase_of(job_channel, run.id, RunPhase.Failed)
    assert done.status.reason == "ExitCode"
    assert done.status.runner.exit_code == 3


async def test_a_job_past_its_deadline_ends_the_run_failed_timeout(kube, job_channel, reconciler):
    run = await job_run(job_channel, kube, JobScript.hang(logs="thinking\n"))
    await phase_of(job_channel, run.id, RunPhase.Running)
    done = await phase_of(job_channel, run.id, RunPhase.Failed)
    assert done.status.reason == "Timeout"
    await wait_for(lambda: not [p for p in kube.objects("pods", NAMESPACE) if _running(p, run.id)])


async def test_a_failed_attempt_is_retried_as_a_new_job_that_succeeds(kube, job_channel, reconciler):
    def second_attempt_succeeds(agent: str) -> None:
        kube.kubelet.script(
            JobScript.succeed(), labels=f"jangar.proompteng.ai/agent={agent},jangar.proompteng.ai/attempt=2"
        )

    run = await job_run(job_channel, kube, JobScript.fail(1), retry_limit=1, scripted=second_attempt_succeeds)
    done = await phase_of(job_channel, run.id, RunPhase.Succeeded)
    assert done.status.attempt == 2
    assert done.status.runtime_ref.name == f"{run.id}-2"
    assert kube.get("jobs", f"{run.id}-1", NAMESPACE) is not None
    assert kube.get("jobs", f"{run.id}-2", NAMESPACE) is not None


async def test_cancel_of_a_running_job_ends_the_run_cancelled_and_its_pod_goes(kube, job_channel, reconciler):
    run = await job_run(job_channel, kube, JobScript.hang())
    await phase_of(job_channel, run.id, RunPhase.Running)
    stub = agent_run_pb2_grpc.AgentRunServiceStub(job_channel)
    await stub.CancelAgentRun(agent_run_pb2.CancelAgentRunRequest(id=run.id), metadata=builders.key())
    await wait_for(lambda: kube.get("jobs", f"{run.id}-1", NAMESPACE) is None)
    await wait_for(lambda: not [p for p in kube.objects("pods", NAMESPACE) if _running(p, run.id)])
    await asyncio.sleep(1)  # whatever the reconciler reports of the deletion changes nothing
    assert (await phase_of(job_channel, run.id, RunPhase.Cancelled)).status.reason == "Cancelled"


async def test_a_run_created_with_kubectl_is_adopted_and_runs(kube, job_channel, reconciler):
    template = await job_run(job_channel, kube, JobScript.succeed(run_seconds=0.2))
    name = builders.unique("kubectl")
    kube.create(
        "agentruns",
        {
            "apiVersion": "agents.proompteng.ai/v1alpha1",
            "kind": "AgentRun",
            "metadata": {"name": name, "labels": {"agents.proompteng.ai/delivery-id": f"d-{name}"}},
            "spec": {"agentRef": {"name": template.spec.agent_ref.name}, "workload": {"image": IMAGE}},
        },
        NAMESPACE,
    )
    stub = agent_run_pb2_grpc.AgentRunServiceStub(job_channel)

    async def adopted() -> agent_run_pb2.AgentRun | None:
        try:
            return await stub.GetAgentRun(agent_run_pb2.GetAgentRunRequest(id=name, namespace=NAMESPACE))
        except grpc.aio.AioRpcError:
            return None

    deadline = time.monotonic() + 30
    while (run := await adopted()) is None:
        assert time.monotonic() < deadline, "the kubectl-created run was not adopted"
        await asyncio.sleep(0.1)
    assert run.delivery_id == f"d-{name}"
    await phase_of(job_channel, run.id, RunPhase.Succeeded)
    (owner,) = kube.get("jobs", f"{run.id}-1", NAMESPACE)["metadata"]["ownerReferences"]
    assert owner["uid"] == kube.get("agentruns", name, NAMESPACE)["metadata"]["uid"]


async def test_an_invalid_kubectl_run_gets_an_invalid_spec_condition(kube, job_channel, reconciler):
    name = builders.unique("kubectl-invalid")
    kube.create(
        "agentruns",
        {
            "apiVersion": "agents.proompteng.ai/v1alpha1",
            "kind": "AgentRun",
            "metadata": {"name": name},
            "spec": {"agentRef": {"name": "no-such-agent"}},
        },
        NAMESPACE,
    )
    resource = await wait_for(
        lambda: (
            (kube.get("agentruns", name, NAMESPACE) or {}).get("status", {}).get("reason") == "InvalidSpec"
            and kube.get("agentruns", name, NAMESPACE)
        )
    )
    (condition,) = resource["status"]["conditions"]
    assert condition["type"] == "Accepted"
    assert condition["status"] == "False"
    assert "no-such-agent" in condition["message"]


def _running(pod: dict[str, Any], run_id: str) -> bool:
    labels = pod["metadata"].get("labels", {})
    return labels.get("jangar.proompteng.ai/run-id") == run_id and pod["status"].get("phase") in (
        "Pending",
        "Running",
    )


async def test_a_tool_run_runs_as_a_job_owned_by_its_tool_run_resource(kube, job_channel, reconciler):
    tool = tool_pb2.Tool(
        name=builders.unique("lint"),
        namespace=NAMESPACE,
        spec=tool_pb2.ToolSpec(
            image="ghcr.io/proompteng/lint:2",
            command=["lint"],
            args=["{{parameters.path}}"],
            service_account="linter",
            timeout_seconds=60,
        ),
    )
    await tool_pb2_grpc.ToolServiceStub(job_channel).CreateTool(
        tool_pb2.CreateToolRequest(tool=tool), metadata=builders.key()
    )
    kube.kubelet.script(JobScript.succeed(logs="clean\n"), labels=f"jangar.proompteng.ai/tool={tool.name}")
    stub = tool_run_pb2_grpc.ToolRunServiceStub(job_channel)
    run = await stub.CreateToolRun(
        tool_run_pb2.CreateToolRunRequest(
            tool_run=tool_run_pb2.ToolRun(
                namespace=NAMESPACE,
                spec=tool_run_pb2.ToolRunSpec(tool_ref={"name": tool.name}, parameters={"path": "src/"}),
            )
        ),
        metadata=builders.key(),
    )
    deadline = time.monotonic() + 30
    while (current := await stub.GetToolRun(tool_run_pb2.GetToolRunRequest(id=run.id))).status.phase != (
        RunPhase.Succeeded
    ):
        assert time.monotonic() < deadline, current.status
        await asyncio.sleep(0.1)
    job = kube.get("jobs", f"{run.id}-1", NAMESPACE)
    (container,) = job["spec"]["template"]["spec"]["containers"]
    assert container["image"] == "ghcr.io/proompteng/lint:2"
    assert container["command"] == ["lint", "src/"]
    assert job["spec"]["template"]["spec"]["serviceAccountName"] == "linter"
    assert job["spec"]["activeDeadlineSeconds"] == 60
    (owner,) = job["metadata"]["ownerReferences"]
    assert owner["kind"] == "ToolRun"
    assert owner["uid"] == kube.get("toolruns", run.name, NAMESPACE)["metadata"]["uid"]
    logs = await stub.GetToolRunLogs(tool_run_pb2.GetToolRunLogsRequest(id=run.id))
    assert "clean" in logs.text


async def test_deleting_the_runs_resource_with_kubectl_cancels_the_run(kube, job_channel, reconciler):
    run = await job_run(job_channel, kube, JobScript.hang())
    await phase_of(job_channel, run.id, RunPhase.Running)
    kube.store.delete(kube.resource("agentruns"), NAMESPACE, run.name)
    done = await phase_of(job_channel, run.id, RunPhase.Cancelled)
    assert "deleted from the cluster" in done.status.message
    # Its Job was the resource's dependent: garbage-collected, and nothing re-creates it.
    await wait_for(lambda: kube.get("jobs", f"{run.id}-1", NAMESPACE) is None)
