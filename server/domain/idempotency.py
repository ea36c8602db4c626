"""The idempotency contract (design.md section 5): every POST carries a key; the first request with a key
runs and its response is stored in the same transaction as its work; a retry with the same request gets the
stored bytes back; a different request with the same key is refused."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass

from google.protobuf.message import Message

from jangar.server.domain.context import RequestContext
from jangar.server.domain.errors import Code, DomainError

MAX_KEY_LENGTH = 255
# Visible ASCII without white space or commas: safe in headers, logs and as a deliveryId.
_KEY_PATTERN = re.compile(r"[!-+\--~]+")
RETENTION_HOURS_MINIMUM = 24


@dataclass(frozen=True)
class Outcome:
    """A serialized response and whether it is a replay of a stored one."""

    response: bytes
    replayed: bool


def require_key(context: RequestContext) -> str:
    key = context.idempotency_key
    if key is None:
        raise DomainError(
            Code.INVALID_ARGUMENT,
            "IDEMPOTENCY_KEY_MISSING",
            "this request needs an Idempotency-Key header (gRPC metadata `idempotency-key`)",
        )
    if not key or len(key) > MAX_KEY_LENGTH or not _KEY_PATTERN.fullmatch(key):
        raise DomainError(
            Code.INVALID_ARGUMENT,
            "IDEMPOTENCY_KEY_INVALID",
            f"Idempotency-Key must be 1 to {MAX_KEY_LENGTH} visible ASCII characters, without spaces or "
            "commas",
        )
    return key


def fingerprint(method: str, request: Message) -> bytes:
    """Hash of the method and the canonical request: deterministic serialization of the normalized message,
    so field order in the JSON and explicitly sent default values do not change it."""
    digest = hashlib.sha256(method.encode())
    digest.update(b"\0")
    digest.update(request.SerializeToString(deterministic=True))
    return digest.digest()


def key_reused(key: str, stored_method: str, method: str) -> DomainError:
    where = "another endpoint" if stored_method != method else "a different request body"
    return DomainError(
        Code.INVALID_ARGUMENT,
        "IDEMPOTENCY_KEY_REUSED",
        f"Idempotency-Key {key!r} was already used for {where}; use a new key for a new request",
        metadata={"idempotencyKey": key},
        http_status=422,
    )


def key_in_use(key: str) -> DomainError:
    return DomainError(
        Code.ABORTED,
        "IDEMPOTENCY_KEY_IN_USE",
        f"a request with Idempotency-Key {key!r} is still in progress; retry shortly to get its result",
        metadata={"idempotencyKey": key},
    )
