"""Runs execute on the local runtime, end to end over REST: a server with JANGAR_LOCAL_RUNTIME=1 behind
Envoy, on the session's database. Each run's process is a small Python script, so every outcome (status
file, exit code, timeout, a failed first attempt, a process that must be stopped) is real."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest

from jangar.server.devstack.envoy import LocalEnvoy
from jangar.server.devstack.processes import free_port
from tests.support import ServerProcess, unique

NAMESPACE = "local-runs"
SETTLE_SECONDS = 30.0


class LocalStack:
    def __init__(self, server: ServerProcess, http: httpx.AsyncClient, state_dir: Path) -> None:
        self.server = server
        self.http = http
        self.state_dir = state_dir

    async def post(self, path: str, body: dict) -> dict:
        response = await self.http.post(path, json=body, headers={"Idempotency-Key": f"local-{uuid.uuid4()}"})
        assert response.status_code == 200, response.text
        return response.json()

    async def agent_with(self, script: str, **defaults: int) -> dict:
        """A provider whose binary is this Python running `script`, and an agent of it."""
        provider = await self.post(
            "/v1/agent-providers",
            {
                "name": unique("py"),
                "namespace": NAMESPACE,
                "spec": {
                    "binary": sys.executable,
                    "argsTemplate": ["-c", script, "{{run.goal.objective}}", "{{agent.config.model}}"],
                    "envTemplate": {"RUN_LABEL": "{{parameters.label}}"},
                    "inputFiles": [{"path": "prompt.md", "content": "objective: {{run.goal.objective}}"}],
                    "outputArtifacts": [{"name": "report", "path": "out/report.txt"}],
                    # Not enforced by the local runtime, but what Budgets charge its runs for.
                    "workload": {"resources": {"requests": {"cpu": "250m"}}},
                },
            },
        )
        return await self.post(
            "/v1/agents",
            {
                "name": unique("agent"),
                "namespace": NAMESPACE,
                "spec": {
                    "providerRef": {"name": provider["name"]},
                    "config": {"model": "gpt-test"},
                    "env": [{"name": "FROM_AGENT", "value": "yes"}],
                    "defaults": defaults,
                },
            },
        )

    async def run(self, agent: dict, objective: str = "say hi", label: str = "one") -> dict:
        return await self.post(
            "/v1/agent-runs",
            {
                "namespace": NAMESPACE,
                "spec": {
                    "agentRef": {"name": agent["name"]},
                    "goal": {"objective": objective},
                    "parameters": {"label": label},
                },
            },
        )

    async def settled(self, run_id: str, path: str = "/v1/agent-runs") -> dict:
        """The run once it is terminal."""
        deadline = time.monotonic() + SETTLE_SECONDS
        while time.monotonic() < deadline:
            run = (await self.http.get(f"{path}/{run_id}")).json()
            if run["status"]["phase"] in ("Succeeded", "Failed", "Cancelled"):
                return run
            await asyncio.sleep(0.1)
        raise AssertionError(f"run {run_id} did not finish within {SETTLE_SECONDS}s: {run}")

    async def phase(self, run_id: str, wanted: str, path: str = "/v1/agent-runs") -> dict:
        deadline = time.monotonic() + SETTLE_SECONDS
        while time.monotonic() < deadline:
            run = (await self.http.get(f"{path}/{run_id}")).json()
            if run["status"]["phase"] == wanted:
                return run
            await asyncio.sleep(0.05)
        raise AssertionError(f"run {run_id} never became {wanted}: {run}")

    def attempt_dir(self, run_id: str, attempt: int) -> Path:
        return self.state_dir / "runs" / run_id / str(attempt)

    def wrapper_alive(self, run_id: str, attempt: int) -> bool:
        pid = json.loads((self.attempt_dir(run_id, attempt) / "wrapper.json").read_text())["pid"]
        try:
            stat = Path(f"/proc/{pid}/stat").read_text()
        except FileNotFoundError:
            return False
        return stat[stat.rindex(")") + 2] not in "ZX"


@pytest.fixture(scope="module")
def local_server(pg_url: str, work_dir: Path) -> Iterator[tuple[ServerProcess, Path]]:
    state_dir = work_dir / "local-state"
    server = ServerProcess(
        pg_url,
        free_port(),
        work_dir / "local-server.log",
        JANGAR_LOCAL_RUNTIME="1",
        JANGAR_DEFAULT_RUNTIME="local",
        JANGAR_STATE_DIR=str(state_dir),
        JANGAR_RETRY_BACKOFF_SECONDS="0.2",
    )
    server.start()
    yield server, state_dir
    server.stop()


@pytest.fixture(scope="module")
async def local(local_server: tuple[ServerProcess, Path], work_dir: Path) -> AsyncIterator[LocalStack]:
    server, state_dir = local_server
    listen, admin = free_port(), free_port()
    proxy = LocalEnvoy(
        listen_port=listen,
        admin_port=admin,
        upstream_port=server.port,
        config_path=work_dir / "local-envoy.yaml",
        log_path=work_dir / "local-envoy.log",
    )
    proxy.start()
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{listen}", timeout=30) as http:
            deadline = time.monotonic() + 20
            while (await http.get("/healthz")).status_code != 200:
                assert time.monotonic() < deadline, "Envoy never saw the local server healthy"
                await asyncio.sleep(0.1)
            yield LocalStack(server, http, state_dir)
    finally:
        proxy.stop()


SUCCEED = """
import json, os, pathlib, sys
spec = json.loads(pathlib.Path(os.environ["JANGAR_RUN_SPEC"]).read_text())
print("objective:", sys.argv[1], "model:", sys.argv[2], "label:", os.environ["RUN_LABEL"])
attempt = os.environ["JANGAR_ATTEMPT"]
print("from agent:", os.environ["FROM_AGENT"], "run:", spec["run"]["name"], "attempt:", attempt)
print("prompt:", pathlib.Path("prompt.md").read_text())
print("database url leaked:", "JANGAR_DATABASE_URL" in os.environ)
pathlib.Path("out").mkdir()
pathlib.Path("out/report.txt").write_text("done")
pathlib.Path(os.environ["JANGAR_RUNNER_STATUS_PATH"]).write_text(json.dumps({
    "status": "succeeded",
    "usage": {"inputTokens": 120, "outputTokens": 30, "costUsd": 0.25},
}))
"""


async def test_a_run_goes_pending_running_succeeded_with_its_runner_status_and_logs(local):
    agent = await local.agent_with(SUCCEED)
    run = await local.run(agent, objective="fix the tests", label="blue")
    assert run["status"]["phase"] == "Pending"
    done = await local.settled(run["id"])
    status = done["status"]
    assert (status["phase"], status["reason"]) == ("Succeeded", "Succeeded"), status
    assert status["attempt"] == 1
    assert status["startTime"] and status["finishTime"]
    assert status["runner"]["status"] == "succeeded"
    assert status["runner"]["usage"] == {"inputTokens": "120", "outputTokens": "30", "costUsd": 0.25}
    [report] = status["runner"]["artifacts"]
    assert (report["name"], report["path"]) == ("report", "out/report.txt")
    assert report["uri"].startswith("file://") and report["artifactId"]  # tests/test_storage_local.py
    assert status["runtimeRef"] == {"type": "local", "name": f"{run['id']}-1", "namespace": ""}
    # The provider's resources, as the attempt was planned (the run names none of its own).
    assert status["requestedResources"] == {"limits": {}, "requests": {"cpu": "250m"}}

    logs = (await local.http.get(f"/v1/agent-runs/{run['id']}/logs")).json()
    assert logs["attempt"] == 1 and not logs["truncated"]
    assert "objective: fix the tests model: gpt-test label: blue" in logs["text"]
    assert f"from agent: yes run: {run['name']} attempt: 1" in logs["text"]
    assert "prompt: objective: fix the tests" in logs["text"]
    assert "database url leaked: False" in logs["text"]
    tail = (await local.http.get(f"/v1/agent-runs/{run['id']}/logs", params={"tailBytes": 10})).json()
    assert tail["truncated"] and len(tail["text"]) <= 10

    view = (await local.http.get(f"/v1/runs/{run['id']}")).json()
    assert [(h["fromPhase"], h["toPhase"], h["reason"]) for h in view["history"]] == [
        ("RUN_PHASE_UNSPECIFIED", "Pending", "Accepted"),
        ("Pending", "Running", "Started"),
        ("Running", "Succeeded", "Succeeded"),
    ]
    assert view["attempt"] == 1 and view["runtimeRef"]["type"] == "local"


async def test_a_non_zero_exit_fails_the_run_with_reason_exit_code(local, db):
    agent = await local.agent_with("import sys; print('boom'); sys.exit(3)")
    run = await local.run(agent)
    status = (await local.settled(run["id"]))["status"]
    assert (status["phase"], status["reason"]) == ("Failed", "ExitCode")
    row = await db.fetchrow(
        "SELECT status, external_run_id FROM agent_runs WHERE id = $1", uuid.UUID(run["id"])
    )
    assert (row["status"], row["external_run_id"]) == ("Failed", f"{run['id']}-1")
    assert status["runner"]["exitCode"] == 3
    assert "exited with code 3" in status["message"]
    events = await db.fetch(
        "SELECT event_type FROM audit_events WHERE entity_id = $1 ORDER BY created_at", uuid.UUID(run["id"])
    )
    assert [e["event_type"] for e in events] == ["Created", "Running", "Failed"]


async def test_a_run_past_its_timeout_fails_with_timeout_and_its_process_is_gone(local):
    agent = await local.agent_with("import time; time.sleep(120)", timeoutSeconds=1)
    run = await local.run(agent)
    status = (await local.settled(run["id"]))["status"]
    assert (status["phase"], status["reason"]) == ("Failed", "Timeout")
    assert not local.wrapper_alive(run["id"], 1)


async def test_a_failed_first_attempt_is_retried_and_the_second_succeeds(local):
    script = "import os, sys; sys.exit(1 if os.environ['JANGAR_ATTEMPT'] == '1' else 0)"
    agent = await local.agent_with(script, retryLimit=1)
    run = await local.run(agent)
    status = (await local.settled(run["id"]))["status"]
    assert (status["phase"], status["attempt"]) == ("Succeeded", 2), status
    view = (await local.http.get(f"/v1/runs/{run['id']}")).json()
    assert [h["toPhase"] for h in view["history"]] == ["Pending", "Running", "Succeeded"]
    assert view["history"][-1]["attempt"] == 2
    assert (local.attempt_dir(run["id"], 1) / "exit.json").read_text() == '{"exitCode": 1}'


async def test_retries_stop_at_the_limit(local):
    agent = await local.agent_with("import sys; sys.exit(7)", retryLimit=2)
    run = await local.run(agent)
    status = (await local.settled(run["id"]))["status"]
    assert (status["phase"], status["reason"], status["attempt"]) == ("Failed", "ExitCode", 3)


async def test_cancelling_a_running_run_stops_its_process(local):
    agent = await local.agent_with("import time; print('working', flush=True); time.sleep(120)")
    run = await local.run(agent)
    await local.phase(run["id"], "Running")
    cancelled = await local.post(f"/v1/agent-runs/{run['id']}:cancel", {"reason": "not needed"})
    assert cancelled["status"]["phase"] == "Cancelled"
    deadline = time.monotonic() + 10
    while local.wrapper_alive(run["id"], 1):
        assert time.monotonic() < deadline, "the cancelled run's process is still running"
        await asyncio.sleep(0.05)
    assert (await local.http.get(f"/v1/agent-runs/{run['id']}")).json()["status"]["phase"] == "Cancelled"


async def test_a_tool_run_executes_its_rendered_command(local):
    tool = await local.post(
        "/v1/tools",
        {
            "name": unique("tool"),
            "namespace": NAMESPACE,
            "spec": {
                "image": "python:3.11",
                "command": [sys.executable, "-c"],
                "args": [
                    "import os, sys; print('checking', sys.argv[1], os.environ['MODE'])",
                    "{{parameters.path}}",
                ],
                "env": [{"name": "MODE", "value": "strict-{{tool.name}}"}],
                "timeoutSeconds": 30,
            },
        },
    )
    run = await local.post(
        "/v1/tool-runs",
        {"namespace": NAMESPACE, "spec": {"toolRef": {"name": tool["name"]}, "parameters": {"path": "src/"}}},
    )
    status = (await local.settled(run["id"], "/v1/tool-runs"))["status"]
    assert status["phase"] == "Succeeded", status
    logs = (await local.http.get(f"/v1/tool-runs/{run['id']}/logs")).json()
    assert f"checking src/ strict-{tool['name']}" in logs["text"]
    assert (await local.http.get(f"/v1/runs/{run['id']}")).json()["kind"] == "ToolRun"


async def test_a_template_that_names_nothing_is_refused_at_admission(local):
    agent = await local.agent_with("print('never')")
    response = await local.http.post(
        "/v1/agent-runs",
        json={"namespace": NAMESPACE, "spec": {"agentRef": {"name": agent["name"]}}},
        headers={"Idempotency-Key": f"local-{uuid.uuid4()}"},
    )
    assert response.status_code == 400, response.text
    fields = [v["field"] for d in response.json()["details"] for v in d.get("fieldViolations", [])]
    # The provider's envTemplate reads {{parameters.label}}, which this run does not give.
    assert fields == ["spec.parameters"]
    assert "{{parameters.label}}" in response.text


async def test_a_binary_that_does_not_exist_fails_the_run_with_start_failed(local):
    provider = await local.post(
        "/v1/agent-providers",
        {"name": unique("nobin"), "namespace": NAMESPACE, "spec": {"binary": "no-such-binary-anywhere"}},
    )
    agent = await local.post(
        "/v1/agents",
        {
            "name": unique("agent"),
            "namespace": NAMESPACE,
            "spec": {"providerRef": {"name": provider["name"]}},
        },
    )
    run = await local.run(agent)
    status = (await local.settled(run["id"]))["status"]
    assert (status["phase"], status["reason"]) == ("Failed", "StartFailed")
    assert "no-such-binary-anywhere" in status["message"]


async def test_a_run_that_finished_while_the_server_was_down_gets_its_real_outcome(local, local_server):
    server, _ = local_server
    agent = await local.agent_with("import sys, time; time.sleep(1.5); sys.exit(4)")
    run = await local.run(agent)
    await local.phase(run["id"], "Running")
    server.stop()
    await asyncio.sleep(2.5)  # the process exits while no server watches it
    server.start()
    status = (await local.settled(run["id"]))["status"]
    assert (status["phase"], status["reason"], status["runner"]["exitCode"]) == ("Failed", "ExitCode", 4)


async def test_a_process_that_vanished_while_the_server_was_down_ends_runtime_lost(local, local_server):
    server, _ = local_server
    agent = await local.agent_with("import time; time.sleep(120)")
    run = await local.run(agent)
    await local.phase(run["id"], "Running")
    server.stop()
    pid = json.loads((local.attempt_dir(run["id"], 1) / "wrapper.json").read_text())["pid"]
    os.killpg(pid, signal.SIGKILL)  # gone without writing its exit code
    server.start()
    status = (await local.settled(run["id"]))["status"]
    assert (status["phase"], status["reason"]) == ("Failed", "RuntimeLost")


async def test_the_session_server_refuses_local_runs(channel, http):
    """The local runtime is off unless enabled: a server without it refuses `runtime.type: local`."""
    agent = (
        await http.post(
            "/v1/agents",
            json={"name": unique("agent"), "namespace": "jangar", "spec": {"providerRef": {"name": "codex"}}},
            headers={"Idempotency-Key": f"local-{uuid.uuid4()}"},
        )
    ).json()
    response = await http.post(
        "/v1/agent-runs",
        json={
            "namespace": "jangar",
            "spec": {"agentRef": {"name": agent["name"]}, "runtime": {"type": "local"}},
        },
        headers={"Idempotency-Key": f"local-{uuid.uuid4()}"},
    )
    assert response.status_code == 400, response.text
    info = response.json()["details"][0]
    assert info["reason"] == "RUNTIME_DISABLED"
