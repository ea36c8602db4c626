"""The handler layer and the CallInterceptor serve streaming methods as they serve unary ones: the handler
gets the request's context, the response carries the request id, and a failure mid-stream becomes a status
with details. Served in process on loopback with descriptors of the health and reflection services, the only
streaming methods this repository has so far."""

from __future__ import annotations

from collections.abc import AsyncIterator

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc

from jangar.server.api.handlers import service_handler
from jangar.server.api.interceptors import CallInterceptor
from jangar.server.core.errors import Code, DomainError
from tests.support import error_details, reason_of

HEALTH = health_pb2.DESCRIPTOR.services_by_name["Health"]
REFLECTION = reflection_pb2.DESCRIPTOR.services_by_name["ServerReflection"]
SERVING = health_pb2.HealthCheckResponse.SERVING


async def check(request, context):
    return health_pb2.HealthCheckResponse(status=SERVING)


async def list_services(request, context):
    return health_pb2.HealthListResponse()


async def watch(request, context) -> AsyncIterator[health_pb2.HealthCheckResponse]:
    # Server streaming: one response per character of the request id, then a failure if asked for one.
    for _ in context.request_id:
        yield health_pb2.HealthCheckResponse(status=SERVING)
    if request.service == "fail":
        raise DomainError(Code.FAILED_PRECONDITION, "WATCH_FAILED", "the watch ended")


async def reflect(requests, context) -> AsyncIterator[reflection_pb2.ServerReflectionResponse]:
    # Bidirectional: echo each request's host with the caller's request id.
    async for request in requests:
        yield reflection_pb2.ServerReflectionResponse(valid_host=f"{request.host}/{context.request_id}")


@pytest.fixture
async def channel() -> AsyncIterator[grpc.aio.Channel]:
    server = grpc.aio.server(interceptors=[CallInterceptor(prefix="grpc.")])
    server.add_generic_rpc_handlers(
        [
            service_handler(HEALTH, {"Check": check, "Watch": watch, "List": list_services}),
            service_handler(REFLECTION, {"ServerReflectionInfo": reflect}),
        ]
    )
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
        yield channel
    await server.stop(None)


async def test_server_streaming_gets_the_request_context_and_sends_the_request_id(channel):
    call = health_pb2_grpc.HealthStub(channel).Watch(
        health_pb2.HealthCheckRequest(), metadata=[("x-request-id", "abc")]
    )
    responses = [response async for response in call]
    assert len(responses) == 3
    assert dict(await call.initial_metadata())["x-request-id"] == "abc"


async def test_a_failure_mid_stream_is_a_status_with_details(channel):
    call = health_pb2_grpc.HealthStub(channel).Watch(
        health_pb2.HealthCheckRequest(service="fail"), metadata=[("x-request-id", "ab")]
    )
    received = []
    with pytest.raises(grpc.aio.AioRpcError) as error:
        async for response in call:
            received.append(response)
    assert len(received) == 2
    assert error.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert reason_of(error.value) == "WATCH_FAILED"
    assert error_details(error.value)["RequestInfo"].request_id == "ab"


async def test_bidirectional_streaming(channel):
    stub = reflection_pb2_grpc.ServerReflectionStub(channel)

    async def requests():
        for host in ("a", "b"):
            yield reflection_pb2.ServerReflectionRequest(host=host)

    call = stub.ServerReflectionInfo(requests(), metadata=[("x-request-id", "r1")])
    assert [r.valid_host async for r in call] == ["a/r1", "b/r1"]


async def test_unary_methods_of_the_same_server_still_work(channel):
    reply = await health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest())
    assert reply.status == SERVING
