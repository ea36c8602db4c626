"""The job runtime against the fake Kubernetes API server (tests/fakekube): the custom resource, ConfigMap
and Job it writes, that the kubelet runs that Job, idempotent starts, how API errors are classified, stop
and logs."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from kubernetes_asyncio.client import ApiClient, Configuration

from jangar.server.core import custom_resources as cr
from jangar.server.core.runtime import (
    Alive,
    Attempt,
    Launch,
    OwnerResource,
    RuntimeUnavailable,
    SecretKeyEnv,
    StartFailed,
    Workload,
)
from jangar.server.devstack.processes import free_port
from jangar.server.runtime.job import JobRuntime
from jangar.server.runtime.kube_client import api_client_from_environment
from tests.fakekube import FakeKube, JobScript

WITHIN = 20.0  # generous: the machine is shared
RUN_ID = "3f1c2a9e-0d4b-4c1e-9a55-7e2b1c0d9f10"
ATTEMPT = f"{RUN_ID}-1"
AGENT_RUNS = "agentruns.agents.proompteng.ai"


def agent_run_body(name: str = "fix-flaky-test", run_id: str = RUN_ID) -> dict[str, Any]:
    """The custom resource the domain puts in a Launch (custom_resources.custom_resource)."""
    return {
        "apiVersion": "agents.proompteng.ai/v1alpha1",
        "kind": "AgentRun",
        "metadata": {
            "name": name,
            "namespace": "default",
            "labels": {"team": "infra", cr.RUN_ID_LABEL: run_id, cr.MANAGED_BY_LABEL: cr.MANAGED_BY},
        },
        "spec": {
            "agentRef": {"name": "codex-agent"},
            "goal": {"objective": "Fix the flaky test in tests/test_api.py"},
            "parameters": {"depth": "2"},
            "secrets": ["github-token"],
        },
    }


def agent_launch(**workload: Any) -> Launch:
    """An AgentRun's first attempt, as agent_run.plan and with_cluster_identity build it."""
    labels = {
        cr.LABEL_PREFIX + "agent": "codex-agent",
        cr.LABEL_PREFIX + "provider": "codex",
        cr.RUN_ID_LABEL: RUN_ID,
        cr.RUN_KIND_LABEL: "AgentRun",
        cr.ATTEMPT_LABEL: "1",
        cr.MANAGED_BY_LABEL: cr.MANAGED_BY,
    }
    defaults: dict[str, Any] = {
        "image": "ghcr.io/proompteng/codex-runner:1.4.2",
        "resources": {"limits": {"cpu": "2", "memory": "4Gi"}, "requests": {"cpu": "500m"}},
        "service_account": "codex-runner",
        "secret_refs": ("github-token",),
        "secret_env": (
            SecretKeyEnv("OPENAI_API_KEY", "openai", "api-key"),
            SecretKeyEnv("SENTRY_DSN", "sentry", "dsn", optional=True),
        ),
        "timeout_seconds": 1800,
        "ttl_seconds_after_finished": 3600,
        "labels": labels,
        "owner": OwnerResource(
            "agents.proompteng.ai/v1alpha1", "AgentRun", "agentruns", "fix-flaky-test", agent_run_body()
        ),
    }
    defaults.update(workload)
    return Launch(
        attempt=Attempt("AgentRun", RUN_ID, 1, "default"),
        argv=("codex", "exec", "--model", "gpt-5"),
        env={
            "MODEL": "gpt-5",
            "JANGAR_RUN_ID": RUN_ID,
            "JANGAR_RUN_NAME": "fix-flaky-test",
            "JANGAR_RUN_NAMESPACE": "default",
            "JANGAR_ATTEMPT": "1",
        },
        files={"AGENTS.md": "Be brief.\n", ".codex/config.toml": 'model = "gpt-5"\n'},
        run_document={"run": {"name": "fix-flaky-test"}, "parameters": {"depth": "2"}},
        workload=Workload(**defaults),
    )


@pytest.fixture
async def api(fake_kube: FakeKube) -> AsyncIterator[ApiClient]:
    async with ApiClient(Configuration(host=fake_kube.url)) as client:
        yield client


@pytest.fixture
def runtime(api: ApiClient) -> JobRuntime:
    return JobRuntime(api)


def writes(kube: FakeKube) -> list[tuple[str, str]]:
    return [(r.method, r.path) for r in kube.requests if r.method in ("POST", "PUT", "PATCH", "DELETE")]


async def finished(kube: FakeKube, name: str = ATTEMPT) -> dict[str, Any]:
    def done() -> dict[str, Any] | None:
        job = kube.get("jobs", name)
        types = {c["type"] for c in (job or {}).get("status", {}).get("conditions") or []}
        return job if types & {"Complete", "Failed"} else None

    return await kube.wait_for(done, within=WITHIN)


async def test_start_writes_the_custom_resource_then_a_configmap_and_job_it_owns(fake_kube, runtime):
    launch = agent_launch()
    await runtime.start(launch)

    run = fake_kube.get(AGENT_RUNS, "fix-flaky-test")
    assert run["spec"] == agent_run_body()["spec"]
    assert run["metadata"]["labels"] == agent_run_body()["metadata"]["labels"]
    owner = {
        "apiVersion": "agents.proompteng.ai/v1alpha1",
        "kind": "AgentRun",
        "name": "fix-flaky-test",
        "uid": run["metadata"]["uid"],
        "controller": True,
        "blockOwnerDeletion": True,
    }
    labels = dict(launch.workload.labels)

    config_map = fake_kube.get("configmaps", ATTEMPT)
    assert config_map["metadata"]["labels"] == labels
    assert config_map["metadata"]["ownerReferences"] == [owner]
    assert json.loads(config_map["data"]["run.json"]) == launch.run_document
    assert sorted(config_map["data"]) == ["input-0", "input-1", "run.json"]
    # input-N follow the sorted paths.
    assert config_map["data"]["input-0"] == 'model = "gpt-5"\n'
    assert config_map["data"]["input-1"] == "Be brief.\n"

    job = fake_kube.get("jobs", ATTEMPT)
    assert job["metadata"]["labels"] == labels
    assert job["metadata"]["ownerReferences"] == [owner]
    spec = job["spec"]
    assert (spec["backoffLimit"], spec["activeDeadlineSeconds"], spec["ttlSecondsAfterFinished"]) == (
        0,
        1800,
        3600,
    )
    template_labels = spec["template"]["metadata"]["labels"]
    assert labels.items() <= template_labels.items()
    pod = spec["template"]["spec"]
    assert (pod["restartPolicy"], pod["serviceAccountName"]) == ("Never", "codex-runner")
    [container] = pod["containers"]
    assert container["name"] == "runner"
    assert container["image"] == "ghcr.io/proompteng/codex-runner:1.4.2"
    assert container["command"] == ["codex", "exec", "--model", "gpt-5"]
    assert container["workingDir"] == "/workspace"
    assert container["resources"] == {"limits": {"cpu": "2", "memory": "4Gi"}, "requests": {"cpu": "500m"}}
    assert container["terminationMessagePath"] == "/var/run/jangar/status.json"
    assert container["terminationMessagePolicy"] == "FallbackToLogsOnError"
    assert container["envFrom"] == [{"secretRef": {"name": "github-token"}}]
    env = {e["name"]: e for e in container["env"]}
    assert env["MODEL"] == {"name": "MODEL", "value": "gpt-5"}
    assert env["JANGAR_RUN_SPEC"]["value"] == "/var/run/jangar/spec/run.json"
    assert env["JANGAR_RUNNER_STATUS_PATH"]["value"] == "/var/run/jangar/status.json"
    assert env["JANGAR_ATTEMPT"]["value"] == "1"
    assert env["OPENAI_API_KEY"]["valueFrom"] == {
        "secretKeyRef": {"name": "openai", "key": "api-key", "optional": False}
    }
    assert env["SENTRY_DSN"]["valueFrom"]["secretKeyRef"]["optional"] is True
    volumes = {v["name"]: v for v in pod["volumes"]}
    mounts = {m["mountPath"]: m for m in container["volumeMounts"]}
    assert "emptyDir" in volumes[mounts["/workspace"]["name"]]
    spec_volume = volumes[mounts["/var/run/jangar/spec"]["name"]]
    assert mounts["/var/run/jangar/spec"]["readOnly"] is True
    assert spec_volume["configMap"] == {"name": ATTEMPT, "items": [{"key": "run.json", "path": "run.json"}]}
    for path, key in (("/workspace/.codex/config.toml", "input-0"), ("/workspace/AGENTS.md", "input-1")):
        assert mounts[path]["subPath"] == key
        assert volumes[mounts[path]["name"]]["configMap"]["name"] == ATTEMPT
    assert [method for method, _ in writes(fake_kube)] == ["POST", "POST", "POST"]


async def test_the_kubelet_runs_the_job_and_the_status_file_is_the_termination_message(fake_kube, runtime):
    status = '{"status": "succeeded"}'
    fake_kube.kubelet.script(JobScript.succeed(status, logs="working\ndone\n"), name=ATTEMPT)
    await runtime.start(agent_launch())
    job = await finished(fake_kube)
    assert job["status"]["succeeded"] == 1
    [pod] = fake_kube.objects("pods")
    assert pod["metadata"]["labels"][cr.RUN_ID_LABEL] == RUN_ID
    assert pod["spec"]["containers"][0]["terminationMessagePath"] == "/var/run/jangar/status.json"
    assert pod["status"]["containerStatuses"][0]["state"]["terminated"]["message"] == status


async def test_a_second_start_writes_nothing_and_raises_nothing(fake_kube, runtime):
    launch = agent_launch()
    await runtime.start(launch)
    objects = [(AGENT_RUNS, "fix-flaky-test"), ("configmaps", ATTEMPT), ("jobs", ATTEMPT)]
    uids = [fake_kube.get(r, n)["metadata"]["uid"] for r, n in objects]
    await runtime.start(launch)
    assert [fake_kube.get(r, n)["metadata"]["uid"] for r, n in objects] == uids
    assert len(fake_kube.objects("jobs")) == 1 and len(fake_kube.objects("configmaps")) == 1
    # The retried creates were refused as AlreadyExists; nothing was updated or patched.
    assert [m for m, _ in writes(fake_kube)] == ["POST"] * 6
    await finished(fake_kube)
    assert len(fake_kube.objects("pods")) == 1


async def test_a_custom_resource_created_with_kubectl_is_kept_and_owns_the_job(fake_kube, runtime):
    by_hand = agent_run_body()
    by_hand["metadata"]["labels"] = {"team": "infra"}
    by_hand["metadata"]["annotations"] = {"note": "created with kubectl"}
    existing = fake_kube.create(AGENT_RUNS, by_hand)
    await runtime.start(agent_launch())
    kept = fake_kube.get(AGENT_RUNS, "fix-flaky-test")
    assert kept["metadata"]["resourceVersion"] == existing["metadata"]["resourceVersion"]
    assert kept["metadata"]["labels"] == {"team": "infra"}
    [owner] = fake_kube.get("jobs", ATTEMPT)["metadata"]["ownerReferences"]
    assert owner["uid"] == existing["metadata"]["uid"]
    await finished(fake_kube)  # not garbage-collected: the reference names the real owner
    await fake_kube.settled()
    assert fake_kube.get("jobs", ATTEMPT) is not None and fake_kube.get("configmaps", ATTEMPT) is not None


async def test_a_custom_resource_of_another_run_with_the_same_name_is_refused(fake_kube, runtime):
    fake_kube.create(AGENT_RUNS, agent_run_body(run_id="0b6f7c1e-1111-4222-8333-944455556666"))
    with pytest.raises(StartFailed, match="belongs to another run"):
        await runtime.start(agent_launch())
    assert fake_kube.objects("jobs") == []


@pytest.mark.parametrize("path", ["apis/agents.proompteng.ai", "configmaps", "jobs"])
async def test_a_server_error_is_transient_and_a_later_start_finishes(fake_kube, runtime, path):
    fake_kube.faults.fail_next(1, 500, method="POST", path=path)
    with pytest.raises(RuntimeUnavailable) as raised:
        await runtime.start(agent_launch())
    assert "500" in str(raised.value) and "Traceback" not in str(raised.value)
    await runtime.start(agent_launch())
    job = await finished(fake_kube)
    assert (
        job["metadata"]["ownerReferences"][0]["uid"]
        == (fake_kube.get(AGENT_RUNS, "fix-flaky-test")["metadata"]["uid"])
    )


@pytest.mark.parametrize("status", [429, 403, 404, 503])
async def test_other_refusals_are_transient(fake_kube, runtime, status):
    fake_kube.faults.fail_next(1, status, method="POST", path="jobs")
    with pytest.raises(RuntimeUnavailable, match=f"Job default/{ATTEMPT}: the API server answered {status}"):
        await runtime.start(agent_launch())


async def test_a_missing_namespace_is_transient(fake_kube, runtime):
    launch = agent_launch()
    launch = replace(launch, attempt=replace(launch.attempt, namespace="nowhere"))
    with pytest.raises(RuntimeUnavailable, match='404 NotFound: namespaces "nowhere" not found'):
        await runtime.start(launch)


async def test_an_unreachable_api_server_is_transient(fake_kube, runtime):
    async with fake_kube.outage():
        with pytest.raises(RuntimeUnavailable, match="cannot reach the API server"):
            await runtime.start(agent_launch())
    await runtime.start(agent_launch())
    assert fake_kube.get("jobs", ATTEMPT) is not None


async def test_an_api_server_that_does_not_answer_is_transient():
    async def silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.read()  # reads the request, never answers, until the client hangs up
        writer.close()

    server = await asyncio.start_server(silent, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        async with ApiClient(Configuration(host=f"http://127.0.0.1:{port}")) as client:
            with pytest.raises(RuntimeUnavailable, match="did not answer in time"):
                await JobRuntime(client, request_timeout=0.5).start(agent_launch())
    finally:
        server.close()


async def test_an_object_the_api_server_finds_invalid_fails_the_start(fake_kube, runtime):
    launch = agent_launch()
    labels = {**launch.workload.labels, cr.LABEL_PREFIX + "agent": "not a valid label value!"}
    refused = r"the cluster refused ConfigMap default/.*metadata\.labels"
    with pytest.raises(StartFailed, match=refused) as raised:
        await runtime.start(replace(launch, workload=replace(launch.workload, labels=labels)))
    assert len(str(raised.value)) <= 512
    assert fake_kube.objects("jobs") == []


async def test_no_image_fails_before_anything_is_written(fake_kube, runtime):
    with pytest.raises(StartFailed, match="no container image"):
        await runtime.start(agent_launch(image=""))
    assert writes(fake_kube) == []


async def test_stop_deletes_the_job_in_the_background_and_its_pods_go(fake_kube, runtime):
    fake_kube.kubelet.script(JobScript.hang(), name=ATTEMPT)
    launch = agent_launch()
    await runtime.start(launch)
    await fake_kube.wait_for(lambda: fake_kube.objects("pods"), within=WITHIN)
    await runtime.stop(launch.attempt)
    [delete] = [r for r in fake_kube.requests if r.method == "DELETE"]
    assert delete.path == f"/apis/batch/v1/namespaces/default/jobs/{ATTEMPT}"
    policy = delete.query.get("propagationPolicy") or (delete.json() or {}).get("propagationPolicy")
    assert policy == "Background"
    await fake_kube.wait_for(lambda: not fake_kube.objects("pods") and not fake_kube.objects("jobs"), WITHIN)
    assert fake_kube.get(AGENT_RUNS, "fix-flaky-test") is not None  # the run's resource stays


async def test_stop_of_a_job_that_is_gone_is_fine(fake_kube, runtime):
    await runtime.stop(Attempt("AgentRun", RUN_ID, 7, "default"))


async def test_stop_on_a_server_error_is_transient(fake_kube, runtime):
    fake_kube.faults.fail_next(1, 503, method="DELETE")
    with pytest.raises(RuntimeUnavailable, match="503"):
        await runtime.stop(Attempt("AgentRun", RUN_ID, 1, "default"))


async def test_logs_return_the_runners_output_and_bound_the_tail(fake_kube, runtime):
    output = "".join(f"line {i} é\n" for i in range(1000))
    fake_kube.kubelet.script(JobScript.succeed(logs=output), name=ATTEMPT)
    launch = agent_launch()
    await runtime.start(launch)
    await finished(fake_kube)
    assert await runtime.logs(launch.attempt, 1 << 20) == (output, False)
    tail, truncated = await runtime.logs(launch.attempt, 100)
    assert truncated and len(tail.encode()) <= 100 and output.endswith(tail)
    assert tail.endswith("line 999 é\n")
    [request] = [r for r in fake_kube.requests if r.path.endswith("/log")][-1:]
    assert request.query["container"] == "runner" and int(request.query["tailLines"]) < 1000


async def test_logs_without_a_pod_are_empty(fake_kube, runtime):
    assert await runtime.logs(Attempt("AgentRun", RUN_ID, 1, "default"), 1024) == ("", False)


async def test_logs_on_a_server_error_are_transient(fake_kube, runtime):
    fake_kube.faults.fail_next(1, 500, method="GET", path="pods")
    with pytest.raises(RuntimeUnavailable):
        await runtime.logs(Attempt("AgentRun", RUN_ID, 1, "default"), 1024)


async def test_observe_is_always_alive(runtime):
    assert await runtime.observe(Attempt("AgentRun", RUN_ID, 1, "default")) == Alive()


async def start_through_kubeconfig(fake_kube: FakeKube, tmp_path: Path) -> None:
    """An attempt started by a runtime whose client comes from a kubeconfig naming the fake."""
    kubeconfig = fake_kube.write_kubeconfig(tmp_path / "kubeconfig")
    client = await api_client_from_environment({"KUBECONFIG": str(kubeconfig)})
    assert client is not None
    async with client:
        await JobRuntime(client, request_timeout=5).start(agent_launch())


async def test_the_client_comes_from_kubeconfig(fake_kube, tmp_path: Path):
    await start_through_kubeconfig(fake_kube, tmp_path)
    assert fake_kube.get("jobs", ATTEMPT) is not None


async def test_without_a_cluster_there_is_no_client():
    assert await api_client_from_environment({}) is None


async def test_a_start_leaves_the_launch_as_it_was(fake_kube, runtime):
    # The owner body is the caller's; start fills in metadata on a copy.
    launch = agent_launch()
    launch.workload.owner.body["metadata"]["namespace"] = ""  # type: ignore[index, union-attr]
    await runtime.start(launch)
    assert launch.workload.owner.body["metadata"]["namespace"] == ""  # type: ignore[union-attr]
    assert fake_kube.get(AGENT_RUNS, "fix-flaky-test")["metadata"]["namespace"] == "default"


async def test_the_environments_proxy_is_used_for_the_api_server(fake_kube, tmp_path: Path, monkeypatch):
    # Nothing listens at the proxy: a start that goes through it cannot reach the API server.
    monkeypatch.setenv("HTTP_PROXY", f"http://127.0.0.1:{free_port()}")
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    with pytest.raises(RuntimeUnavailable):
        await start_through_kubeconfig(fake_kube, tmp_path)
    assert fake_kube.get("jobs", ATTEMPT) is None


async def test_no_proxy_sends_the_api_servers_requests_directly(fake_kube, tmp_path: Path, monkeypatch):
    monkeypatch.setenv("HTTP_PROXY", f"http://127.0.0.1:{free_port()}")
    monkeypatch.setenv("NO_PROXY", "127.0.0.1")
    await start_through_kubeconfig(fake_kube, tmp_path)
    assert fake_kube.get("jobs", ATTEMPT) is not None
