"""Where a create's and a get's time goes: RunUseCases.create (CreateAgentRun, a job run with its outbox
rows) and RunViewUseCases.get (GetRun) in this process (no gRPC), 32 in flight, with the statements each
request runs and a cProfile. Starts its own Postgres and a server (to create the agent and its provider).

    PYTHONPATH=. .venv/bin/python tests/tools/profile_create.py [--requests 2000] [--top 30]
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import cProfile
import sys
import time
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

import grpc
from sqlalchemy import event

from jangar.server.core.context import RequestContext
from jangar.server.core.pages import PageTokens
from jangar.server.domain.catalog import build_use_cases
from jangar.server.domain.execution import RunExecution
from jangar.server.domain.launch import RuntimePolicy
from jangar.server.repository.database import Database
from jangar.v1 import agent_run_pb2
from tests import bench
from tests.tools.profile_stack import print_profile, profiled_stack

IN_FLIGHT = 32
METHOD = "/jangar.v1.AgentRunService/CreateAgentRun"


async def timed(what: str, requests: int, call: Callable[[int], Awaitable[Any]]) -> float:
    numbers = iter(range(requests))

    async def worker() -> None:
        for n in numbers:
            await call(n)

    began = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(IN_FLIGHT)))
    each = (time.perf_counter() - began) / requests
    print(f"{what}: {each * 1e6:,.0f} µs per request in process ({1 / each:,.0f}/s)")
    return each


async def profile(url: str, address: str, requests: int, top: int) -> None:
    async with grpc.aio.insecure_channel(address) as channel:
        await bench.create_agent(channel)
    database = Database(url, pool_size=bench.POOL_SIZE)
    use_cases = build_use_cases(database, PageTokens(b"k" * 32), RuntimePolicy(), RunExecution(database, {}))
    runs, view = use_cases.runs["AgentRun"], use_cases.run_view
    statements: collections.Counter[str] = collections.Counter()

    def count(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        statements[" ".join(statement.split()[:4])[:100]] += 1

    event.listen(database.engine.sync_engine, "before_cursor_execute", count)
    keys = iter(range(10**9))
    token = uuid.uuid4().hex[:8]
    ids: list[str] = []

    async def create(n: int) -> None:
        request = agent_run_pb2.CreateAgentRunRequest(agent_run=bench.minimal_run())
        context = RequestContext(f"r{n}", METHOD, "anonymous", f"profile-{token}-{next(keys)}")
        outcome = await runs.create(context, request, request.agent_run)
        ids.append(agent_run_pb2.AgentRun.FromString(outcome.response).id)

    async def get(n: int) -> None:
        await view.get(ids[n % len(ids)], "")

    for what, call in (("create", create), ("get", get)):
        await timed(f"{what} (warm-up)", requests // 4, call)
        statements.clear()
        await timed(what, requests, call)
        print(f"statements per {what} through SQLAlchemy (BEGIN/COMMIT and raw asyncpg not counted):")
        for statement, n in statements.most_common(10):
            print(f"  {n / requests:5.2f}  {statement}")
        profiler = cProfile.Profile()
        profiler.enable()
        await timed(f"{what} (profiled)", requests, call)
        profiler.disable()
        print_profile(profiler, top)
    await database.dispose()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--top", type=int, default=30)
    args = parser.parse_args()
    with profiled_stack() as (url, server):
        asyncio.run(profile(url, server.address, args.requests, args.top))
    return 0


if __name__ == "__main__":
    sys.exit(main())
