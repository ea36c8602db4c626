"""The database: engine, one session and one transaction per request, and the translation of driver errors
into the core errors every layer above knows (so none of them imports SQLAlchemy)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import asyncpg
import orjson
from sqlalchemy import event, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError, DisconnectionError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, async_sessionmaker, create_async_engine
from sqlalchemy.pool import ConnectionPoolEntry, PoolProxiedConnection
from sqlalchemy.util import greenlet_spawn

from jangar.server.core.errors import LockNotAvailable, ServiceUnavailable

# The handle a use case holds for the length of its transaction and passes back to repository functions.
Tx = AsyncConnection

LOCK_NOT_AVAILABLE = "55P03"
# SQLSTATE classes that mean "try again later", not "this request is wrong".
_TRANSIENT_SQLSTATE_PREFIXES = ("08", "53", "57", "55P03", "40001", "40P01")
# asyncpg's own connect timeout is 60 s: a database host that accepts TCP but never answers (stopped,
# partitioned) would hold a request, or the health probe, that long for each new connection.
CONNECT_TIMEOUT_SECONDS = 5


def to_async_url(url: str) -> str:
    """Accepts `postgres://`, `postgresql://` or `postgresql+asyncpg://` URLs and returns the asyncpg form."""
    if url.startswith("postgres://"):
        url = "postgresql://" + url.removeprefix("postgres://")
    parsed = make_url(url)
    if parsed.get_backend_name() != "postgresql":
        raise ValueError(f"JANGAR_DATABASE_URL must be a PostgreSQL URL, got {parsed.get_backend_name()!r}")
    return parsed.set(drivername="postgresql+asyncpg").render_as_string(hide_password=False)


def create_engine(url: str, *, pool_size: int = 20) -> AsyncEngine:
    engine = create_async_engine(
        to_async_url(url),
        pool_size=pool_size,
        max_overflow=0,
        # No pre-ping: it costs a round trip on every checkout. Connections the server closed (a restart)
        # are replaced on checkout for free instead, see _replace_closed_connection. One that died
        # silently (a network partition) fails its request with a retryable UNAVAILABLE, and SQLAlchemy
        # then invalidates the whole pool, so the retry reconnects
        # (tests/test_server_process.py::test_database_outage_is_retryable_and_stores_nothing).
        pool_pre_ping=False,
        # Specs, statuses and outbox documents are JSON columns: orjson is several times faster both ways.
        json_serializer=json_text,
        json_deserializer=orjson.loads,
        connect_args={
            "timeout": CONNECT_TIMEOUT_SECONDS,
            "server_settings": {
                # A request that waits this long on a row lock is blocked by another in-flight request
                # (for an idempotency key, that is the IN_USE case); fail fast instead of queueing.
                "lock_timeout": "3s",
                "statement_timeout": "15s",
                "application_name": "jangar-server",
            },
        },
    )
    event.listen(engine.sync_engine, "checkout", _replace_closed_connection)
    return engine


def json_text(value: Any) -> str:
    # Non-string keys become strings, as the standard library's json.dumps makes them.
    return orjson.dumps(value, option=orjson.OPT_NON_STR_KEYS).decode()


def _replace_closed_connection(
    dbapi_connection: Any, record: ConnectionPoolEntry, proxy: PoolProxiedConnection
) -> None:
    """Hands the pool a closed connection back to replace. When Postgres restarts it tells every client
    (FATAL, then EOF), and asyncpg marks its connection closed as soon as the event loop reads that, with no
    request in flight; so checking the flag costs nothing, and the first request after a restart gets a
    fresh connection instead of failing on a stale one. SQLAlchemy reconnects the entry on
    DisconnectionError (and fails the checkout as usual when the database is still down)."""
    if dbapi_connection._connection.is_closed():
        raise DisconnectionError("the database closed this pooled connection")


def sqlstate(error: DBAPIError | asyncpg.PostgresError) -> str:
    if isinstance(error, asyncpg.PostgresError):
        return error.sqlstate or ""
    return getattr(error.orig, "sqlstate", None) or getattr(error.orig, "pgcode", None) or ""


def translate(error: BaseException) -> BaseException | None:
    """The core error that stands for a driver error, or None when `error` is not one the caller can retry.
    Statements on the raw asyncpg connection (repository/writes.py) raise asyncpg's errors unwrapped."""
    if isinstance(error, asyncpg.PostgresError):
        state = sqlstate(error)
        if state == LOCK_NOT_AVAILABLE:
            return LockNotAvailable("a row is locked by another request")
        if state.startswith(_TRANSIENT_SQLSTATE_PREFIXES):
            return ServiceUnavailable("the database is unavailable")
        return None
    if isinstance(error, asyncpg.InterfaceError):
        return ServiceUnavailable("the database is unavailable")
    if isinstance(error, DBAPIError):
        state = sqlstate(error)
        if state == LOCK_NOT_AVAILABLE:
            return LockNotAvailable("a row is locked by another request")
        if error.connection_invalidated or state.startswith(_TRANSIENT_SQLSTATE_PREFIXES):
            return ServiceUnavailable("the database is unavailable")
        if isinstance(error, OperationalError | InterfaceError):
            return ServiceUnavailable("the database is unavailable")
        return None
    if isinstance(error, PoolTimeoutError | ConnectionError | OSError):
        return ServiceUnavailable("the database is unavailable")
    return None


def unavailable(error: BaseException) -> bool:
    """True when `error` means the database cannot be reached or cannot serve now, so waiting may help (not
    a row lock timeout, which is one request's contention)."""
    translated = translate(error)
    return isinstance(translated, ServiceUnavailable) and not isinstance(translated, LockNotAvailable)


@asynccontextmanager
async def savepoint(db: Tx) -> AsyncIterator[None]:
    """A nested transaction: what the block wrote is undone when it raises, and the caller's transaction
    goes on (a scheduled run that is refused leaves no idempotency claim behind, and the refusal is
    recorded)."""
    async with db.begin_nested():
        yield


class Database:
    """The engine and its sessions; `transaction()` is the unit of work of one request."""

    def __init__(self, url: str, *, pool_size: int = 20) -> None:
        self.engine = create_engine(url, pool_size=pool_size)
        # The same pool in autocommit, set up once: an execution_options call on every checkout cost ~45 µs
        # of CPU (tests/tools/profile_connections.py).
        self._autocommit = self.engine.execution_options(isolation_level="AUTOCOMMIT")
        self._sessions = async_sessionmaker(self.engine, expire_on_commit=False)

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[Tx]:
        """One session and one transaction; commits when the block ends, rolls back when it raises.
        Statements run on the session's connection: they are Core statements, and the ORM's execute path
        around them would only add per-call overhead."""
        try:
            async with self._sessions() as session, session.begin():
                yield await session.connection()
        except Exception as error:
            _raise_translated(error)
            raise

    @asynccontextmanager
    async def connection(self) -> AsyncIterator[Tx]:
        """A pooled connection in autocommit: each statement is its own transaction, with no BEGIN and
        COMMIT round trips around it. For requests whose writes are one statement (a create through
        repository/writes.py) and for single-statement reads."""
        try:
            async with self._autocommit.connect() as connection:
                yield connection
        except Exception as error:
            _raise_translated(error)
            raise

    @asynccontextmanager
    async def driver_connection(self) -> AsyncIterator[asyncpg.Connection]:
        """A pooled connection's asyncpg connection itself, for a single-statement read on the hottest path
        (GetRun, repository/raw.py): SQLAlchemy's Connection around it (events, execution options, the
        autocommit switch and its reset) costs more server CPU than the statement. With no transaction
        begun, each statement is its own; the connection goes back to the same pool."""
        try:
            pooled = await self.engine.raw_connection()
            connection: asyncpg.Connection = pooled.driver_connection  # type: ignore[assignment]
            try:
                yield connection
            except Exception as error:
                # SQLAlchemy's Connection would invalidate a connection that failed this way; without it,
                # a dead connection would go back to the pool and fail the next request too.
                if connection.is_closed() or unavailable(error):
                    await greenlet_spawn(pooled.invalidate, error)
                raise
            finally:
                if pooled.dbapi_connection is not None:  # not invalidated above
                    await greenlet_spawn(pooled.close)  # its reset on return may need the event loop
        except Exception as error:
            _raise_translated(error)
            raise

    async def ping(self) -> None:
        """Raises ServiceUnavailable when the database does not answer."""
        async with self.transaction() as db:
            await db.execute(text("SELECT 1"))

    async def dispose(self) -> None:
        await self.engine.dispose()


def _raise_translated(error: Exception) -> None:
    translated = translate(error)
    if translated is not None:
        raise translated from error
