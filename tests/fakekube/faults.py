"""Faults a test can inject into the fake's HTTP API: error answers for the next N requests (optionally
only those matching a method and path pattern), slow answers, 410 Expired for the next watches, and dropped
watch connections. Only requests over HTTP are affected; the fake's own controllers write directly."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

from .errors import ApiError

_MESSAGES = {
    429: "Too many requests, please try again later.",
    500: "Internal error occurred: injected by the fake API server",
    503: "The server is currently unable to handle the request",
    504: "The server was unable to return a response in the time allotted, but may still be processing "
    "the request",
}


@dataclass
class _ErrorRule:
    remaining: int
    status: int
    method: str | None
    path: re.Pattern[str] | None
    retry_after: int | None
    watch: bool | None


@dataclass
class Slowness:
    """Requests answered `seconds` late (a busy API server, an admission webhook), and how many of them were
    waiting at once at most: what a test reads to see how many writes a client had in flight."""

    seconds: float
    method: str | None
    path: re.Pattern[str] | None
    in_flight: int = 0
    most_in_flight: int = 0
    answered: int = 0

    def matches(self, method: str, path: str) -> bool:
        return (self.method is None or self.method == method) and (
            self.path is None or self.path.search(path) is not None
        )

    @asynccontextmanager
    async def delay(self) -> AsyncIterator[None]:
        self.in_flight += 1
        self.most_in_flight = max(self.most_in_flight, self.in_flight)
        try:
            await asyncio.sleep(self.seconds)
            yield
        finally:
            self.in_flight -= 1
            self.answered += 1


class Faults:
    def __init__(self) -> None:
        self._rules: list[_ErrorRule] = []
        self._slow: list[Slowness] = []
        self._expire_watches = 0
        self._drop_requested = 0
        self.injected = 0

    def slow(self, seconds: float, *, method: str | None = None, path: str | None = None) -> Slowness:
        """Answer every matching request (until `clear`) `seconds` late; `path` is a regular expression
        searched in the URL path. The returned Slowness counts the requests waiting at once."""
        slowness = Slowness(seconds, method.upper() if method else None, re.compile(path) if path else None)
        self._slow.append(slowness)
        return slowness

    def slowness_for(self, method: str, path: str) -> Slowness | None:
        return next((s for s in self._slow if s.matches(method, path)), None)

    def fail_next(
        self,
        count: int = 1,
        status: int = 500,
        *,
        method: str | None = None,
        path: str | None = None,
        retry_after: int | None = None,
        watch: bool | None = None,
    ) -> None:
        """Answer the next `count` matching requests with `status` and a Status body. `path` is a regular
        expression searched in the URL path; `watch` True/False limits the rule to watch/non-watch
        requests. 429 and 503 carry a Retry-After header (1 s unless `retry_after` says otherwise)."""
        if status == 429 or status == 503:
            retry_after = 1 if retry_after is None else retry_after
        self._rules.append(
            _ErrorRule(
                count,
                status,
                method.upper() if method else None,
                re.compile(path) if path else None,
                retry_after,
                watch,
            )
        )

    def expire_next_watches(self, count: int = 1) -> None:
        """The next `count` watch requests get an ERROR event with a 410 Expired Status, whatever their
        resourceVersion, as if it had just been compacted."""
        self._expire_watches += count

    def clear(self) -> None:
        self._rules.clear()
        self._slow.clear()
        self._expire_watches = 0

    def take_error(self, method: str, path: str, watch: bool) -> ApiError | None:
        for rule in self._rules:
            if rule.remaining <= 0:
                continue
            if rule.method and rule.method != method:
                continue
            if rule.path and not rule.path.search(path):
                continue
            if rule.watch is not None and rule.watch != watch:
                continue
            rule.remaining -= 1
            self.injected += 1
            self._rules = [r for r in self._rules if r.remaining > 0]
            headers = {"Retry-After": str(rule.retry_after)} if rule.retry_after is not None else {}
            details = {"retryAfterSeconds": rule.retry_after} if rule.retry_after is not None else None
            return ApiError(
                rule.status, _MESSAGES.get(rule.status, "injected fault"), details=details, headers=headers
            )
        return None

    def take_expired_watch(self) -> bool:
        if self._expire_watches > 0:
            self._expire_watches -= 1
            self.injected += 1
            return True
        return False
