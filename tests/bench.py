"""`make bench`: throughput and latency of CreateAgentRun and GetRun over gRPC and REST, next to a ceiling.

The ceiling is measured in the same run, on the same machine, by the same load generator: a bare grpc.aio
unary handler doing one asyncpg INSERT (and one SELECT by id) into a table shaped like agent_runs. The gap
between a Jangar row and its ceiling row is what the API's own layers cost (validation, SQLAlchemy,
idempotency records, audit events, JSON); a ceiling far below the stack notes' figures means the machine was
busy, not that Jangar got slower.

Everything runs on 127.0.0.1 in a temporary directory: a Postgres of its own, the migrated schema, the real
server process, Envoy, and the ceiling server (this module again, with a hidden flag). Every process it
starts is stopped on exit, including on error or Ctrl-C.

    .venv/bin/python -m tests.bench [--seconds 5] [--concurrency 32] [--no-reconciler]
        [--reconciler-seconds 5] [--reconciler-lag-runs 100]

The reconciler section (tests/bench_reconciler.py, under a minute) follows: stream ingest in snapshots/s
next to a bare upsert ceiling, and the lag from a change in a fake API server to the run row. Then the
memory section (tests/bench_memory.py, about a minute; `--no-memory` skips it).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import json
import os
import re
import secrets
import shutil
import signal
import sys
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import asyncpg
import grpc
import httpx

from jangar.server.devstack import processes
from jangar.server.devstack.envoy import LocalEnvoy
from jangar.server.devstack.postgres import LocalPostgres
from jangar.server.migrations_runner import upgrade_to_head
from jangar.v1 import (
    agent_provider_pb2,
    agent_provider_pb2_grpc,
    agent_run_pb2,
    agent_run_pb2_grpc,
    run_pb2,
    run_pb2_grpc,
)
from tests import bench_memory, bench_reconciler, bench_scale, builders
from tests.bench_measure import CpuProbe, bare_pool, cpu_per_request, percentile
from tests.support import PROJECT_ROOT, ServerProcess

DEFAULT_SECONDS = 5.0
WARMUP_SECONDS = 1.0
DEFAULT_CONCURRENCY = 32
# The server's default JANGAR_DB_POOL_SIZE, set explicitly so the ceiling gets the same number of connections.
POOL_SIZE = 20
CALL_TIMEOUT_S = 30.0
# The scaling rows: this many server processes on one port, driven over this many connections.
SCALING_WORKERS = 2
SCALING_CHANNELS = 8
AGENT_NAME = "bench-agent"
NAMESPACE = "default"

CEILING_TABLE = "bench_ceiling_runs"
CEILING_SERVICE = "jangar.bench.Ceiling"
CEILING_CREATE = f"/{CEILING_SERVICE}/CreateRun"
CEILING_GET = f"/{CEILING_SERVICE}/GetRun"
# The seed's agent_runs columns (migrations/versions/0001_initial.py), without Jangar's additions.
CEILING_DDL = f"""
CREATE TABLE IF NOT EXISTS {CEILING_TABLE} (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  agent_name text NOT NULL,
  delivery_id text NOT NULL UNIQUE,
  provider text NOT NULL,
  status text NOT NULL,
  external_run_id text,
  payload jsonb NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now()
)
"""
CEILING_INSERT = f"""
INSERT INTO {CEILING_TABLE} (agent_name, delivery_id, provider, status, payload)
VALUES ($1, $2, 'codex', 'Pending', $3)
ON CONFLICT (delivery_id) DO NOTHING
RETURNING id
"""
CEILING_SELECT = f"SELECT id, agent_name, status FROM {CEILING_TABLE} WHERE id = $1"

# The smallest valid AgentRun, the same over gRPC and REST, so both paths do the same work.
REST_RUN_BODY = json.dumps({"spec": {"agentRef": {"name": AGENT_NAME}}}).encode()

Call = Callable[[], Awaitable[None]]


# ---------------------------------------------------------------------------------------------------------
# Measurement


@dataclass(frozen=True)
class Measurement:
    requests: int  # successful requests that completed inside the measured window
    errors: int
    seconds: float
    p50_ms: float
    p99_ms: float
    # CPU time per successful request, in µs, by process group (server, postgres, envoy, client).
    cpu_us: dict[str, float]
    first_error: str = ""

    @property
    def rps(self) -> float:
        return self.requests / self.seconds if self.seconds > 0 else 0.0


@dataclass(frozen=True)
class Row:
    scenario: str
    transport: str
    driver: str
    result: Measurement
    ceiling: str  # the ceiling scenario this row is compared with; "" for a ceiling itself
    workers: int = 1  # Jangar server processes (JANGAR_WORKERS); 1 for a ceiling


async def drive(
    call: Call, probe: CpuProbe, *, warmup: float, seconds: float, concurrency: int
) -> Measurement:
    """`concurrency` workers call back to back; counts what completes inside [warm-up end, end]."""
    clock = time.perf_counter
    begin = clock() + warmup
    end = begin + seconds
    latencies: list[float] = []
    errors: list[str] = []

    async def worker() -> None:
        while (sent := clock()) < end:
            failure = ""
            try:
                await call()
            except Exception as error:
                failure = f"{type(error).__name__}: {error}"
            done = clock()
            if begin <= done <= end:
                if failure:
                    errors.append(failure)
                else:
                    latencies.append(done - sent)

    async def cpu_window() -> tuple[dict[str, float], dict[str, float]]:
        await asyncio.sleep(begin - clock())
        before = probe.snapshot()
        await asyncio.sleep(end - clock())
        return before, probe.snapshot()

    window = asyncio.create_task(cpu_window())
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    before, after = await window
    latencies.sort()
    return Measurement(
        requests=len(latencies),
        errors=len(errors),
        seconds=seconds,
        p50_ms=percentile(latencies, 0.50) * 1e3,
        p99_ms=percentile(latencies, 0.99) * 1e3,
        cpu_us=cpu_per_request(before, after, len(latencies)),
        first_error=errors[0][:300] if errors else "",
    )


# ---------------------------------------------------------------------------------------------------------
# wrk (REST driver when installed): cheaper per request than any Python client, so more CPU is left for the
# server on a 2-core machine.

WRK_SCRIPT = """\
-- Written by tests/bench.py for one wrk run.
local path, body, prefix = {path}, {body}, {prefix}
local ids = {{{ids}}}
local n = 0
local threads = 0

function setup(thread)
  thread:set("thread_no", threads)
  threads = threads + 1
end

function request()
  n = n + 1
  if #ids > 0 then
    return wrk.format("GET", path .. ids[(n % #ids) + 1])
  end
  local key = prefix .. thread_no .. "-" .. n
  return wrk.format("POST", path, {{["Content-Type"] = "application/json", ["Idempotency-Key"] = key}}, body)
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format("BENCH %d %d %d %d %d\\n", summary.requests, summary.duration,
    e.connect + e.read + e.write + e.status + e.timeout, latency:percentile(50), latency:percentile(99)))
end
"""


def lua_string(value: str) -> str:
    # A JSON string literal is a valid Lua literal as long as it has no \\u escape.
    literal = json.dumps(value, ensure_ascii=True)
    assert "\\u" not in literal, value
    return literal


def wrk_script(path: str, *, body: str = "", ids: Sequence[str] = ()) -> str:
    return WRK_SCRIPT.format(
        path=lua_string(path),
        body=lua_string(body),
        # A fresh prefix per run: keys from the warm-up run must not replay in the measured one.
        prefix=lua_string(f"bench-wrk-{secrets.token_hex(4)}-"),
        ids=", ".join(lua_string(i) for i in ids),
    )


async def run_wrk(
    base_url: str, script: str, script_path: Path, *, seconds: float, concurrency: int
) -> tuple[int, int, float, float, float]:
    """(requests, errors, seconds, p50 ms, p99 ms) of one wrk run with one thread (Envoy has one too)."""
    await asyncio.to_thread(script_path.write_text, script)
    wrk = shutil.which("wrk")
    assert wrk is not None
    process = await asyncio.create_subprocess_exec(
        wrk, "-t1", f"-c{concurrency}", f"-d{max(1, round(seconds))}s", "--timeout", f"{CALL_TIMEOUT_S:.0f}s",
        "-s", str(script_path), base_url,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
    )  # fmt: skip
    output = (await process.communicate())[0].decode(errors="replace")
    match = re.search(r"^BENCH (\d+) (\d+) (\d+) (\d+) (\d+)$", output, re.MULTILINE)
    if process.returncode != 0 or match is None:
        raise RuntimeError(f"wrk failed ({process.returncode}):\n{output}")
    requests, duration_us, errors, p50_us, p99_us = (int(g) for g in match.groups())
    return requests - errors, errors, duration_us / 1e6, p50_us / 1e3, p99_us / 1e3


async def drive_wrk(
    base_url: str,
    script: Callable[[], str],
    work_dir: Path,
    probe: CpuProbe,
    *,
    seconds: float,
    concurrency: int,
) -> Measurement:
    # wrk has no warm-up phase: a separate short run opens the connections and warms the server first.
    await run_wrk(
        base_url, script(), work_dir / "warmup.lua", seconds=WARMUP_SECONDS, concurrency=concurrency
    )
    before = probe.snapshot()
    ok, errors, elapsed, p50, p99 = await run_wrk(
        base_url, script(), work_dir / "bench.lua", seconds=seconds, concurrency=concurrency
    )
    after = probe.snapshot()
    return Measurement(
        requests=ok,
        errors=errors,
        seconds=elapsed,
        p50_ms=p50,
        p99_ms=p99,
        cpu_us=cpu_per_request(before, after, ok),
        first_error=f"{errors} non-2xx or socket errors (see envoy.log)" if errors else "",
    )


# ---------------------------------------------------------------------------------------------------------
# The ceiling server: `python -m tests.bench --ceiling-server PORT --dsn DSN`, started by the bench itself.


def ceiling_handler(pool: asyncpg.Pool) -> grpc.GenericRpcHandler:
    async def create(
        request: agent_run_pb2.CreateAgentRunRequest, context: grpc.aio.ServicerContext
    ) -> agent_run_pb2.AgentRun:
        metadata = dict(context.invocation_metadata() or ())
        agent_name = request.agent_run.spec.agent_ref.name
        payload = json.dumps({"agentRef": {"name": agent_name}})
        row_id = await pool.fetchval(CEILING_INSERT, agent_name, metadata.get("idempotency-key"), payload)
        return agent_run_pb2.AgentRun(id=str(row_id or ""))

    async def get(request: run_pb2.GetRunRequest, context: grpc.aio.ServicerContext) -> run_pb2.Run:
        row = await pool.fetchrow(CEILING_SELECT, uuid.UUID(request.id))
        if row is None:
            await context.abort(grpc.StatusCode.NOT_FOUND, request.id)
        return run_pb2.Run(kind="AgentRun", id=str(row["id"]), name=row["agent_name"])

    return grpc.method_handlers_generic_handler(
        CEILING_SERVICE,
        {
            "CreateRun": grpc.unary_unary_rpc_method_handler(
                create,
                request_deserializer=agent_run_pb2.CreateAgentRunRequest.FromString,
                response_serializer=agent_run_pb2.AgentRun.SerializeToString,
            ),
            "GetRun": grpc.unary_unary_rpc_method_handler(
                get,
                request_deserializer=run_pb2.GetRunRequest.FromString,
                response_serializer=run_pb2.Run.SerializeToString,
            ),
        },
    )


async def serve_ceiling(port: int, dsn: str) -> None:
    async with bare_pool(dsn, POOL_SIZE) as pool:
        await pool.execute(CEILING_DDL)
        # The same server options as Jangar's (jangar.server.app), so only the handler differs.
        server = grpc.aio.server(options=[("grpc.so_reuseport", 0)])
        server.add_generic_rpc_handlers([ceiling_handler(pool)])
        server.add_insecure_port(f"127.0.0.1:{port}")
        await server.start()
        stopping = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stopping.set)
        await stopping.wait()
        await server.stop(1)


# ---------------------------------------------------------------------------------------------------------
# The stack


@dataclass(frozen=True)
class Stack:
    work_dir: Path
    postgres: LocalPostgres
    server: ServerProcess
    envoy: LocalEnvoy
    rest_url: str
    ceiling_address: str
    ceiling_pid: int


def start_stack(work_dir: Path, exits: contextlib.ExitStack) -> Stack:
    """Postgres, schema, Jangar server, Envoy and the ceiling server; each stop is registered as it starts.

    Runs on the main thread: Postgres and Envoy die with the thread that spawned them.
    """
    postgres = LocalPostgres(work_dir / "postgres" / "data", processes.free_port())
    exits.callback(postgres.remove_relocated_data)
    url = postgres.start()
    upgrade_to_head(url)

    server = ServerProcess(
        url,
        processes.free_port(),
        work_dir / "server.log",
        JANGAR_LOG_LEVEL="WARNING",
        JANGAR_DB_POOL_SIZE=str(POOL_SIZE),
        JANGAR_MAX_REQUEST_BYTES=bench_reconciler.MAX_REQUEST_BYTES,
    )
    exits.callback(lambda: server.process is not None and server.stop())
    server.start()

    listen_port = processes.free_port()
    envoy = LocalEnvoy(
        listen_port=listen_port,
        admin_port=processes.free_port(),
        upstream_port=server.port,
        config_path=work_dir / "envoy.yaml",
        log_path=work_dir / "envoy.log",
        access_log_path=work_dir / "envoy-access.log",
    )
    envoy.start()
    exits.callback(envoy.stop)
    rest_url = f"http://127.0.0.1:{listen_port}"
    wait_http_ok(rest_url + "/healthz")

    ceiling_port = processes.free_port()
    ceiling_log = work_dir / "ceiling.log"
    command = [sys.executable, "-m", "tests.bench", "--ceiling-server", str(ceiling_port)]
    ceiling = processes.spawn([*command, "--dsn", asyncpg_dsn(url)], log_path=ceiling_log, cwd=PROJECT_ROOT)
    exits.callback(lambda: processes.terminate(ceiling, sig=signal.SIGTERM, timeout=10))
    processes.wait_for_port(
        ceiling_port, proc=ceiling, timeout=20, what="ceiling server", log_path=ceiling_log
    )

    return Stack(work_dir, postgres, server, envoy, rest_url, f"127.0.0.1:{ceiling_port}", ceiling.pid)


def asyncpg_dsn(sqlalchemy_url: str) -> str:
    return sqlalchemy_url.replace("postgresql+asyncpg://", "postgresql://", 1)


def wait_http_ok(url: str, timeout: float = 20.0) -> None:
    """Envoy's /healthz follows its own gRPC health check of the server; wait for the first to pass."""

    def ok() -> bool:
        try:
            return httpx.get(url, timeout=1).status_code == 200
        except httpx.HTTPError:
            return False

    processes.wait_until(ok, proc=None, timeout=timeout, what=f"GET {url}")


def probe_for(stack: Stack, *, server_pid: int, rest: bool) -> CpuProbe:
    assert stack.postgres.pid is not None
    return CpuProbe(server_pid, stack.postgres.pid, stack.envoy.pid if rest else None)


# ---------------------------------------------------------------------------------------------------------
# Scenarios


@dataclass
class Bench:
    stack: Stack
    seconds: float
    concurrency: int
    rest_driver: str | None  # the path of wrk; None: no REST rows
    reconciler_seconds: float | None = None  # None: no reconciler section
    reconciler_lag_runs: int = bench_reconciler.DEFAULT_LAG_RUNS
    scale_runs: int = 0  # 0: no list-at-scale section
    run_ids: list[str] = field(default_factory=list)
    ceiling_ids: list[str] = field(default_factory=list)
    keys: Iterator[int] = field(default_factory=itertools.count)
    token: str = field(default_factory=lambda: secrets.token_hex(4))

    def key(self) -> str:
        return f"bench-{self.token}-{next(self.keys)}"

    async def drive(self, call: Call, probe: CpuProbe) -> Measurement:
        return await drive(
            call, probe, warmup=WARMUP_SECONDS, seconds=self.seconds, concurrency=self.concurrency
        )


def ceiling_calls(
    channel: grpc.aio.Channel,
) -> tuple[grpc.aio.UnaryUnaryMultiCallable, grpc.aio.UnaryUnaryMultiCallable]:
    """The ceiling server's two methods on a channel: (CreateRun, GetRun)."""
    create = channel.unary_unary(
        CEILING_CREATE,
        request_serializer=agent_run_pb2.CreateAgentRunRequest.SerializeToString,
        response_deserializer=agent_run_pb2.AgentRun.FromString,
    )
    get = channel.unary_unary(
        CEILING_GET,
        request_serializer=run_pb2.GetRunRequest.SerializeToString,
        response_deserializer=run_pb2.Run.FromString,
    )
    return create, get


async def ceiling_rows(bench: Bench) -> list[Row]:
    probe = probe_for(bench.stack, server_pid=bench.stack.ceiling_pid, rest=False)
    async with grpc.aio.insecure_channel(bench.stack.ceiling_address) as channel:
        create, get = ceiling_calls(channel)
        request = agent_run_pb2.CreateAgentRunRequest(agent_run=minimal_run())

        async def insert() -> None:
            reply = await create(request, metadata=[("idempotency-key", bench.key())], timeout=CALL_TIMEOUT_S)
            bench.ceiling_ids.append(reply.id)

        inserted = await bench.drive(insert, probe)
        ids = itertools.cycle(bench.ceiling_ids)

        async def select() -> None:
            await get(run_pb2.GetRunRequest(id=next(ids)), timeout=CALL_TIMEOUT_S)

        selected = await bench.drive(select, probe)
    return [
        Row("ceiling: bare INSERT", "gRPC", "grpc.aio", inserted, ""),
        Row("ceiling: bare SELECT by id", "gRPC", "grpc.aio", selected, ""),
    ]


def minimal_run() -> agent_run_pb2.AgentRun:
    return agent_run_pb2.AgentRun(spec=agent_run_pb2.AgentRunSpec(agent_ref={"name": AGENT_NAME}))


async def grpc_rows(
    bench: Bench, channels: Sequence[grpc.aio.Channel], pid: int, *, workers: int = 1
) -> list[Row]:
    """CreateAgentRun, then GetRun of the runs it created. Calls take the channels in turn: with several
    worker processes on one port, each connection is one worker's."""
    probe = probe_for(bench.stack, server_pid=pid, rest=False)
    runs = itertools.cycle([agent_run_pb2_grpc.AgentRunServiceStub(c) for c in channels])
    views = itertools.cycle([run_pb2_grpc.RunServiceStub(c) for c in channels])
    request = agent_run_pb2.CreateAgentRunRequest(agent_run=minimal_run())
    run_ids: list[str] = []

    async def create() -> None:
        reply = await next(runs).CreateAgentRun(
            request, metadata=[("idempotency-key", bench.key())], timeout=CALL_TIMEOUT_S
        )
        run_ids.append(reply.id)

    created = await bench.drive(create, probe)
    if not run_ids:
        raise RuntimeError(f"no run was created over gRPC: {created.first_error}")
    ids = itertools.cycle(run_ids)

    async def get() -> None:
        await next(views).GetRun(run_pb2.GetRunRequest(id=next(ids)), timeout=CALL_TIMEOUT_S)

    fetched = await bench.drive(get, probe)
    bench.run_ids += run_ids
    return [
        Row("CreateAgentRun", "gRPC", "grpc.aio", created, "ceiling: bare INSERT", workers),
        Row("GetRun", "gRPC", "grpc.aio", fetched, "ceiling: bare SELECT by id", workers),
    ]


async def scaling_rows(bench: Bench) -> list[Row]:
    """The same two scenarios against SCALING_WORKERS server processes on one port (the same database)."""
    server = ServerProcess(
        bench.stack.server.database_url,
        processes.free_port(),
        bench.stack.work_dir / "server-workers.log",
        JANGAR_LOG_LEVEL="WARNING",
        JANGAR_DB_POOL_SIZE=str(POOL_SIZE),
        JANGAR_WORKERS=str(SCALING_WORKERS),
    )
    await asyncio.to_thread(server.start)
    try:
        channels = [
            # Distinct channel arguments: grpc would otherwise share one connection between them.
            grpc.aio.insecure_channel(server.address, options=[("jangar.bench.channel", i)])
            for i in range(SCALING_CHANNELS)
        ]
        try:
            assert server.process is not None
            return await grpc_rows(bench, channels, server.process.pid, workers=SCALING_WORKERS)
        finally:
            for channel in channels:
                await channel.close()
    finally:
        await asyncio.to_thread(server.stop)


def server_pid(stack: Stack) -> int:
    assert stack.server.process is not None
    return stack.server.process.pid


async def rest_rows(bench: Bench) -> list[Row]:
    """REST through Envoy, driven by wrk: a Python client would spend more CPU per request than Envoy and
    measure itself."""
    if bench.rest_driver is None:
        return []
    probe = probe_for(bench.stack, server_pid=server_pid(bench.stack), rest=True)
    created, fetched = await rest_with_wrk(bench, probe)
    return [
        Row("CreateAgentRun", "REST", "wrk", created, "ceiling: bare INSERT"),
        Row("GetRun", "REST", "wrk", fetched, "ceiling: bare SELECT by id"),
    ]


async def rest_with_wrk(bench: Bench, probe: CpuProbe) -> tuple[Measurement, Measurement]:
    def run(script: Callable[[], str]) -> Awaitable[Measurement]:
        return drive_wrk(
            bench.stack.rest_url,
            script,
            bench.stack.work_dir,
            probe,
            seconds=bench.seconds,
            concurrency=bench.concurrency,
        )

    created = await run(lambda: wrk_script("/v1/agent-runs", body=REST_RUN_BODY.decode()))
    fetched = await run(lambda: wrk_script("/v1/runs/", ids=bench.run_ids))
    return created, fetched


async def create_agent(channel: grpc.aio.Channel) -> None:
    """The agent every run names, its provider with a container image: runs are job runs by default."""
    agent = builders.agent(name=AGENT_NAME, namespace=NAMESPACE)
    provider = builders.provider(agent.spec.provider_ref.name, NAMESPACE)
    provider.spec.workload.image = bench_reconciler.IMAGE
    await agent_provider_pb2_grpc.AgentProviderServiceStub(channel).CreateAgentProvider(
        agent_provider_pb2.CreateAgentProviderRequest(agent_provider=provider), metadata=builders.key()
    )
    await builders.create_agent(channel, agent)


@dataclass(frozen=True)
class Results:
    rows: list[Row]
    reconciler: bench_reconciler.Section | None
    scale: bench_scale.ScaleResult | None


async def run_all(bench: Bench) -> Results:
    rows, section = await api_and_reconciler(bench)
    scale = None
    if bench.scale_runs:
        # Last: a million rows would slow every scenario after it.
        probe = probe_for(bench.stack, server_pid=server_pid(bench.stack), rest=False)

        async def list_driver(call: Call, concurrency: int) -> Measurement:
            return await drive(
                call, probe, warmup=WARMUP_SECONDS, seconds=bench.seconds, concurrency=concurrency
            )

        scale = await bench_scale.run_section(
            server_address=bench.stack.server.address,
            database_url=bench.stack.server.database_url,
            dsn=asyncpg_dsn(bench.stack.server.database_url),
            agent_name=AGENT_NAME,
            namespace=NAMESPACE,
            runs=bench.scale_runs,
            drive=list_driver,
        )
    return Results(rows, section, scale)


async def api_and_reconciler(bench: Bench) -> tuple[list[Row], bench_reconciler.Section | None]:
    rows = await ceiling_rows(bench)
    async with grpc.aio.insecure_channel(bench.stack.server.address) as channel:
        await create_agent(channel)
        rows += await grpc_rows(bench, [channel], server_pid(bench.stack))
    rows += await rest_rows(bench)
    rows += await scaling_rows(bench)
    if bench.reconciler_seconds is None:
        return rows, None
    probe = probe_for(bench.stack, server_pid=server_pid(bench.stack), rest=False)
    section = await bench_reconciler.run_section(
        server_address=bench.stack.server.address,
        database_url=bench.stack.server.database_url,
        work_dir=bench.stack.work_dir,
        server_probe=probe,
        ceiling_probe=probe,
        seconds=bench.reconciler_seconds,
        lag_runs=bench.reconciler_lag_runs,
    )
    return rows, section


# ---------------------------------------------------------------------------------------------------------
# Report

COLUMNS = (
    ("scenario", 26, "<"),
    ("via", 4, "<"),
    ("driver", 8, "<"),
    ("req/s", 7, ">"),
    ("p50 ms", 7, ">"),
    ("p99 ms", 7, ">"),
    ("errors", 6, ">"),
    ("of ceiling", 10, ">"),
    ("server", 6, ">"),
    ("pg", 5, ">"),
    ("envoy", 5, ">"),
    ("client", 6, ">"),
)


def format_line(cells: Sequence[str]) -> str:
    return "  ".join(f"{cell:{align}{width}}" for cell, (_, width, align) in zip(cells, COLUMNS, strict=True))


def format_row(row: Row, ceilings: dict[str, Measurement]) -> str:
    result = row.result
    ceiling = ceilings.get(row.ceiling)
    share = f"{result.rps / ceiling.rps:.0%}" if ceiling is not None and ceiling.rps > 0 else "-"

    def cpu(name: str) -> str:
        return f"{result.cpu_us[name]:.0f}" if name in result.cpu_us else "-"

    return format_line(
        [
            row.scenario if row.workers == 1 else f"{row.scenario}, {row.workers} workers",
            row.transport,
            row.driver,
            f"{result.rps:,.0f}",
            f"{result.p50_ms:.1f}",
            f"{result.p99_ms:.1f}",
            str(result.errors),
            share,
            *(cpu(name) for name in ("server", "postgres", "envoy", "client")),
        ]
    )


# Names of the ceiling rows in BENCH_JSON.
JSON_NAMES = {"ceiling: bare INSERT": "ceiling-insert", "ceiling: bare SELECT by id": "ceiling-select"}


def bench_json(rows: Sequence[Row], extra: Sequence[dict[str, object]] = ()) -> str:
    """The one machine-readable line: an entry per row, shares against the ceiling measured in the same
    run; a REST row adds its req/s over the single-process gRPC row of the same call."""
    ceilings = {row.scenario: row.result for row in rows if not row.ceiling}
    grpc = {row.scenario: row.result for row in rows if row.transport == "gRPC" and row.workers == 1}
    scenarios: list[dict[str, object]] = []
    for row in rows:
        result = row.result
        entry: dict[str, object] = {
            "name": JSON_NAMES.get(row.scenario, row.scenario),
            "via": row.transport.lower(),
            "rps": round(result.rps, 1),
            "p50_ms": round(result.p50_ms, 1),
            "p99_ms": round(result.p99_ms, 1),
        }
        if row.ceiling:
            entry["ceiling_share"] = round(result.rps / ceilings[row.ceiling].rps, 3)
            entry["workers"] = row.workers
        if row.transport == "REST" and row.scenario in grpc:
            entry["grpc_share"] = round(result.rps / grpc[row.scenario].rps, 3)
        scenarios.append(entry)
    return "BENCH_JSON " + json.dumps({"scenarios": [*scenarios, *extra]})


def report(rows: Sequence[Row], *, seconds: float, concurrency: int, rest_driver: str | None) -> str:
    ceilings = {row.scenario: row.result for row in rows if not row.ceiling}
    header = format_line([name for name, _, _ in COLUMNS])
    lines = [
        f"Jangar bench: {seconds:g} s per scenario after a {WARMUP_SECONDS:g} s warm-up, {concurrency} in "
        f"flight, DB pool {POOL_SIZE}, all on 127.0.0.1",
        f"REST load generator: {rest_driver}"
        if rest_driver
        else "REST rows skipped: wrk is not installed (make bench installs it as root: apt-get install wrk)",
        "",
        f"{'':{sum(w for _, w, _ in COLUMNS[:8]) + 2 * 8}}CPU µs per request",
        header,
        "-" * len(header),
        *(format_row(row, ceilings) for row in rows),
        "",
        "'of ceiling': req/s as a share of the ceiling for the same operation "
        "(INSERT for CreateAgentRun, SELECT for GetRun).",
        f"'{SCALING_WORKERS} workers': JANGAR_WORKERS={SCALING_WORKERS} on one port, driven over "
        f"{SCALING_CHANNELS} connections by the same single load generator.",
        "CPU per request: server = the gRPC server in play (ceiling or Jangar), "
        "pg = postmaster and backends, client = this process (and wrk).",
        f"Note: co-located on a shared {os.cpu_count()}-core machine (load generator, Envoy, Postgres and "
        "server compete for the same cores); figures vary ±10-15 % between runs and are not assertions.",
    ]
    failures = [
        f"  {row.scenario} {row.transport}: {row.result.first_error}" for row in rows if row.result.errors
    ]
    if failures:
        lines += ["", "First error per scenario with errors:", *failures]
    return "\n".join(lines)


# ---------------------------------------------------------------------------------------------------------
# Entry point


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m tests.bench", description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--seconds", type=float, default=DEFAULT_SECONDS, help="measured seconds per scenario"
    )
    parser.add_argument("--concurrency", type=int, default=DEFAULT_CONCURRENCY, help="requests in flight")
    parser.add_argument(
        "--no-reconciler", dest="reconciler", action="store_false", help="skip the reconciler section"
    )
    parser.add_argument("--no-memory", dest="memory", action="store_false", help="skip the memory section")
    parser.add_argument(
        "--reconciler-seconds",
        type=float,
        default=bench_reconciler.DEFAULT_SECONDS,
        help="measured seconds per reconciler stream scenario",
    )
    parser.add_argument(
        "--reconciler-lag-runs",
        type=int,
        default=bench_reconciler.DEFAULT_LAG_RUNS,
        help="job runs whose end-to-end lag is measured",
    )
    parser.add_argument(
        "--scale",
        action="store_true",
        help=f"also ListAgentRuns at {bench_scale.DEFAULT_RUNS:,} runs (loaded with COPY; a few minutes)",
    )
    parser.add_argument("--scale-runs", type=int, default=bench_scale.DEFAULT_RUNS, help=argparse.SUPPRESS)
    # The ceiling server is this module in a child process, so it does not share the load generator's GIL.
    parser.add_argument("--ceiling-server", type=int, metavar="PORT", help=argparse.SUPPRESS)
    parser.add_argument("--dsn", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.seconds <= 0 or args.concurrency < 1:
        parser.error("--seconds must be positive and --concurrency at least 1")
    if args.reconciler_seconds <= 0 or args.reconciler_lag_runs < 1:
        parser.error("--reconciler-seconds must be positive and --reconciler-lag-runs at least 1")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    if args.ceiling_server is not None:
        asyncio.run(serve_ceiling(args.ceiling_server, args.dsn))
        return 0
    rest_driver = shutil.which("wrk")
    # Not under a 0700 directory: as root, Postgres runs as `nobody` and must traverse the parents.
    work_dir = Path(tempfile.mkdtemp(prefix="jangar-bench-"))
    work_dir.chmod(0o755)
    keep = bool(os.environ.get("JANGAR_KEEP_TEST_DIR"))
    try:
        with contextlib.ExitStack() as exits:
            print("starting Postgres, the server, Envoy and the ceiling server ...", file=sys.stderr)
            stack = start_stack(work_dir, exits)
            bench = Bench(
                stack,
                args.seconds,
                args.concurrency,
                rest_driver,
                args.reconciler_seconds if args.reconciler else None,
                args.reconciler_lag_runs,
                args.scale_runs if args.scale else 0,
            )
            results = asyncio.run(run_all(bench))
            memory = (
                asyncio.run(bench_memory.run_section(**bench_memory.target(stack))) if args.memory else None
            )
    except KeyboardInterrupt:
        print("interrupted; everything started was stopped", file=sys.stderr)
        return 130
    except BaseException:
        # The logs of the server, Envoy, Postgres and the ceiling server explain most failures.
        keep = True
        print(f"bench failed; everything started was stopped; logs in {work_dir}", file=sys.stderr)
        raise
    finally:
        if not keep:
            shutil.rmtree(work_dir, ignore_errors=True)
    print(report(results.rows, seconds=args.seconds, concurrency=args.concurrency, rest_driver=rest_driver))
    if results.reconciler is not None:
        print()
        print(bench_reconciler.report(results.reconciler))
    if memory is not None:
        print()
        print(bench_memory.report(memory))
    extra = []
    if results.scale is not None:
        print()
        print(bench_scale.report(results.scale))
        extra.append(bench_scale.json_entry(results.scale))
    print()
    print(bench_json(results.rows, extra))
    return 0


if __name__ == "__main__":
    sys.exit(main())
