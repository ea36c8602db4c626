"""CPU per use of the ways a request can take a pooled connection and run one statement on the raw asyncpg
connection: through Database.connection(), through an AsyncConnection with per-checkout execution options
(what it did before), through the pool's raw connection, through Database.driver_connection() (GetRun's
way), and through a bare asyncpg pool (bench_measure.bare_pool: no reset query on release). Starts its
own Postgres and server.

    PYTHONPATH=. .venv/bin/python tests/tools/profile_connections.py [--uses 3000]
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from collections.abc import Awaitable, Callable

from jangar.server.repository.database import Database
from tests.bench import asyncpg_dsn
from tests.bench_measure import bare_pool
from tests.tools.profile_stack import profiled_stack


async def measure(url: str, uses: int) -> None:
    database = Database(url, pool_size=4)
    pool = await bare_pool(asyncpg_dsn(url), 4)

    async def database_connection() -> None:
        async with database.connection() as db:
            raw = await db.get_raw_connection()
            await raw.driver_connection.fetchval("SELECT 1")

    async def per_checkout_options() -> None:
        async with database.engine.connect() as connection:
            db = await connection.execution_options(isolation_level="AUTOCOMMIT")
            raw = await db.get_raw_connection()
            await raw.driver_connection.fetchval("SELECT 1")

    async def pool_raw_connection() -> None:
        fairy = await database.engine.raw_connection()
        try:
            await fairy.driver_connection.fetchval("SELECT 1")
        finally:
            fairy.close()

    async def driver_connection() -> None:
        async with database.driver_connection() as connection:
            await connection.fetchval("SELECT 1")

    async def bare_asyncpg_pool() -> None:
        async with pool.acquire() as connection:
            await connection.fetchval("SELECT 1")

    ways: list[tuple[str, Callable[[], Awaitable[None]]]] = [
        ("Database.connection()", database_connection),
        ("engine.connect() + execution_options", per_checkout_options),
        ("engine.raw_connection()", pool_raw_connection),
        ("Database.driver_connection()", driver_connection),
        ("asyncpg pool", bare_asyncpg_pool),
    ]
    for name, use in ways * 2:  # twice: the first round also warms up
        for _ in range(200):
            await use()
        began = time.process_time()
        for _ in range(uses):
            await use()
        print(f"{name}: {(time.process_time() - began) / uses * 1e6:,.0f} µs of CPU per use")
    await pool.close()
    await database.dispose()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--uses", type=int, default=3000)
    args = parser.parse_args()
    with profiled_stack() as (url, _server):
        asyncio.run(measure(url, args.uses))
    return 0


if __name__ == "__main__":
    sys.exit(main())
