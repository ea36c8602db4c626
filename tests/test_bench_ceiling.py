"""The bench's ceiling server is what its rows say it is: one statement per request (the INSERT, or the
SELECT by id), on a real Postgres. A ceiling that sent more (asyncpg's pool reset on release is a second
round trip) would make every Jangar row's share of it look better than it is."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import asyncpg
import grpc

from jangar.v1 import agent_run_pb2, run_pb2
from tests import bench
from tests.bench_measure import bare_pool


async def test_each_ceiling_request_sends_one_statement(
    own_database: Callable[[str], Awaitable[str]],
) -> None:
    dsn = bench.asyncpg_dsn(await own_database("bench_ceiling"))
    statements: list[str] = []

    async def log_statements(connection: asyncpg.Connection) -> None:
        connection.add_query_logger(lambda record: statements.append(record.query))

    async with bare_pool(dsn, 2, init=log_statements) as pool:
        await pool.execute(bench.CEILING_DDL)
        server = grpc.aio.server()
        server.add_generic_rpc_handlers([bench.ceiling_handler(pool)])
        port = server.add_insecure_port("127.0.0.1:0")
        await server.start()
        try:
            async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
                create, get = bench.ceiling_calls(channel)
                request = agent_run_pb2.CreateAgentRunRequest(agent_run=bench.minimal_run())
                statements.clear()
                created = [
                    await create(request, metadata=[("idempotency-key", f"ceiling-{n}")]) for n in range(3)
                ]
                read = [await get(run_pb2.GetRunRequest(id=run.id)) for run in created]
        finally:
            await server.stop(None)

    assert statements == [bench.CEILING_INSERT] * 3 + [bench.CEILING_SELECT] * 3
    assert len({run.id for run in created}) == 3
    assert [run.id for run in read] == [run.id for run in created]
    assert {run.name for run in read} == {bench.AGENT_NAME}
