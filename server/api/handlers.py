"""Builds grpc.aio handlers for a service from its descriptor, for every cardinality (unary, server
streaming, client streaming, bidirectional).

Handlers are built here instead of with the generated `add_*_to_server` helpers for one reason: a replayed
idempotent response must go out byte for byte as it was stored, so the response serializer passes `bytes`
through unchanged. Handlers receive the RequestContext that the CallInterceptor (api/interceptors.py) made
for the call, which must therefore be installed on the server."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any

import grpc
from google.protobuf.descriptor import MethodDescriptor, ServiceDescriptor
from google.protobuf.message import Message
from google.protobuf.message_factory import GetMessageClass

from jangar.server.api.interceptors import current_call
from jangar.server.core.context import RequestContext


@dataclass(frozen=True)
class Reply:
    """A response: a message, or the stored bytes of one; `replayed` marks an idempotent replay."""

    payload: Message | bytes
    replayed: bool = False


# A unary or client-streaming handler returns one response; a server-streaming or bidirectional handler
# returns an async iterator of responses.
UnaryHandler = Callable[[Any, RequestContext], Awaitable[Message | Reply]]
StreamingHandler = Callable[[Any, RequestContext], AsyncIterator[Message]]
Handler = UnaryHandler | StreamingHandler


def _serialize(response: Message | bytes) -> bytes:
    if isinstance(response, bytes):
        return response
    return response.SerializeToString(deterministic=True)


def _unary(handler: UnaryHandler) -> Callable[[Any, grpc.aio.ServicerContext], Awaitable[Any]]:
    async def behaviour(request: Any, context: grpc.aio.ServicerContext) -> Any:
        call = current_call()
        result = await handler(request, call.context)
        reply = result if isinstance(result, Reply) else Reply(result)
        if reply.replayed:
            call.response_headers.append(("idempotent-replayed", "true"))
        return reply.payload

    return behaviour


def _streaming(handler: StreamingHandler) -> Callable[[Any, grpc.aio.ServicerContext], AsyncIterator[Any]]:
    async def behaviour(request: Any, context: grpc.aio.ServicerContext) -> AsyncIterator[Any]:
        async for response in handler(request, current_call().context):
            yield response

    return behaviour


def _method_handler(method: MethodDescriptor, handler: Any) -> grpc.RpcMethodHandler:
    deserialize = GetMessageClass(method.input_type).FromString
    match (method.client_streaming, method.server_streaming):
        case (False, False):
            build = grpc.unary_unary_rpc_method_handler
        case (True, False):
            build = grpc.stream_unary_rpc_method_handler
        case (False, True):
            return grpc.unary_stream_rpc_method_handler(
                _streaming(handler), request_deserializer=deserialize, response_serializer=_serialize
            )
        case _:
            return grpc.stream_stream_rpc_method_handler(
                _streaming(handler), request_deserializer=deserialize, response_serializer=_serialize
            )
    return build(_unary(handler), request_deserializer=deserialize, response_serializer=_serialize)


def service_handler(descriptor: ServiceDescriptor, handlers: Mapping[str, Handler]) -> grpc.GenericRpcHandler:
    """One generic handler for every method of `descriptor`; each method must have a handler."""
    missing = {m.name for m in descriptor.methods} - handlers.keys()
    if missing:
        raise ValueError(f"{descriptor.full_name} has no handler for {sorted(missing)}")
    return grpc.method_handlers_generic_handler(
        descriptor.full_name,
        {method.name: _method_handler(method, handlers[method.name]) for method in descriptor.methods},
    )
