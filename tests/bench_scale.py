"""`make bench BENCH_ARGS=--scale`: a paginated, filtered ListAgentRuns at 1,000,000 runs.

The runs are loaded with COPY (binary, asyncpg's copy_records_to_table) into the bench's own database, then
ANALYZEd. The list asks for one agent's Running runs with a label selector, page 2 through the cursor of
page 1, over gRPC, one at a time; it reports p50/p99 and the plan Postgres used for that page's statement
(EXPLAIN ANALYZE of the exact SQL and parameters the server's repository sends, captured in process)."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import grpc
from sqlalchemy import event

from jangar.server.core.pages import PageTokens
from jangar.server.domain.catalog import build_use_cases
from jangar.server.repository import server_keys
from jangar.server.repository.database import Database
from jangar.v1 import agent_run_pb2, agent_run_pb2_grpc
from jangar.v1.run_phase_pb2 import RunPhase

DEFAULT_RUNS = 1_000_000
AGENTS = 20
TEAMS = 10
PAGE_SIZE = 50
# One client paging: the figure is the latency of a list, not the server's list throughput.
CONCURRENCY = 1
COPY_BATCH = 100_000
# Phases in the proportions of a busy system: most runs finished.
PHASES = ("Succeeded",) * 12 + ("Failed",) * 3 + ("Running",) * 3 + ("Pending",) * 2
COLUMNS = (
    "id", "agent_name", "agent_id", "delivery_id", "provider", "status", "payload", "status_detail",
    "created_at", "updated_at", "namespace", "labels", "name", "reason", "message", "runtime",
)  # fmt: skip
SELECTOR = "team=team-3"


@dataclass(frozen=True)
class ScaleResult:
    runs: int
    load_seconds: float
    requests: int
    seconds: float
    p50_ms: float
    p99_ms: float
    matching: int  # runs the filter matches
    statement: str
    plan: str

    @property
    def rps(self) -> float:
        return self.requests / self.seconds if self.seconds > 0 else 0.0


def _records(count: int, agent_name: str, agent_id: uuid.UUID, namespace: str) -> Iterator[tuple[Any, ...]]:
    """`count` runs over AGENTS agents (the first is the bench's own), newest last, a second apart."""
    start = datetime.now(UTC) - timedelta(seconds=count)
    agents = [(agent_name, agent_id)] + [(f"scale-agent-{i}", uuid.uuid4()) for i in range(1, AGENTS)]
    payloads = [json.dumps({"agentRef": {"name": name}}) for name, _ in agents]
    labels = [json.dumps({"team": f"team-{t}", "env": env}) for t in range(TEAMS) for env in ("prod", "dev")]
    token = uuid.uuid4().hex[:8]
    for n in range(count):
        a = n % AGENTS
        name, parent_id = agents[a]
        created = start + timedelta(seconds=n)
        # Agent, phase and labels vary independently: each combination is as common as any other.
        phase = PHASES[(n // AGENTS) % len(PHASES)]
        label = labels[(n // (AGENTS * len(PHASES))) % len(labels)]
        yield (
            uuid.uuid4(), name, parent_id, f"scale-{token}-{n}", "codex", phase, payloads[a], "{}",
            created, created, namespace, label, f"scale-{token}-{n}", "", "", "job",
        )  # fmt: skip


async def load(dsn: str, count: int, agent_name: str, namespace: str) -> float:
    """Seconds to COPY `count` runs into agent_runs and ANALYZE it."""
    began = time.perf_counter()
    connection = await asyncpg.connect(dsn)
    try:
        agent_id = await connection.fetchval(
            "SELECT id FROM agents WHERE namespace = $1 AND name = $2", namespace, agent_name
        )
        records = _records(count, agent_name, agent_id, namespace)
        while batch := [r for _, r in zip(range(COPY_BATCH), records, strict=False)]:
            await connection.copy_records_to_table("agent_runs", records=batch, columns=COLUMNS)
        await connection.execute("ANALYZE agent_runs")
    finally:
        await connection.close()
    return time.perf_counter() - began


async def page_two_statement(database_url: str, agent_name: str, namespace: str) -> tuple[str, list[Any]]:
    """The SQL and parameters the repository sends for page 2, captured from the use case in process (the
    same code the server runs), with the server's page token key."""
    database = Database(database_url, pool_size=1)
    captured: list[tuple[str, Any]] = []

    def capture(_conn: Any, _cursor: Any, statement: str, parameters: Any, *_: Any) -> None:
        captured.append((statement, parameters))

    try:
        tokens = PageTokens(await server_keys.page_token_key(database))
        runs = build_use_cases(database, tokens).runs["AgentRun"]
        query: dict[str, Any] = {
            "namespace": namespace,
            "page_size": PAGE_SIZE,
            "label_selector": SELECTOR,
            "phases": [RunPhase.Running],
            "filters": [("agent_name", agent_name)],
        }
        _, token = await runs.list(page_token="", **query)
        event.listen(database.engine.sync_engine, "before_cursor_execute", capture)
        await runs.list(page_token=token, **query)
    finally:
        await database.dispose()
    statement, parameters = captured[-1]
    return statement, list(parameters)


async def explain(dsn: str, statement: str, parameters: list[Any]) -> str:
    connection = await asyncpg.connect(dsn)
    try:
        # The parameters are as SQLAlchemy's asyncpg dialect sends them: JSON already text.
        await connection.set_type_codec("jsonb", encoder=str, decoder=str, schema="pg_catalog")
        rows = await connection.fetch(f"EXPLAIN (ANALYZE, BUFFERS) {statement}", *parameters)
    finally:
        await connection.close()
    return "\n".join(row[0] for row in rows)


async def run_section(
    *,
    server_address: str,
    database_url: str,
    dsn: str,
    agent_name: str,
    namespace: str,
    runs: int,
    drive: Any,
) -> ScaleResult:
    """Loads the runs, then drives page 2 of the filtered list with `drive` (the bench's own driver)."""
    load_seconds = await load(dsn, runs, agent_name, namespace)
    async with grpc.aio.insecure_channel(server_address) as channel:
        stub = agent_run_pb2_grpc.AgentRunServiceStub(channel)
        request = agent_run_pb2.ListAgentRunsRequest(
            namespace=namespace,
            page_size=PAGE_SIZE,
            label_selector=SELECTOR,
            phase=[RunPhase.Running],
            agent_name=agent_name,
        )
        first = await stub.ListAgentRuns(request)
        page_two = agent_run_pb2.ListAgentRunsRequest()
        page_two.CopyFrom(request)
        page_two.page_token = first.next_page_token
        if not first.next_page_token:
            raise RuntimeError("the filtered list has no second page")

        async def call() -> None:
            reply = await stub.ListAgentRuns(page_two, timeout=30)
            assert len(reply.agent_runs) == PAGE_SIZE

        measured = await drive(call, CONCURRENCY)
    statement, parameters = await page_two_statement(database_url, agent_name, namespace)
    plan = await explain(dsn, statement, parameters)
    connection = await asyncpg.connect(dsn)
    try:
        matching = await connection.fetchval(
            "SELECT count(*) FROM agent_runs WHERE agent_name = $1 AND status = 'Running' "
            "AND labels @> $2::jsonb",
            agent_name,
            json.dumps({"team": "team-3"}),
        )
    finally:
        await connection.close()
    return ScaleResult(
        runs=runs,
        load_seconds=load_seconds,
        requests=measured.requests,
        seconds=measured.seconds,
        p50_ms=measured.p50_ms,
        p99_ms=measured.p99_ms,
        matching=matching,
        statement=statement,
        plan=plan,
    )


def report(result: ScaleResult) -> str:
    return "\n".join(
        [
            f"ListAgentRuns at {result.runs:,} runs (loaded with COPY in {result.load_seconds:.0f} s): "
            f"agent + phase Running + labelSelector {SELECTOR!r}, page 2 of {PAGE_SIZE} via the cursor, "
            f"{CONCURRENCY} in flight over gRPC; {result.matching:,} runs match",
            f"  {result.rps:,.0f} req/s, p50 {result.p50_ms:.1f} ms, p99 {result.p99_ms:.1f} ms "
            "(goal: p99 < 20 ms)",
            "  statement:",
            *(f"    {line}" for line in result.statement.splitlines()),
            "  plan (EXPLAIN ANALYZE, BUFFERS):",
            *(f"    {line}" for line in result.plan.splitlines()),
        ]
    )


def json_entry(result: ScaleResult) -> dict[str, object]:
    return {
        "name": "ListAgentRuns-scale",
        "via": "grpc",
        "runs": result.runs,
        "rps": round(result.rps, 1),
        "p50_ms": round(result.p50_ms, 1),
        "p99_ms": round(result.p99_ms, 1),
    }
