"""A dependency's outages as state changes in the log, not one line per failed call.

During an outage every call fails the same way; a line for each (655 in ten seconds when the database went
away) buries everything else. The first failure logs a WARNING with its cause, later ones are only counted,
and the first success after them logs one INFO with how long it lasted and how many calls failed.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

# How far down a chain of `raise ... from ...` to look for the error that started it (a guard, not a limit
# any real chain reaches).
_MAX_CAUSE_DEPTH = 32


def describe(error: BaseException) -> str:
    """The root cause of `error`, as `Type: message`. Driver errors are wrapped twice (driver, SQLAlchemy,
    ServiceUnavailable), and only the innermost one says what happened; it carries no SQL or parameters."""
    root = error
    for _ in range(_MAX_CAUSE_DEPTH):
        if root.__cause__ is None:
            break
        root = root.__cause__
    text = str(root).strip()
    return f"{type(root).__name__}: {text}" if text else type(root).__name__


class OutageTracker:
    """Tracks whether `dependency` is down, from failures and successes reported to it.

    Calls report failures (`failed(error)`); the health probe reports both (`failed(error, call=False)`,
    `available()`), so recovery is noticed within a probe interval even when no call arrives. Only calls
    are counted in the recovery line. Not thread-safe: everything that reports runs on one event loop.
    """

    def __init__(
        self,
        dependency: str,
        logger: logging.Logger,
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._dependency = dependency
        self._log = logger
        self._clock = clock
        self._since: float | None = None
        self._failed_calls = 0

    @property
    def down(self) -> bool:
        return self._since is not None

    def failed(self, error: BaseException, *, call: bool = True) -> None:
        if call:
            self._failed_calls += 1
        if self._since is not None:
            return
        self._since = self._clock()
        cause = describe(error)
        self._log.warning(
            "%s unavailable: %s", self._dependency, cause, extra={"dependency": self._dependency}
        )

    def available(self) -> None:
        if self._since is None:
            return
        seconds = self._clock() - self._since
        failed_calls, self._since, self._failed_calls = self._failed_calls, None, 0
        self._log.info(
            "%s available again after %.1f s; %d calls failed",
            self._dependency,
            seconds,
            failed_calls,
            extra={
                "dependency": self._dependency,
                "outage_seconds": round(seconds, 3),
                "failed_calls": failed_calls,
            },
        )
