"""Builds grpc.aio handlers for a service from its descriptor, for every cardinality (unary, server
streaming, client streaming, bidirectional).

Handlers are built here instead of with the generated `add_*_to_server` helpers for two reasons: a replayed
idempotent response must go out byte for byte as it was stored, so the response serializer passes `bytes`
through unchanged; and a request that does not decode must be refused as the client's mistake (400
MALFORMED_REQUEST), which grpc.aio cannot do when the deserializer itself raises (it answers UNKNOWN with
the exception's text). Before any handler runs, a request is also refused when it carries text the
database cannot store (core/storable.py), whatever the method.

Handlers receive the RequestContext that the CallInterceptor (api/interceptors.py) made for the call, which
must therefore be installed on the server."""

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
from jangar.server.core.errors import Code, DomainError, invalid_argument
from jangar.server.core.kinds import http_body_field
from jangar.server.core.storable import request_violations


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


@dataclass(frozen=True)
class Undecodable:
    """Stands in for a request whose bytes are not a valid message of the method's input type (corrupt
    wire format, invalid UTF-8 in a string, nesting beyond protobuf's limit). Envoy's transcoder produces
    these too, for JSON that has an object where a string belongs."""

    message_type: str


def _deserializer(message_class: type[Message]) -> Callable[[bytes], Message | Undecodable]:
    def deserialize(data: bytes) -> Message | Undecodable:
        try:
            return message_class.FromString(data)
        except Exception:  # any parse failure means the client's bytes are wrong, never the server
            return Undecodable(message_class.DESCRIPTOR.full_name)

    return deserialize


def _checked(request: Message | Undecodable, body_field: str) -> Message:
    if isinstance(request, Undecodable):
        raise DomainError(
            Code.INVALID_ARGUMENT,
            "MALFORMED_REQUEST",
            f"the request is not a valid {request.message_type}: a field has the wrong type or the message "
            "is corrupt",
        )
    violations = request_violations(request, body_field)
    if violations:
        raise invalid_argument(violations)
    return request


async def _checked_stream(requests: AsyncIterator[Any], body_field: str) -> AsyncIterator[Message]:
    async for request in requests:
        yield _checked(request, body_field)


def _serialize(response: Message | bytes) -> bytes:
    if isinstance(response, bytes):
        return response
    return response.SerializeToString(deterministic=True)


def _request(request: Any, streaming: bool, body_field: str) -> Any:
    return _checked_stream(request, body_field) if streaming else _checked(request, body_field)


def _unary(
    handler: UnaryHandler, streaming: bool, body_field: str
) -> Callable[[Any, grpc.aio.ServicerContext], Awaitable[Any]]:
    async def behaviour(request: Any, context: grpc.aio.ServicerContext) -> Any:
        call = current_call()
        result = await handler(_request(request, streaming, body_field), call.context)
        reply = result if isinstance(result, Reply) else Reply(result)
        if reply.replayed:
            call.response_headers.append(("idempotent-replayed", "true"))
        return reply.payload

    return behaviour


def _streaming(
    handler: StreamingHandler, streaming: bool, body_field: str
) -> Callable[[Any, grpc.aio.ServicerContext], AsyncIterator[Any]]:
    async def behaviour(request: Any, context: grpc.aio.ServicerContext) -> AsyncIterator[Any]:
        checked = _request(request, streaming, body_field)
        async for response in handler(checked, current_call().context):
            yield response

    return behaviour


def _method_handler(method: MethodDescriptor, handler: Any) -> grpc.RpcMethodHandler:
    deserialize = _deserializer(GetMessageClass(method.input_type))
    streaming, body_field = method.client_streaming, http_body_field(method)
    match (method.client_streaming, method.server_streaming):
        case (False, False):
            build, behaviour = grpc.unary_unary_rpc_method_handler, _unary
        case (True, False):
            build, behaviour = grpc.stream_unary_rpc_method_handler, _unary
        case (False, True):
            build, behaviour = grpc.unary_stream_rpc_method_handler, _streaming
        case _:
            build, behaviour = grpc.stream_stream_rpc_method_handler, _streaming
    return build(
        behaviour(handler, streaming, body_field),
        request_deserializer=deserialize,
        response_serializer=_serialize,
    )


def service_handler(descriptor: ServiceDescriptor, handlers: Mapping[str, Handler]) -> grpc.GenericRpcHandler:
    """One generic handler for every method of `descriptor`; each method must have a handler."""
    missing = {m.name for m in descriptor.methods} - handlers.keys()
    if missing:
        raise ValueError(f"{descriptor.full_name} has no handler for {sorted(missing)}")
    return grpc.method_handlers_generic_handler(
        descriptor.full_name,
        {method.name: _method_handler(method, handlers[method.name]) for method in descriptor.methods},
    )
