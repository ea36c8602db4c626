"""The API layer alone, in process: failures become statuses that never show internals. grpcio-testing
drives only synchronous servicers, so these tests serve the real handlers on a loopback grpc.aio server."""

from __future__ import annotations

from collections.abc import AsyncIterator

import grpc
import pytest
from sqlalchemy.exc import OperationalError

from jangar.server.api.handlers import service_handler
from jangar.server.api.interceptors import CallInterceptor
from jangar.server.core.errors import Code, DomainError
from jangar.server.repository.database import translate
from jangar.v1 import run_pb2, run_pb2_grpc
from tests.support import error_details, reason_of

SERVICE = run_pb2.DESCRIPTOR.services_by_name["RunService"]


async def _raise(error: BaseException):
    raise error


@pytest.fixture
async def serve() -> AsyncIterator:
    servers = []

    async def start(failure: BaseException) -> run_pb2_grpc.RunServiceStub:
        server = grpc.aio.server(interceptors=[CallInterceptor()])
        handlers = {
            "GetRun": lambda request, context: _raise(failure),
            "ListRuns": lambda r, c: _raise(failure),
        }
        server.add_generic_rpc_handlers([service_handler(SERVICE, handlers)])
        port = server.add_insecure_port("127.0.0.1:0")
        await server.start()
        servers.append(server)
        channel = grpc.aio.insecure_channel(f"127.0.0.1:{port}")
        servers.append(channel)
        return run_pb2_grpc.RunServiceStub(channel)

    yield start
    for item in servers:
        if isinstance(item, grpc.aio.Channel):
            await item.close()
        else:
            await item.stop(None)


async def test_unexpected_exception_is_internal_without_internals(serve):
    stub = await serve(RuntimeError("password=hunter2 in /srv/secret.py"))
    with pytest.raises(grpc.aio.AioRpcError) as error:
        await stub.GetRun(run_pb2.GetRunRequest(id="x"), metadata=[("x-request-id", "req-123")])
    assert error.value.code() == grpc.StatusCode.INTERNAL
    assert error.value.details() == "internal error (request req-123)"
    assert reason_of(error.value) == "INTERNAL"
    assert error_details(error.value)["RequestInfo"].request_id == "req-123"
    assert "hunter2" not in str(error.value) and "RuntimeError" not in str(error.value)


async def test_database_failure_is_unavailable_and_retryable(serve):
    driver_error = OperationalError("SELECT secret", {}, ConnectionRefusedError("10.0.0.1:5432 refused"))
    stub = await serve(translate(driver_error))
    with pytest.raises(grpc.aio.AioRpcError) as error:
        await stub.GetRun(run_pb2.GetRunRequest(id="x"))
    assert error.value.code() == grpc.StatusCode.UNAVAILABLE
    assert reason_of(error.value) == "DATABASE_UNAVAILABLE"
    assert "10.0.0.1" not in error.value.details() and "SELECT" not in error.value.details()


async def test_domain_error_keeps_its_code_reason_and_metadata(serve):
    stub = await serve(
        DomainError(Code.ALREADY_EXISTS, "THING_ALREADY_EXISTS", "exists", metadata={"existingId": "1"})
    )
    with pytest.raises(grpc.aio.AioRpcError) as error:
        await stub.ListRuns(run_pb2.ListRunsRequest())
    assert error.value.code() == grpc.StatusCode.ALREADY_EXISTS
    info = error_details(error.value)["ErrorInfo"]
    assert (info.reason, dict(info.metadata)) == ("THING_ALREADY_EXISTS", {"existingId": "1"})
    assert dict(error.value.trailing_metadata())["x-request-id"]


def test_every_rpc_needs_a_handler():
    with pytest.raises(ValueError, match="ListRuns"):
        service_handler(SERVICE, {"GetRun": lambda request, context: _raise(RuntimeError())})
