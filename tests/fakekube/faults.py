"""Faults a test can inject into the fake's HTTP API: error answers for the next N requests (optionally
only those matching a method and path pattern), 410 Expired for the next watches, and dropped watch
connections. Only requests over HTTP are affected; the fake's own controllers write directly."""

from __future__ import annotations

import re
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


class Faults:
    def __init__(self) -> None:
        self._rules: list[_ErrorRule] = []
        self._expire_watches = 0
        self._drop_requested = 0
        self.injected = 0

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
