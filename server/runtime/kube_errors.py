"""What a failed Kubernetes API call means to a runtime: the cluster refused the object as invalid
(StartFailed: retrying will not help), or it could not be reached or answered with something a later
attempt may not get (RuntimeUnavailable). Messages name the object and the status, never a traceback."""

from __future__ import annotations

import json
from collections.abc import Awaitable
from typing import Any, TypeVar

import aiohttp
from kubernetes_asyncio.client.exceptions import ApiException

from jangar.server.core.runtime import RuntimeUnavailable, StartFailed

# Every call is bounded: a hung API server must not hold up the caller.
REQUEST_TIMEOUT_SECONDS = 10.0
MAX_MESSAGE_CHARS = 512

T = TypeVar("T")


def status_of(error: ApiException) -> dict[str, Any]:
    """The Status object the API server answered with ({} when the body is not one)."""
    try:
        body = json.loads(error.body) if error.body else {}
    except (TypeError, ValueError):
        return {}
    return body if isinstance(body, dict) else {}


def is_already_exists(error: ApiException) -> bool:
    # A 409 is also an update Conflict; only AlreadyExists means "it is there".
    return error.status == 409 and status_of(error).get("reason") == "AlreadyExists"


def classify(error: ApiException, what: str) -> StartFailed | RuntimeUnavailable:
    """The runtime error for an API error while working on `what` ("Job default/abc-1")."""
    status = status_of(error)
    message = str(status.get("message") or error.reason or "")
    if error.status in (400, 422):
        # The API server's own explanation of what is invalid: safe to show and the useful part.
        return StartFailed(_cut(f"the cluster refused {what}: {message}"))
    return unavailable(error, what)


def unavailable(error: ApiException, what: str) -> RuntimeUnavailable:
    """The API error as a transient one, whatever its status (for calls that write no object)."""
    status = status_of(error)
    message = str(status.get("message") or "")
    reason = status.get("reason") or error.reason or "error"
    detail = f": {message}" if message and message != reason else ""
    return RuntimeUnavailable(_cut(f"{what}: the API server answered {error.status} {reason}{detail}"))


async def call(request: Awaitable[T], what: str) -> T:
    """Awaits an API call, turning transport failures into RuntimeUnavailable. ApiException passes
    through, for the caller to treat 404 or AlreadyExists as it needs to, then `classify`."""
    try:
        return await request
    except ApiException:
        raise
    except TimeoutError:  # asyncio.TimeoutError is this one since Python 3.11
        raise RuntimeUnavailable(f"{what}: the API server did not answer in time") from None
    except (aiohttp.ClientError, OSError) as error:
        raise RuntimeUnavailable(f"{what}: cannot reach the API server ({type(error).__name__})") from None


def _cut(message: str) -> str:
    return message if len(message) <= MAX_MESSAGE_CHARS else message[: MAX_MESSAGE_CHARS - 1] + "…"
