"""The reconciler as a real process, through its console script, configured by environment variables."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from jangar.reconciler.resources import WATCHED
from jangar.server.devstack.processes import free_port
from tests.reconciler_fake import FakeReconcilerServer
from tests.reconciler_support import agent_run, config_for, running

SCRIPT = Path(sys.executable).parent / "jangar-reconciler"


@pytest.fixture
async def sink():
    server = await FakeReconcilerServer().start()
    yield server
    await server.stop()


def _start(fake_kube, sink, tmp_path: Path, identity: str, port: int) -> tuple[subprocess.Popen[bytes], Path]:
    fake_kube.create_namespace("jangar")
    env = {
        **os.environ,
        "KUBECONFIG": str(fake_kube.write_kubeconfig(tmp_path / "kubeconfig")),
        "JANGAR_RECONCILER_SERVER": sink.address,
        "JANGAR_RECONCILER_HTTP_PORT": str(port),
        "JANGAR_RECONCILER_HTTP_HOST": "127.0.0.1",
        "JANGAR_RECONCILER_LEASE_DURATION_SECONDS": "2",
        "JANGAR_RECONCILER_RENEW_INTERVAL_SECONDS": "0.5",
        "JANGAR_RECONCILER_RETRY_PERIOD_SECONDS": "0.2",
        "POD_NAME": identity,
    }
    env.pop("KUBERNETES_SERVICE_HOST", None)
    log = tmp_path / f"{identity}.log"
    with log.open("wb") as stderr:
        process = subprocess.Popen([str(SCRIPT)], env=env, stdout=subprocess.DEVNULL, stderr=stderr)
    return process, log


async def test_the_console_script_streams_and_releases_its_lease_on_sigterm(fake_kube, sink, tmp_path):
    fake_kube.create("agentruns", agent_run("run-1"))
    port = free_port()
    process, log = _start(fake_kube, sink, tmp_path, "reconciler-process", port)
    try:
        await sink.wait_for(lambda: sink.markers("AgentRun"))
        assert sink.sessions[0].hello.identity == "reconciler-process"
        assert [s.name for s in sink.snapshots("AgentRun")] == ["run-1"]
        async with httpx.AsyncClient(timeout=10) as http:
            await sink.wait_for(lambda: sink.sessions[0].acked)
            ready = await http.get(f"http://127.0.0.1:{port}/readyz")
            assert ready.status_code == 200
        fake_kube.create("agentruns", agent_run("run-2"))
        await sink.wait_for(lambda: sink.latest("AgentRun", "run-2"))
        process.send_signal(signal.SIGTERM)
        # Polled, not process.wait(): the fake API server runs on this event loop and must answer the release.
        assert await sink.wait_for(lambda: process.poll() is not None) and process.returncode == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    lease = fake_kube.get("leases", "jangar-reconciler", namespace="jangar")
    assert lease["spec"].get("holderIdentity", "") == ""
    lines = [json.loads(line) for line in log.read_text().splitlines()]
    messages = [line["message"] for line in lines]
    assert "leadership acquired" in messages and "lease released" in messages
    # One line per list (one per watched resource), not per object or event.
    assert messages.count("listed") == len(WATCHED)


async def test_a_killed_leader_process_is_replaced_after_its_lease_expires(fake_kube, sink, tmp_path):
    process, _ = _start(fake_kube, sink, tmp_path, "reconciler-process", free_port())
    try:
        await sink.wait_for(lambda: sink.sessions and sink.sessions[0].hello.identity == "reconciler-process")
        config = config_for(fake_kube, sink.address, tmp_path, identity="reconciler-b")
        async with running(config) as standby:
            await sink.wait_for(lambda: standby.elector and standby.elector.holder == "reconciler-process")
            process.kill()
            await sink.wait_for(lambda: process.poll() is not None)
            await sink.wait_for(lambda: standby.leading and len(sink.sessions) == 2)
            assert sink.sessions[1].hello.identity == "reconciler-b"
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
