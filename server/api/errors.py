"""Maps failures to gRPC statuses with google.rpc details (design.md section 5). Expected failures carry
their reason and details; anything unexpected becomes INTERNAL with a request id, and its class and text go
to the log only."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import grpc
from google.protobuf import any_pb2
from google.rpc import code_pb2, error_details_pb2, status_pb2

from jangar.server.core.errors import Code, DomainError, LockNotAvailable, ServiceUnavailable
from jangar.server.core.outage import OutageTracker, describe

DOMAIN = "jangar.proompteng.ai"
# Envoy turns this trailing metadata into the HTTP status of a REST response (see envoy/), for the one case
# where a standard wants a status that gRPC's mapping cannot produce (422).
HTTP_STATUS_METADATA = "x-jangar-http-status"

log = logging.getLogger("jangar.server.api")

# An error travels in gRPC trailers (grpc-message, grpc-status-details-bin in base64), and every hop bounds
# metadata: gRPC clients refuse more than 8 KiB by default and Envoy's HTTP/2 connection to the server dies
# on oversized trailers, taking other callers' requests with it. So an error is bounded whatever the request
# was: the message, each detail string, and the violations listed (the first ones, within a byte budget; the
# total is in ErrorInfo.metadata), keeping the whole well under 8 KiB after encoding.
MAX_MESSAGE_BYTES = 512
MAX_DETAIL_TEXT_BYTES = 256
MAX_VIOLATIONS = 50
VIOLATIONS_BUDGET_BYTES = 2560
VIOLATIONS_TOTAL = "violationsTotal"
VIOLATIONS_SHOWN = "violationsShown"


@dataclass(frozen=True)
class _Status(grpc.Status):
    code: grpc.StatusCode
    details: str
    trailing_metadata: tuple[tuple[str, str | bytes], ...]


def _pack(message: object) -> any_pb2.Any:
    packed = any_pb2.Any()
    packed.Pack(message)  # type: ignore[arg-type]
    return packed


def bounded(text: str, limit: int = MAX_DETAIL_TEXT_BYTES) -> str:
    """`text`, cut to at most `limit` UTF-8 bytes (on a character boundary) and marked when cut."""
    encoded = text.encode()
    if len(encoded) <= limit:
        return text
    return encoded[: limit - 3].decode(errors="ignore") + "…"


def _first_within_budget(items: list[Any], budget: int) -> list[Any]:
    """The leading items (messages) that fit MAX_VIOLATIONS and `budget` bytes."""
    kept, size = [], 0
    for item in items[:MAX_VIOLATIONS]:
        size += item.ByteSize() + 3  # the item's tag and length
        if size > budget:
            break
        kept.append(item)
    return kept


def _status(
    code: int,
    reason: str,
    message: str,
    *,
    metadata: dict[str, str] | None = None,
    extra_details: list[object] | None = None,
    extra_trailers: tuple[tuple[str, str], ...] = (),
) -> _Status:
    message = bounded(message, MAX_MESSAGE_BYTES)
    metadata = {bounded(k, 64): bounded(v) for k, v in (metadata or {}).items()}
    details = [_pack(error_details_pb2.ErrorInfo(reason=reason, domain=DOMAIN, metadata=metadata))]
    details += [_pack(d) for d in extra_details or []]
    status = status_pb2.Status(code=code, message=message, details=details)
    return _Status(
        code=_GRPC_CODES[code],
        details=message,
        trailing_metadata=(("grpc-status-details-bin", status.SerializeToString()), *extra_trailers),
    )


_GRPC_CODES = {code.value[0]: code for code in grpc.StatusCode}


def domain_status(error: DomainError, request_id: str) -> _Status:
    extra: list[object] = []
    metadata = dict(error.metadata)
    total = len(error.field_violations) + len(error.precondition_violations)
    field_violations = _first_within_budget(
        [
            error_details_pb2.BadRequest.FieldViolation(
                field=bounded(v.field), description=bounded(v.description)
            )
            for v in error.field_violations
        ],
        VIOLATIONS_BUDGET_BYTES,
    )
    # One budget for both lists (an error rarely has both).
    budget_left = VIOLATIONS_BUDGET_BYTES - sum(v.ByteSize() + 3 for v in field_violations)
    precondition_violations = _first_within_budget(
        [
            error_details_pb2.PreconditionFailure.Violation(
                type=bounded(v.type), subject=bounded(v.subject), description=bounded(v.description)
            )
            for v in error.precondition_violations
        ],
        budget_left,
    )
    if field_violations:
        extra.append(error_details_pb2.BadRequest(field_violations=field_violations))
    if precondition_violations:
        extra.append(error_details_pb2.PreconditionFailure(violations=precondition_violations))
    shown = len(field_violations) + len(precondition_violations)
    if shown < total:
        metadata |= {VIOLATIONS_TOTAL: str(total), VIOLATIONS_SHOWN: str(shown)}
    extra.append(error_details_pb2.RequestInfo(request_id=request_id))
    trailers: tuple[tuple[str, str], ...] = (("x-request-id", request_id),)
    if error.http_status is not None:
        trailers += ((HTTP_STATUS_METADATA, str(error.http_status)),)
    return _status(
        int(error.code),
        error.reason,
        error.message,
        metadata=metadata,
        extra_details=extra,
        extra_trailers=trailers,
    )


def _is_transient(error: BaseException) -> bool:
    # The repository turns database failures into ServiceUnavailable; a socket error may still surface raw.
    return isinstance(error, ServiceUnavailable | ConnectionError | OSError)


def unexpected_status(
    error: BaseException, request_id: str, method: str, outages: OutageTracker | None = None
) -> _Status:
    info = error_details_pb2.RequestInfo(request_id=request_id)
    trailers = (("x-request-id", request_id),)
    if _is_transient(error):
        # An outage is logged when it starts and ends, not per call; a row lock timeout is one call's bad
        # luck, not an outage, and keeps its own line.
        if outages is not None and not isinstance(error, LockNotAvailable):
            outages.failed(error)
        else:
            log.warning("transient failure in %s (request %s): %s", method, request_id, describe(error))
        return _status(
            int(Code.UNAVAILABLE),
            "DATABASE_UNAVAILABLE",
            "the service is temporarily unavailable; retry with the same Idempotency-Key "
            f"(request {request_id})",
            extra_details=[info],
            extra_trailers=trailers,
        )
    log.exception("unexpected failure in %s (request %s)", method, request_id)
    return _status(
        code_pb2.INTERNAL,
        "INTERNAL",
        f"internal error (request {request_id})",
        extra_details=[info],
        extra_trailers=trailers,
    )
