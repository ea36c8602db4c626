"""The server as a process: refuses a stale database, survives restarts with its data, drains in-flight
calls on SIGTERM, turns a database outage into a retryable error that stores nothing, waits for a database
that is not up yet, and around an outage: health follows the database, the log says it once, and the first
call after a Postgres restart succeeds."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import subprocess
import sys
import uuid
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path

import asyncpg
import grpc
import httpx
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from sqlalchemy import text as sa_text

from jangar.server.devstack.envoy import LocalEnvoy
from jangar.server.devstack.postgres import LocalPostgres
from jangar.server.devstack.processes import free_port
from jangar.server.migrations_runner import upgrade_to_head
from jangar.server.repository.database import Database
from jangar.v1 import agent_pb2, agent_pb2_grpc, agent_run_pb2, agent_run_pb2_grpc
from tests import builders
from tests.support import ServerProcess, reason_of, unique


@pytest.fixture(scope="module")
def own_postgres(work_dir: Path) -> Iterator[LocalPostgres]:
    """A Postgres these tests may stop and start without disturbing the shared one."""
    postgres = LocalPostgres(work_dir / "own-postgres" / "data", free_port())
    try:
        postgres.start()
        upgrade_to_head(postgres.url)
        yield postgres
    finally:
        postgres.remove_relocated_data()


def _server(postgres: LocalPostgres, work_dir: Path, url: str | None = None) -> ServerProcess:
    return ServerProcess(url or postgres.url, free_port(), work_dir / f"server-{uuid.uuid4().hex[:6]}.log")


async def test_server_refuses_a_database_that_is_behind(own_postgres, work_dir):
    admin = await asyncpg.connect(own_postgres.url.replace("+asyncpg", "").replace("/jangar", "/postgres"))
    await admin.execute("CREATE DATABASE behind")
    await admin.close()
    url = own_postgres.url.replace("/jangar", "/behind")
    result = await asyncio.to_thread(
        subprocess.run,
        [sys.executable, "-m", "jangar.server"],
        env={
            "JANGAR_DATABASE_URL": url,
            "JANGAR_GRPC_ADDRESS": f"127.0.0.1:{free_port()}",
            "PATH": "/usr/bin:/bin",
        },
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 3
    assert "database schema is at revision none" in result.stderr
    assert "make migrate" in result.stderr


async def test_restart_keeps_data_and_idempotency_records(own_postgres, work_dir):
    server = _server(own_postgres, work_dir)
    server.start()
    metadata = [("idempotency-key", unique("restart"))]
    async with grpc.aio.insecure_channel(server.address) as channel:
        agents = agent_pb2_grpc.AgentServiceStub(channel)
        await builders.ensure_provider(channel, "default", "codex")
        created = await agents.CreateAgent(
            agent_pb2.CreateAgentRequest(agent=builders.agent()), metadata=metadata
        )
    assert server.stop() == 0

    server.start()
    try:
        async with grpc.aio.insecure_channel(server.address) as channel:
            agents = agent_pb2_grpc.AgentServiceStub(channel)
            read = await agents.GetAgent(agent_pb2.GetAgentRequest(id=created.id))
            assert read == created
            call = agents.CreateAgent(agent_pb2.CreateAgentRequest(agent=created), metadata=metadata)
            assert (await call) == created
            assert ("idempotent-replayed", "true") in tuple(await call.initial_metadata())
    finally:
        server.stop()


async def test_sigterm_lets_in_flight_calls_finish(own_postgres, work_dir):
    server = _server(own_postgres, work_dir)
    server.start()
    try:
        async with grpc.aio.insecure_channel(server.address) as channel:
            agent_runs = agent_run_pb2_grpc.AgentRunServiceStub(channel)
            agent = await builders.create_agent(channel)
            run = await builders.create_agent_run(agent_runs, builders.agent_run(agent.name))

            blocker = await asyncpg.connect(own_postgres.url.replace("+asyncpg", ""))
            transaction = blocker.transaction()
            await transaction.start()
            # Hold the run's row so the cancel below is still in flight when SIGTERM arrives.
            await blocker.execute("SELECT 1 FROM agent_runs WHERE id = $1 FOR UPDATE", uuid.UUID(run.id))
            cancel = asyncio.ensure_future(
                agent_runs.CancelAgentRun(
                    agent_run_pb2.CancelAgentRunRequest(id=run.id), metadata=builders.key()
                )
            )
            await asyncio.sleep(0.5)
            assert server.process is not None
            server.process.send_signal(signal.SIGTERM)
            await asyncio.sleep(0.5)
            assert not cancel.done()
            await transaction.rollback()
            await blocker.close()
            reply = await cancel
            assert reply.status.phase == 5  # Cancelled
        assert server.process.wait(20) == 0
    finally:
        server.stop()


async def test_database_outage_is_retryable_and_stores_nothing(own_postgres, work_dir):
    server = _server(own_postgres, work_dir)
    server.start()
    metadata = [("idempotency-key", unique("outage"))]
    request = agent_pb2.CreateAgentRequest(agent=builders.agent())
    try:
        async with grpc.aio.insecure_channel(server.address) as channel:
            agents = agent_pb2_grpc.AgentServiceStub(channel)
            await builders.ensure_provider(channel, "default", "codex")
            own_postgres.stop()
            try:
                with pytest.raises(grpc.aio.AioRpcError) as error:
                    await agents.CreateAgent(request, metadata=metadata)
                assert error.value.code() == grpc.StatusCode.UNAVAILABLE
                assert reason_of(error.value) == "DATABASE_UNAVAILABLE"
                assert "Traceback" not in error.value.details() and "asyncpg" not in error.value.details()
            finally:
                own_postgres.start()
            call = agents.CreateAgent(request, metadata=metadata)
            created = await call
            assert created.name == request.agent.name
            assert ("idempotent-replayed", "true") not in tuple(await call.initial_metadata())
    finally:
        server.stop()


async def test_prometheus_metrics_count_calls_by_method_and_code(own_postgres, work_dir):
    metrics_port = free_port()
    server = ServerProcess(
        own_postgres.url,
        free_port(),
        work_dir / f"server-{uuid.uuid4().hex[:6]}.log",
        JANGAR_METRICS_ADDRESS=f"127.0.0.1:{metrics_port}",
    )
    server.start()
    try:
        async with grpc.aio.insecure_channel(server.address) as channel:
            agents = agent_pb2_grpc.AgentServiceStub(channel)
            with pytest.raises(grpc.aio.AioRpcError):
                await agents.GetAgent(agent_pb2.GetAgentRequest(id=unique("missing")))
        async with httpx.AsyncClient() as client:
            text = (await client.get(f"http://127.0.0.1:{metrics_port}/metrics")).text
        assert (
            'jangar_grpc_requests_total{code="NOT_FOUND",method="jangar.v1.AgentService/GetAgent"} 1.0'
            in text
        )
        assert 'jangar_grpc_request_seconds_count{method="jangar.v1.AgentService/GetAgent"} 1.0' in text
    finally:
        server.stop()


def _envoy_for(server: ServerProcess, work_dir: Path) -> tuple[LocalEnvoy, str]:
    listen_port = free_port()
    proxy = LocalEnvoy(
        listen_port=listen_port,
        admin_port=free_port(),
        upstream_port=server.port,
        config_path=work_dir / f"envoy-{listen_port}.yaml",
        log_path=work_dir / f"envoy-{listen_port}.log",
    )
    return proxy, f"http://127.0.0.1:{listen_port}/healthz"


async def _seconds_until(condition: Callable[[], Awaitable[bool]], deadline_s: float = 30.0) -> float:
    """Polls `condition` until it holds and returns how long that took. The deadline only bounds a hung
    test: the time is measured and reported, never asserted (the machine is shared and noisy)."""
    loop = asyncio.get_running_loop()
    started = loop.time()
    while loop.time() - started < deadline_s:
        if await condition():
            return loop.time() - started
        await asyncio.sleep(0.05)
    raise AssertionError(f"not within {deadline_s}s")


def _grpc_health_is(channel: grpc.aio.Channel, status: int) -> Callable[[], Awaitable[bool]]:
    stub = health_pb2_grpc.HealthStub(channel)

    async def check() -> bool:
        try:
            reply = await stub.Check(health_pb2.HealthCheckRequest(), timeout=1)
        except grpc.aio.AioRpcError:
            return False
        return reply.status == status

    return check


def _http_status_is(client: httpx.AsyncClient, url: str, status: int) -> Callable[[], Awaitable[bool]]:
    async def check() -> bool:
        try:
            return (await client.get(url)).status_code == status
        except httpx.HTTPError:
            return False

    return check


def _log_records(server: ServerProcess) -> list[dict[str, object]]:
    records = []
    for line in server.log_path.read_text(errors="replace").splitlines():
        with contextlib.suppress(ValueError):
            records.append(json.loads(line))
    return records


def _messages(server: ServerProcess, level: str, contains: str) -> list[str]:
    return [
        str(r["msg"]) for r in _log_records(server) if r.get("level") == level and contains in str(r["msg"])
    ]


def _messages_appear(server: ServerProcess, level: str, contains: str) -> Callable[[], Awaitable[bool]]:
    async def check() -> bool:
        return bool(_messages(server, level, contains))

    return check


async def test_envoy_healthz_follows_the_server(own_postgres, work_dir):
    server = _server(own_postgres, work_dir)
    server.start()
    proxy, healthz = _envoy_for(server, work_dir)
    proxy.start()
    try:
        async with httpx.AsyncClient(timeout=2) as client:
            await _seconds_until(_http_status_is(client, healthz, 200))
            server.stop()
            await _seconds_until(_http_status_is(client, healthz, 503))
            server.start()
            await _seconds_until(_http_status_is(client, healthz, 200))
    finally:
        proxy.stop()
        server.stop()


# Around the database: health, start-up, a restart, the log of an outage.


async def test_health_follows_the_database_both_ways(own_postgres, work_dir, record_property):
    server = _server(own_postgres, work_dir)
    server.start()
    proxy, healthz = _envoy_for(server, work_dir)
    proxy.start()
    serving, not_serving = health_pb2.HealthCheckResponse.SERVING, health_pb2.HealthCheckResponse.NOT_SERVING
    try:
        async with grpc.aio.insecure_channel(server.address) as channel, httpx.AsyncClient(timeout=2) as http:
            await _seconds_until(_http_status_is(http, healthz, 200))
            # From the stop signal: Postgres refuses connections from then on.
            down = asyncio.gather(
                _seconds_until(_grpc_health_is(channel, not_serving)),
                _seconds_until(_http_status_is(http, healthz, 503)),
            )
            await asyncio.to_thread(own_postgres.stop)
            grpc_down, envoy_down = await down
            # From the moment start() returns, when Postgres accepts connections and has the database.
            own_postgres.start()
            grpc_up, envoy_up = await asyncio.gather(
                _seconds_until(_grpc_health_is(channel, serving)),
                _seconds_until(_http_status_is(http, healthz, 200)),
            )
    finally:
        proxy.stop()
        server.stop()
        own_postgres.start()
    measured = {
        "grpc_not_serving_s": round(grpc_down, 2),
        "healthz_503_s": round(envoy_down, 2),
        "grpc_serving_again_s": round(grpc_up, 2),
        "healthz_200_again_s": round(envoy_up, 2),
    }
    for name, value in measured.items():
        record_property(name, value)
    print(f"health latency after Postgres stopped / started: {measured}")


@contextlib.contextmanager
def _frozen(postgres: LocalPostgres) -> Iterator[None]:
    """Postgres stopped in its tracks (SIGSTOP), as a hung host or a lost network looks to a client: TCP
    stays up, nothing answers. Backends have sessions of their own, so each is stopped by pid."""
    assert postgres.pid is not None
    children = subprocess.run(["pgrep", "-P", str(postgres.pid)], capture_output=True, text=True, check=False)
    pids = [postgres.pid, *map(int, children.stdout.split())]
    for pid in pids:
        os.kill(pid, signal.SIGSTOP)
    try:
        yield
    finally:
        for pid in pids:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGCONT)


async def test_health_goes_not_serving_when_the_database_hangs(own_postgres, work_dir, record_property):
    server = _server(own_postgres, work_dir)
    server.start()
    serving, not_serving = health_pb2.HealthCheckResponse.SERVING, health_pb2.HealthCheckResponse.NOT_SERVING
    try:
        async with grpc.aio.insecure_channel(server.address) as channel:
            with _frozen(own_postgres):
                hung = await _seconds_until(_grpc_health_is(channel, not_serving))
            answering = await _seconds_until(_grpc_health_is(channel, serving))
    finally:
        server.stop()
    record_property("grpc_not_serving_when_hung_s", round(hung, 2))
    record_property("grpc_serving_when_resumed_s", round(answering, 2))
    print(f"health latency when Postgres hangs / resumes: {hung:.2f} s / {answering:.2f} s")
    assert "Traceback" not in server.log_path.read_text()


async def test_server_started_before_postgres_waits_then_serves(own_postgres, work_dir):
    server = _server(own_postgres, work_dir)
    own_postgres.stop()
    try:
        server.start(wait=False)
        waiting = _messages_appear(server, "WARNING", "database unreachable; waiting")
        await _seconds_until(waiting)
        await asyncio.sleep(3)  # long enough for several attempts (they are at most 2 s apart)
        assert server.process is not None and server.process.poll() is None, server.log_tail()
        own_postgres.start()
        await asyncio.to_thread(server.wait_serving, 30)
        async with grpc.aio.insecure_channel(server.address) as channel:
            created = await builders.create_agent(channel)
        assert created.name
    finally:
        own_postgres.start()
        server.stop()
    log = server.log_path.read_text()
    assert "Traceback" not in log
    assert len(_messages(server, "WARNING", "database unreachable; waiting")) == 1, log
    # Refused, every time: the same error, so no second line.
    assert _messages(server, "WARNING", "still waiting") == [], log
    assert len(_messages(server, "INFO", "database reached after")) == 1, log


async def test_server_gives_up_after_the_database_wait_bound(work_dir):
    nothing_listens = free_port()
    result = await asyncio.to_thread(
        subprocess.run,
        [sys.executable, "-m", "jangar.server"],
        env={
            "JANGAR_DATABASE_URL": f"postgresql://postgres@127.0.0.1:{nothing_listens}/jangar",
            "JANGAR_GRPC_ADDRESS": f"127.0.0.1:{free_port()}",
            "JANGAR_DATABASE_WAIT_SECONDS": "2",
            "PATH": "/usr/bin:/bin",
        },
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 4, result.stderr
    assert "Traceback" not in result.stderr
    lines = result.stderr.splitlines()
    # The wait's one line, then the one that gives up and says why.
    assert len(lines) == 2, result.stderr
    assert "database unreachable; waiting up to 2 s" in lines[0]
    assert "giving up" in lines[1] and "Connect call failed" in lines[1]


async def test_sigterm_while_waiting_for_the_database_stops_quietly(work_dir):
    nothing_listens = free_port()
    server = ServerProcess(
        f"postgresql://postgres@127.0.0.1:{nothing_listens}/jangar",
        free_port(),
        work_dir / f"server-{uuid.uuid4().hex[:6]}.log",
    )
    server.start(wait=False)
    try:
        await _seconds_until(_messages_appear(server, "WARNING", "database unreachable; waiting"))
    finally:
        code = server.stop()
    assert code == 0, server.log_tail()
    assert "Traceback" not in server.log_path.read_text()


async def test_pooled_connections_are_replaced_after_a_postgres_restart(own_postgres):
    """Without pre-ping (a round trip per checkout), a pool whose connections the restarted server closed
    still hands out fresh ones: the first transaction after the restart succeeds."""
    database = Database(own_postgres.url, pool_size=4)
    try:

        async def hold_one() -> None:
            async with database.transaction() as db:
                await db.execute(sa_text("SELECT pg_sleep(0.1)"))

        await asyncio.gather(*(hold_one() for _ in range(4)))  # four connections in the pool
        await asyncio.to_thread(own_postgres.stop)
        own_postgres.start()
        await asyncio.sleep(0.1)  # the event loop of a running server reads the closed sockets meanwhile
        await asyncio.gather(*(hold_one() for _ in range(4)))
    finally:
        own_postgres.start()
        await database.dispose()


async def test_first_call_after_a_postgres_restart_succeeds(own_postgres, work_dir):
    server = _server(own_postgres, work_dir)
    server.start()
    try:
        async with grpc.aio.insecure_channel(server.address) as channel:
            agents = agent_pb2_grpc.AgentServiceStub(channel)
            # Several connections in the pool, as under load.
            created = await asyncio.gather(*(builders.create_agent(channel) for _ in range(5)))
            await asyncio.to_thread(own_postgres.stop)
            own_postgres.start()
            for agent in created:
                read = await agents.GetAgent(agent_pb2.GetAgentRequest(id=agent.id))
                assert read == agent
    finally:
        own_postgres.start()
        server.stop()


async def test_an_outage_is_logged_once_when_it_starts_and_once_when_it_ends(own_postgres, work_dir):
    server = _server(own_postgres, work_dir)
    server.start()
    failing_calls = 200
    try:
        async with grpc.aio.insecure_channel(server.address) as channel:
            agents = agent_pb2_grpc.AgentServiceStub(channel)
            await builders.create_agent(channel)
            await asyncio.to_thread(own_postgres.stop)
            try:
                for batch in range(failing_calls // 20):
                    outcomes = await asyncio.gather(
                        *(
                            agents.GetAgent(agent_pb2.GetAgentRequest(id=unique(f"gone{batch}")))
                            for _ in range(20)
                        ),
                        return_exceptions=True,
                    )
                    assert all(
                        isinstance(o, grpc.aio.AioRpcError) and o.code() == grpc.StatusCode.UNAVAILABLE
                        for o in outcomes
                    ), outcomes
            finally:
                own_postgres.start()
            recovered = _messages_appear(server, "INFO", "database available again")
            await _seconds_until(recovered)
            await builders.create_agent(channel)
    finally:
        own_postgres.start()
        server.stop()
    log = server.log_path.read_text()
    warnings = [r for r in _log_records(server) if r.get("level") == "WARNING"]
    assert [str(w["msg"]).split(":")[0] for w in warnings] == ["database unavailable"], log
    assert "Traceback" not in log
    (recovery,) = _messages(server, "INFO", "database available again")
    assert f"{failing_calls} calls failed" in recovery
