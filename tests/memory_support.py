"""Helpers of the memory tests (tests/test_memory_*.py): a wait for an async condition, a database of the
tests' Postgres standing for an external store, and a server process whose memory upkeep runs often."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import asyncpg
import sqlalchemy

from jangar.server.devstack.processes import free_port
from tests.support import ServerProcess, unique

UPKEEP_SECONDS = "0.2"


async def until(check: Callable[[], Awaitable[Any]], within: float = 30.0) -> Any:
    """Polls `check` until it returns something truthy, which is returned."""
    deadline = time.monotonic() + within
    while True:
        value = await check()
        if value:
            return value
        assert time.monotonic() < deadline, "condition not met in time"
        await asyncio.sleep(0.1)


def plain(url: str) -> str:
    """The asyncpg form of a SQLAlchemy URL."""
    return url.replace("postgresql+asyncpg://", "postgresql://")


async def store_database(pg_url: str, prefix: str, password: str) -> str:
    """A new, empty database on the tests' Postgres, and a connection string to it that carries `password`
    (the tests' Postgres trusts local connections, so any password connects)."""
    name = f"{prefix}_{unique('db').replace('-', '_')}"
    admin = await asyncpg.connect(plain(pg_url))
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    url = sqlalchemy.engine.make_url(plain(pg_url)).set(database=name, password=password)
    return url.render_as_string(hide_password=False)


def upkeep_server(database_url: str, log_dir: Path, name: str, **env: str) -> ServerProcess:
    """A server on its own database whose memory upkeep runs every 0.2 s; started by the caller."""
    return ServerProcess(
        database_url,
        free_port(),
        log_dir / f"{unique(name)}.log",
        JANGAR_MEMORY_UPKEEP_SECONDS=UPKEEP_SECONDS,
        **env,
    )
