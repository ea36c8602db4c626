"""Engine and session factory: one AsyncSession and one transaction per request."""

from __future__ import annotations

from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine


def to_async_url(url: str) -> str:
    """Accepts `postgres://`, `postgresql://` or `postgresql+asyncpg://` URLs and returns the asyncpg form."""
    if url.startswith("postgres://"):
        url = "postgresql://" + url.removeprefix("postgres://")
    parsed = make_url(url)
    if parsed.get_backend_name() != "postgresql":
        raise ValueError(f"JANGAR_DATABASE_URL must be a PostgreSQL URL, got {parsed.get_backend_name()!r}")
    return parsed.set(drivername="postgresql+asyncpg").render_as_string(hide_password=False)


def create_engine(url: str, *, pool_size: int = 20) -> AsyncEngine:
    return create_async_engine(
        to_async_url(url),
        pool_size=pool_size,
        max_overflow=0,
        # No pre-ping: it costs a round trip on every checkout. A dead connection fails its request with a
        # retryable UNAVAILABLE, and SQLAlchemy then invalidates the whole pool, so the retry reconnects
        # (tests/test_server_process.py::test_database_outage_is_retryable_and_stores_nothing).
        pool_pre_ping=False,
        connect_args={
            "server_settings": {
                # A request that waits this long on a row lock is blocked by another in-flight request
                # (for an idempotency key, that is the IN_USE case); fail fast instead of queueing.
                "lock_timeout": "3s",
                "statement_timeout": "15s",
                "application_name": "jangar-server",
            }
        },
    )


def session_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False)
