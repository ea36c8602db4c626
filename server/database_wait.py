"""Start-up waits for an unreachable database, retrying with capped exponential backoff (tenacity), instead
of exiting with a traceback: replicas, `make run` and compose-style stacks may start the server first.

The log says so once when the wait begins, once more for each new error seen while waiting (a database
that goes from refusing connections to "starting up" is progress worth seeing), and once when it is
reached; not once per attempt.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

from tenacity import (
    AsyncRetrying,
    RetryCallState,
    RetryError,
    retry_if_exception,
    stop_after_delay,
    stop_never,
    wait_exponential_jitter,
)

from jangar.server.core.outage import describe
from jangar.server.repository.database import unavailable

T = TypeVar("T")

# 0.1 s, 0.2 s, 0.4 s ... then every 2 s (plus up to 0.2 s of jitter, so replicas do not knock in step):
# a refused connection costs the database nothing, and a server whose database just came up should not
# sit idle for long.
FIRST_RETRY_SECONDS = 0.1
MAX_RETRY_SECONDS = 2.0
JITTER_SECONDS = 0.2
WAIT_ENV = "JANGAR_DATABASE_WAIT_SECONDS"


class DatabaseUnreachableError(RuntimeError):
    """The database stayed unreachable for longer than start-up was allowed to wait."""


class _WaitLog:
    """The few lines a wait logs: its start, each error not seen before, and its end."""

    def __init__(self, log: logging.Logger, max_wait_seconds: float) -> None:
        self._log = log
        self._max_wait_seconds = max_wait_seconds
        self._started = time.monotonic()
        self._seen: set[str] = set()
        self.last_cause = ""

    def elapsed(self) -> float:
        return time.monotonic() - self._started

    def retrying(self, state: RetryCallState) -> None:
        assert state.outcome is not None
        error = state.outcome.exception()
        assert error is not None
        self.last_cause = cause = describe(error)
        if cause in self._seen:
            return
        if not self._seen:
            if self._max_wait_seconds:
                how_long = f"up to {self._max_wait_seconds:g} s ({WAIT_ENV})"
            else:
                how_long = f"until it answers ({WAIT_ENV} can bound that)"
            self._log.warning(
                "database unreachable; waiting %s, retrying at most %g s apart: %s",
                how_long,
                MAX_RETRY_SECONDS,
                cause,
            )
        else:
            self._log.warning("still waiting for the database: %s", cause)
        self._seen.add(cause)

    def reached(self) -> None:
        if self._seen:
            self._log.info("database reached after %.1f s", self.elapsed())


async def wait_for_database(
    attempt: Callable[[], Awaitable[T]], *, max_wait_seconds: float, log: logging.Logger
) -> T:
    """Runs `attempt` (start-up's first use of the database) until the database lets it through, and
    returns what it returns. Errors that waiting cannot cure (a schema that is behind, a wrong password)
    are raised at once. Raises DatabaseUnreachableError after `max_wait_seconds` (0: never)."""
    report = _WaitLog(log, max_wait_seconds)
    retrying = AsyncRetrying(
        retry=retry_if_exception(unavailable),
        wait=wait_exponential_jitter(
            multiplier=FIRST_RETRY_SECONDS, max=MAX_RETRY_SECONDS, jitter=JITTER_SECONDS
        ),
        stop=stop_after_delay(max_wait_seconds) if max_wait_seconds > 0 else stop_never,
        before_sleep=report.retrying,
    )

    async def once() -> T:  # tenacity awaits only what it can tell is a coroutine function
        return await attempt()

    try:
        result = await retrying(once)
    except RetryError as error:
        last = error.last_attempt.exception()
        cause = describe(last) if last is not None else report.last_cause
        raise DatabaseUnreachableError(
            f"database still unreachable after {report.elapsed():.0f} s ({WAIT_ENV}={max_wait_seconds:g}); "
            f"giving up: {cause}"
        ) from None
    report.reached()
    return result
