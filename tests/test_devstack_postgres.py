"""The embedded Postgres (server/devstack/postgres.py) runs with the settings the local stack relies on."""

from __future__ import annotations

import asyncpg

from jangar.server.devstack.postgres import SHARED_BUFFERS


async def test_buffer_cache_holds_a_large_memory_store(pg_url: str) -> None:
    # 100,000 memory records are a 171 MB heap: the default 128MB cache would read a third from the OS.
    conn = await asyncpg.connect(pg_url.replace("postgresql+asyncpg://", "postgresql://"))
    try:
        assert await conn.fetchval("SHOW shared_buffers") == SHARED_BUFFERS == "512MB"
    finally:
        await conn.close()
