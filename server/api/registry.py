"""Registers servicer methods as grpc.aio handlers built from the service descriptors.

Handlers are built here instead of with the generated `add_*_to_server` helpers for one reason: a replayed
idempotent response must go out byte for byte as it was stored, so the response serializer passes `bytes`
through unchanged. The wrapper also turns metadata into a RequestContext, maps every failure to a status
with details, logs and counts each call."""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import grpc
from google.protobuf.descriptor import ServiceDescriptor
from google.protobuf.message import Message
from google.protobuf.message_factory import GetMessageClass

from jangar.server.api import errors, metrics
from jangar.server.domain.context import RequestContext
from jangar.server.domain.errors import DomainError

log = logging.getLogger("jangar.server.api")

MAX_REQUEST_ID_LENGTH = 128


@dataclass(frozen=True)
class Reply:
    """A response: a message, or the stored bytes of one; `replayed` marks an idempotent replay."""

    payload: Message | bytes
    replayed: bool = False


Handler = Callable[[Any, RequestContext], Awaitable[Message | Reply]]


def _serialize(response: Message | bytes) -> bytes:
    if isinstance(response, bytes):
        return response
    return response.SerializeToString(deterministic=True)


def request_context(context: grpc.aio.ServicerContext, method: str) -> RequestContext:
    metadata = {key: value for key, value in context.invocation_metadata() or () if isinstance(value, str)}
    request_id = metadata.get("x-request-id", "")[:MAX_REQUEST_ID_LENGTH] or str(uuid.uuid4())
    return RequestContext(
        request_id=request_id,
        method=method,
        idempotency_key=metadata.get("idempotency-key"),
        if_match=metadata.get("if-match"),
    )


def _wrap(handler: Handler, method: str) -> Callable[[Any, grpc.aio.ServicerContext], Awaitable[Any]]:
    async def call(request: Any, context: grpc.aio.ServicerContext) -> Any:
        started = time.perf_counter()
        request_context_ = request_context(context, method)
        status: grpc.Status | None = None
        code = "OK"
        try:
            result = await handler(request, request_context_)
            reply = result if isinstance(result, Reply) else Reply(result)
            headers = [("x-request-id", request_context_.request_id)]
            if reply.replayed:
                headers.append(("idempotent-replayed", "true"))
            await context.send_initial_metadata(headers)
            return reply.payload
        except DomainError as error:
            code = error.code.name
            status = errors.domain_status(error, request_context_.request_id)
        except Exception as error:  # every failure must become a status without internals
            status = errors.unexpected_status(error, request_context_.request_id, method)
            code = status.code.name
        finally:
            elapsed = time.perf_counter() - started
            metrics.observe(method, code, elapsed)
            log.info(
                "rpc",
                extra={
                    "method": method,
                    "code": code,
                    "ms": round(elapsed * 1000, 2),
                    "request_id": request_context_.request_id,
                },
            )
        await context.abort_with_status(status)

    return call


def generic_handler(descriptor: ServiceDescriptor, handlers: dict[str, Handler]) -> grpc.GenericRpcHandler:
    missing = {m.name for m in descriptor.methods} - handlers.keys()
    if missing:
        raise ValueError(f"{descriptor.full_name} has no handler for {sorted(missing)}")
    method_handlers = {}
    for method in descriptor.methods:
        full_name = f"{descriptor.full_name}/{method.name}"
        method_handlers[method.name] = grpc.unary_unary_rpc_method_handler(
            _wrap(handlers[method.name], full_name),
            request_deserializer=GetMessageClass(method.input_type).FromString,
            response_serializer=_serialize,
        )
    return grpc.method_handlers_generic_handler(descriptor.full_name, method_handlers)


def response_class(descriptor: ServiceDescriptor, method: str) -> type[Message]:
    return GetMessageClass(descriptor.methods_by_name[method].output_type)
