"""What every Jangar RPC gets, unary or streaming, in one grpc.aio server interceptor: a request id, the
RequestContext the handlers read, response headers, one log line, metrics, and the mapping of every failure
to a status with details (and never with internals). Authentication will live here too.

The request id (the caller's `x-request-id`, or a new one) is returned as `x-request-id`: in the trailing
metadata of a unary call, success or failure, and in the initial metadata of a stream."""

from __future__ import annotations

import logging
import random
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any

import grpc

from jangar.server.api import errors, metrics
from jangar.server.core.context import RequestContext
from jangar.server.core.errors import Code, DomainError
from jangar.server.core.outage import OutageTracker

log = logging.getLogger("jangar.server.api")

MAX_REQUEST_ID_LENGTH = 128
JANGAR_METHODS = "jangar."


@dataclass
class Call:
    """The call being served: its context, and the response headers its handler adds."""

    context: RequestContext
    response_headers: list[tuple[str, str]] = field(default_factory=list)


# grpc.aio serves every RPC in a task of its own, so a value set here is seen only by that RPC.
_CURRENT: ContextVar[Call] = ContextVar("jangar_call")


def current_call() -> Call:
    """The call the running handler serves; LookupError when the server lacks the CallInterceptor."""
    return _CURRENT.get()


# Headers a request may carry once: with two, one would be silently chosen over the other.
SINGLE_VALUED_HEADERS = ("idempotency-key", "if-match")

# The version and variant bits of a UUID (RFC 9562), for request ids made from 128 random bits.
_UUID_CLEAR = ~((0xF000 << 64) | (0xC000 << 48))
_UUID_V4 = (0x4000 << 64) | (0x8000 << 48)


def new_request_id() -> str:
    """A new request id in UUID (version 4) form. A request id correlates log lines and is not a secret, so
    it comes from `random` (seeded from the OS at start-up and again after a fork) rather than from
    `uuid.uuid4`, which asks the kernel for 16 bytes on every call and takes three times as long."""
    digits = f"{(random.getrandbits(128) & _UUID_CLEAR) | _UUID_V4:032x}"
    return f"{digits[:8]}-{digits[8:12]}-{digits[12:16]}-{digits[16:20]}-{digits[20:]}"


@dataclass(frozen=True)
class CallMetadata:
    """What a call's metadata says, read in one pass: its RequestContext, and a single-valued header that it
    sends more than once (refused by `refuse_duplicate`, inside the call's error handling)."""

    context: RequestContext
    duplicate_header: str | None = None


def read_metadata(context: grpc.aio.ServicerContext, method: str) -> CallMetadata:
    """The call's request id (the caller's first non-empty `x-request-id`, bounded, or a new one), its
    idempotency key and If-Match (the first of each), and whether either of those two is sent twice."""
    request_id: str | None = None
    single: dict[str, str] = {}
    duplicate: str | None = None
    for key, value in context.invocation_metadata() or ():
        if not isinstance(value, str):
            continue
        if key == "x-request-id":
            if request_id is None and value:
                request_id = value[:MAX_REQUEST_ID_LENGTH]
        elif key in SINGLE_VALUED_HEADERS:
            if key in single:
                duplicate = duplicate or key
            else:
                single[key] = value
    return CallMetadata(
        RequestContext(
            request_id=request_id or new_request_id(),
            method=method,
            idempotency_key=single.get("idempotency-key"),
            if_match=single.get("if-match"),
        ),
        duplicate,
    )


def refuse_duplicate(header: str | None) -> None:
    """DomainError (400 DUPLICATE_HEADER) when a single-valued header was sent twice."""
    if header is not None:
        raise DomainError(
            Code.INVALID_ARGUMENT,
            "DUPLICATE_HEADER",
            f"the {header} header may be sent once; this request has it more than once",
            metadata={"header": header},
        )


Behaviour = Callable[[Any, grpc.aio.ServicerContext], Any]


class CallInterceptor(grpc.aio.ServerInterceptor):
    """Wraps the handlers of every method whose full name starts with `prefix` (Jangar's own services;
    health and reflection are left as they are). Database failures are reported to `outages`, which logs
    an outage once instead of once per failed call; it needs something that reports recovery (the health
    probe), so without one each failure is logged."""

    def __init__(self, prefix: str = JANGAR_METHODS, *, outages: OutageTracker | None = None) -> None:
        self._prefix = prefix
        self._outages = outages
        # Wrapped handlers by (method, original handler): built on a method's first call, not on every call.
        self._wrapped: dict[tuple[str, grpc.RpcMethodHandler], grpc.RpcMethodHandler] = {}

    async def intercept_service(
        self,
        continuation: Callable[[grpc.HandlerCallDetails], Awaitable[grpc.RpcMethodHandler]],
        handler_call_details: grpc.HandlerCallDetails,
    ) -> grpc.RpcMethodHandler:
        handler = await continuation(handler_call_details)
        method = handler_call_details.method.lstrip("/")
        if handler is None or not method.startswith(self._prefix):
            return handler
        key = (method, handler)
        wrapped = self._wrapped.get(key)
        if wrapped is None:
            wrapped = self._wrapped[key] = self._wrap(handler, method)
        return wrapped

    def _wrap(self, handler: grpc.RpcMethodHandler, method: str) -> grpc.RpcMethodHandler:
        outages = self._outages
        if handler.unary_unary:
            return handler._replace(unary_unary=_unary(handler.unary_unary, method, outages))
        if handler.stream_unary:
            return handler._replace(stream_unary=_unary(handler.stream_unary, method, outages))
        if handler.unary_stream:
            return handler._replace(unary_stream=_streaming(handler.unary_stream, method, outages))
        return handler._replace(stream_stream=_streaming(handler.stream_stream, method, outages))


def _start(context: grpc.aio.ServicerContext, method: str) -> tuple[Call, str | None]:
    """The call, and the header it sends twice, if any: that refusal is raised inside the error handling,
    so it is answered and logged like any other failure, under the call's request id."""
    metadata = read_metadata(context, method)
    call = Call(metadata.context)
    _CURRENT.set(call)
    return call, metadata.duplicate_header


def _failure_status(
    error: Exception, call: Call, method: str, outages: OutageTracker | None
) -> tuple[str, grpc.Status]:
    if isinstance(error, DomainError):
        return error.code.name, errors.domain_status(error, call.context.request_id)
    status = errors.unexpected_status(error, call.context.request_id, method, outages)
    return status.code.name, status


def _finish(call: Call, method: str, code: str, started: float) -> None:
    elapsed = time.perf_counter() - started
    metrics.observe(method, code, elapsed)
    log.info(
        "rpc",
        extra={
            "method": method,
            "code": code,
            "ms": round(elapsed * 1000, 2),
            "request_id": call.context.request_id,
        },
    )


def _unary(behaviour: Behaviour, method: str, outages: OutageTracker | None) -> Behaviour:
    async def serve(request: Any, context: grpc.aio.ServicerContext) -> Any:
        started = time.perf_counter()
        call, duplicate_header = _start(context, method)
        code, status = "OK", None
        try:
            refuse_duplicate(duplicate_header)
            response = await behaviour(request, context)
            # The request id goes with the status, as a failure's does. Initial metadata sent on its own is
            # a grpc batch (and a wake-up of the event loop) of its own, about a tenth of a create's CPU, so
            # it is sent only when a handler has a header for the response (a replay).
            context.set_trailing_metadata((("x-request-id", call.context.request_id),))
            if call.response_headers:
                await context.send_initial_metadata(call.response_headers)
            return response
        except Exception as error:  # every failure must become a status without internals
            code, status = _failure_status(error, call, method, outages)
        finally:
            _finish(call, method, code, started)
        await context.abort_with_status(status)

    return serve


def _streaming(behaviour: Behaviour, method: str, outages: OutageTracker | None) -> Behaviour:
    async def serve(request: Any, context: grpc.aio.ServicerContext) -> AsyncIterator[Any]:
        started = time.perf_counter()
        call, duplicate_header = _start(context, method)
        code, status = "OK", None
        try:
            refuse_duplicate(duplicate_header)
            await context.send_initial_metadata([("x-request-id", call.context.request_id)])
            async for response in behaviour(request, context):
                yield response
        except Exception as error:  # every failure must become a status without internals
            code, status = _failure_status(error, call, method, outages)
        finally:
            _finish(call, method, code, started)
        if status is not None:
            await context.abort_with_status(status)

    return serve
