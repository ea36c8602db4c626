"""Maps failures to gRPC statuses with google.rpc details (design.md section 5). Expected failures carry
their reason and details; anything unexpected becomes INTERNAL with a request id, and its class and text go
to the log only."""

from __future__ import annotations

import logging
from dataclasses import dataclass

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


@dataclass(frozen=True)
class _Status(grpc.Status):
    code: grpc.StatusCode
    details: str
    trailing_metadata: tuple[tuple[str, str | bytes], ...]


def _pack(message: object) -> any_pb2.Any:
    packed = any_pb2.Any()
    packed.Pack(message)  # type: ignore[arg-type]
    return packed


def _status(
    code: int,
    reason: str,
    message: str,
    *,
    metadata: dict[str, str] | None = None,
    extra_details: list[object] | None = None,
    extra_trailers: tuple[tuple[str, str], ...] = (),
) -> _Status:
    details = [_pack(error_details_pb2.ErrorInfo(reason=reason, domain=DOMAIN, metadata=metadata or {}))]
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
    if error.field_violations:
        extra.append(
            error_details_pb2.BadRequest(
                field_violations=[
                    error_details_pb2.BadRequest.FieldViolation(field=v.field, description=v.description)
                    for v in error.field_violations
                ]
            )
        )
    if error.precondition_violations:
        extra.append(
            error_details_pb2.PreconditionFailure(
                violations=[
                    error_details_pb2.PreconditionFailure.Violation(
                        type=v.type, subject=v.subject, description=v.description
                    )
                    for v in error.precondition_violations
                ]
            )
        )
    extra.append(error_details_pb2.RequestInfo(request_id=request_id))
    trailers: tuple[tuple[str, str], ...] = (("x-request-id", request_id),)
    if error.http_status is not None:
        trailers += ((HTTP_STATUS_METADATA, str(error.http_status)),)
    return _status(
        int(error.code),
        error.reason,
        error.message,
        metadata=error.metadata,
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
