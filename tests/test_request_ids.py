"""x-request-id: every unary response names the id its call was logged under, the caller's own or a new one:
in the trailing metadata over gRPC, success or failure, and as a response header over REST (docs/api.md,
"Request ids")."""

from __future__ import annotations

import asyncio
import uuid

import grpc
import pytest

from jangar.v1 import agent_pb2
from tests.support import ServerProcess, error_details, request_log_records, unique

REQUEST_INFO = "type.googleapis.com/google.rpc.RequestInfo"


async def logged_rpc(server: ServerProcess, request_id: str) -> dict:
    """The server's `rpc` log line for the request; its log is line-buffered, so it is there at once on an
    idle machine and within a moment on a busy one."""
    for _ in range(50):
        for record in request_log_records(server.log_path, request_id):
            if record.get("msg") == "rpc" and record.get("request_id") == request_id:
                return record
        await asyncio.sleep(0.1)
    raise AssertionError(f"no rpc log line for request {request_id}")


async def test_grpc_success_returns_the_callers_request_id(agents, server):
    request_id = f"grpc-{uuid.uuid4()}"
    call = agents.ListAgents(agent_pb2.ListAgentsRequest(), metadata=[("x-request-id", request_id)])
    await call
    assert dict(await call.trailing_metadata())["x-request-id"] == request_id
    assert (await logged_rpc(server, request_id))["code"] == "OK"


async def test_grpc_success_without_an_id_returns_the_one_it_was_logged_under(agents, server):
    call = agents.ListAgents(agent_pb2.ListAgentsRequest())
    await call
    generated = dict(await call.trailing_metadata())["x-request-id"]
    assert str(uuid.UUID(generated)) == generated
    assert (await logged_rpc(server, generated))["method"] == "jangar.v1.AgentService/ListAgents"


async def test_grpc_failure_returns_the_request_id_in_trailers_and_details(agents):
    request_id = f"grpc-{uuid.uuid4()}"
    with pytest.raises(grpc.aio.AioRpcError) as error:
        await agents.GetAgent(
            agent_pb2.GetAgentRequest(namespace="default", id=unique("ghost")),
            metadata=[("x-request-id", request_id)],
        )
    assert error.value.code() == grpc.StatusCode.NOT_FOUND
    assert dict(error.value.trailing_metadata())["x-request-id"] == request_id
    assert error_details(error.value)["RequestInfo"].request_id == request_id


async def test_rest_success_carries_the_callers_request_id(http, server):
    request_id = f"rest-{uuid.uuid4()}"
    response = await http.get("/v1/agents", headers={"x-request-id": request_id})
    assert response.status_code == 200
    assert response.headers.get_list("x-request-id") == [request_id]
    assert (await logged_rpc(server, request_id))["code"] == "OK"


async def test_rest_success_without_an_id_carries_the_one_the_server_logged(http, server):
    response = await http.get("/v1/agents")
    assert response.status_code == 200
    (generated,) = response.headers.get_list("x-request-id")
    assert (await logged_rpc(server, generated))["method"] == "jangar.v1.AgentService/ListAgents"


async def test_rest_failure_carries_one_request_id_in_its_header_and_body(http):
    request_id = f"rest-{uuid.uuid4()}"
    response = await http.post(
        "/v1/agent-runs",
        json={"spec": {"agentRef": {"name": unique("ghost")}}},
        headers={"Idempotency-Key": f"rest-{uuid.uuid4()}", "x-request-id": request_id},
    )
    assert response.status_code == 404
    assert response.headers.get_list("x-request-id") == [request_id]
    (info,) = [d for d in response.json()["details"] if d["@type"] == REQUEST_INFO]
    assert info["requestId"] == request_id
