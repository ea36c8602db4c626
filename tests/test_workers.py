"""JANGAR_WORKERS: several server processes on one port behave as one server."""

from __future__ import annotations

import asyncio
import os
import signal
import uuid
from pathlib import Path

import grpc
import pytest

from jangar.server.devstack.processes import free_port, wait_until
from jangar.v1 import agent_run_pb2, agent_run_pb2_grpc
from tests import builders
from tests.bench_measure import child_pids
from tests.support import ServerProcess


def _workers_of(parent: int) -> list[int]:
    """The worker processes (multiprocessing children) of the supervisor."""

    def is_worker(pid: int) -> bool:
        try:
            return b"spawn_main" in Path(f"/proc/{pid}/cmdline").read_bytes()
        except OSError:
            return False

    return [pid for pid in child_pids(parent) if is_worker(pid)]


@pytest.fixture
def two_workers(pg_url: str, work_dir: Path):
    server = ServerProcess(
        pg_url, free_port(), work_dir / f"workers-{uuid.uuid4().hex[:6]}.log", JANGAR_WORKERS="2"
    )
    server.start()
    try:
        yield server
    finally:
        if server.process is not None and server.process.poll() is None:
            server.stop()


async def test_two_workers_serve_one_port_and_keep_a_key_to_one_run(two_workers: ServerProcess):
    assert two_workers.process is not None
    assert len(_workers_of(two_workers.process.pid)) == 2
    async with grpc.aio.insecure_channel(two_workers.address) as channel:
        agent = await builders.create_agent(channel)
    spec = agent_run_pb2.AgentRunSpec(agent_ref={"name": agent.name}, workload={"image": "busybox:1"})
    run = agent_run_pb2.AgentRun(spec=spec)
    request = agent_run_pb2.CreateAgentRunRequest(agent_run=run)
    key = [("idempotency-key", f"k-{uuid.uuid4()}")]

    async def create() -> agent_run_pb2.AgentRun:
        # A channel of its own: a new connection, which the kernel may give to either worker.
        async with grpc.aio.insecure_channel(two_workers.address) as channel:
            stub = agent_run_pb2_grpc.AgentRunServiceStub(channel)
            return await stub.CreateAgentRun(request, metadata=key)

    created = await asyncio.gather(*(create() for _ in range(8)))
    assert len({c.id for c in created}) == 1
    assert two_workers.stop() == 0
    assert _workers_of(two_workers.process.pid) == []


def test_a_worker_that_dies_stops_the_server(two_workers: ServerProcess):
    assert two_workers.process is not None
    workers = _workers_of(two_workers.process.pid)
    os.kill(workers[0], signal.SIGKILL)
    wait_until(lambda: two_workers.process.poll() is not None, proc=None, timeout=30, what="supervisor exit")
    assert two_workers.process.returncode != 0
    assert not any(Path(f"/proc/{pid}").exists() for pid in workers[1:])
