"""Hostile and malformed requests, each reproduced from issue 7: every one gets a 4xx in the documented error
shape, never a 5xx, nothing is written, and other callers do not notice. (tests/test_fuzz.py generates many
more of them; these pin the classes down with readable examples.)"""

from __future__ import annotations

import asyncio
import json
import uuid

import grpc
import httpx
import pytest

from jangar.v1 import agent_pb2, agent_pb2_grpc, agent_run_pb2, memory_pb2
from tests import builders
from tests.support import error_details, reason_of, unique, violated_fields

DOMAIN = "jangar.proompteng.ai"
NUL_PROBLEM = "must not contain the NUL character (U+0000)"
INTERNALS = ("Traceback", "DecodeError", "Error parsing", "Wire format", "sqlalchemy", "asyncpg", "<class")


def key() -> dict[str, str]:
    return {"Idempotency-Key": f"hostile-{uuid.uuid4()}"}


def agent_body(name: str, **changes: object) -> dict:
    body: dict = {"name": name, "namespace": "hostile", "spec": {"providerRef": {"name": "codex"}}}
    body.update(changes)
    return body


def error_info(body: dict) -> dict:
    infos = [d for d in body["details"] if d["@type"].endswith("google.rpc.ErrorInfo")]
    assert len(infos) == 1, body
    assert infos[0]["domain"] == DOMAIN
    return infos[0]


def violations(body: dict) -> list[dict]:
    bad = [d for d in body["details"] if d["@type"].endswith("google.rpc.BadRequest")]
    return bad[0]["fieldViolations"] if bad else []


def assert_no_internals(text: str) -> None:
    for marker in INTERNALS:
        assert marker not in text, text


async def count_agents(db, name: str) -> int:
    return await db.fetchval("SELECT count(*) FROM agents WHERE name = $1", name)


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"annotations": {"a": "x\u0000y"}}, "annotations['a']"),
        ({"annotations": {"a\u0000": "x"}}, "annotations['a\\x00']"),
        (
            {"spec": {"providerRef": {"name": "codex"}, "config": {"k": [1, {"deep": "\u0000"}]}}},
            "spec.config['k'][1]['deep']",
        ),
        (
            {"spec": {"providerRef": {"name": "codex"}, "env": [{"name": "A", "value": "\u0000"}]}},
            "spec.env[0].value",
        ),
        (
            {"spec": {"providerRef": {"name": "codex"}, "defaults": {"systemPrompt": "be\u0000brief"}}},
            "spec.defaults.systemPrompt",
        ),
    ],
)
async def test_a_nul_character_anywhere_in_a_body_is_a_400_naming_the_field(http, db, changes, field):
    name = unique("nul")
    response = await http.post("/v1/agents", json=agent_body(name, **changes), headers=key())
    assert response.status_code == 400, response.text
    body = response.json()
    assert error_info(body)["reason"] == "INVALID_ARGUMENT"
    assert (field, NUL_PROBLEM) in [(v["field"], v["description"]) for v in violations(body)]
    assert await count_agents(db, name) == 0


async def test_a_nul_character_in_a_list_filter_or_path_is_a_400(http):
    listed = await http.get("/v1/agent-runs", params={"agentName": "\u0000"})
    assert listed.status_code == 400, listed.text
    assert [v["field"] for v in violations(listed.json())] == ["agentName"]
    got = await http.get("/v1/agents/a%00b")
    assert got.status_code == 400, got.text
    assert error_info(got.json())["reason"] == "INVALID_ARGUMENT"


async def test_a_nul_character_in_a_patch_or_a_cancel_reason_is_a_400(http, agents, agent_runs):
    agent = await agents.CreateAgent(
        agent_pb2.CreateAgentRequest(agent=builders.agent(namespace="hostile")),
        metadata=[("idempotency-key", str(uuid.uuid4()))],
    )
    patched = await http.patch(
        f"/v1/agents/{agent.id}",
        params={"updateMask": "labels"},
        json={"labels": {"a": "b\u0000"}},
    )
    assert patched.status_code == 400, patched.text
    assert [v["field"] for v in violations(patched.json())] == ["labels['a']"]
    run = await agent_runs.CreateAgentRun(
        agent_run_pb2.CreateAgentRunRequest(agent_run=builders.agent_run(agent.name, namespace="hostile")),
        metadata=[("idempotency-key", str(uuid.uuid4()))],
    )
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await agent_runs.CancelAgentRun(agent_run_pb2.CancelAgentRunRequest(id=run.id, reason="stop\u0000"))
    assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert violated_fields(refused.value) == ["reason"]
    unchanged = await agent_runs.GetAgentRun(agent_run_pb2.GetAgentRunRequest(id=run.id))
    assert unchanged.status.phase == run.status.phase


async def test_an_object_where_a_string_belongs_is_400_malformed_request(http, db):
    name = unique("shape")
    response = await http.post("/v1/agents", json=agent_body(name, labels={"a": {"b": "c"}}), headers=key())
    assert response.status_code == 400, response.text
    body = response.json()
    assert error_info(body)["reason"] == "MALFORMED_REQUEST"
    assert_no_internals(response.text)
    assert await count_agents(db, name) == 0


async def test_undecodable_grpc_bytes_are_invalid_argument_malformed_request(channel):
    create = channel.unary_unary(
        "/jangar.v1.AgentService/CreateAgent",
        request_serializer=lambda raw: raw,
        response_deserializer=lambda raw: raw,
    )
    # Field 1 (agent) claims 100 bytes and ends after 2.
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await create(b"\x0a\x64\x01\x02", metadata=[("idempotency-key", str(uuid.uuid4()))])
    assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert reason_of(refused.value) == "MALFORMED_REQUEST"
    assert_no_internals(refused.value.details() or "")


def thousands_of_bad_annotations(name: str, count: int = 3000) -> dict:
    return agent_body(name, annotations={f"-{i}": "v" for i in range(count)})


async def test_thousands_of_violations_are_one_bounded_400_and_other_callers_do_not_notice(http, db):
    bad_name = unique("many")

    async def valid_create() -> int:
        return (await http.post("/v1/agents", json=agent_body(unique("ok")), headers=key())).status_code

    async def hostile_create() -> httpx.Response:
        return await http.post("/v1/agents", json=thousands_of_bad_annotations(bad_name), headers=key())

    results = await asyncio.gather(
        *(valid_create() for _ in range(30)), *(hostile_create() for _ in range(10))
    )
    valid, hostile = results[:30], results[30:]
    assert valid == [200] * 30
    for response in hostile:
        assert response.status_code == 400, response.text[:500]
        body = response.json()
        info = error_info(body)
        assert info["reason"] == "INVALID_ARGUMENT"
        assert info["metadata"]["violationsTotal"] == "3000"
        shown = violations(body)
        assert 0 < len(shown) <= 50
        assert int(info["metadata"]["violationsShown"]) == len(shown)
        # Map order is not kept on the way: any 50 of them.
        assert all(v["field"].startswith("annotations['-") for v in shown)
        assert "and 2995 more" in body["message"]
    assert await count_agents(db, bad_name) == 0


async def test_a_direct_grpc_client_gets_the_bounded_error_not_a_metadata_failure(agents):
    agent = builders.agent(namespace="hostile")
    for index in range(3000):
        agent.annotations[f"-{index}"] = "v"
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await agents.CreateAgent(
            agent_pb2.CreateAgentRequest(agent=agent), metadata=[("idempotency-key", str(uuid.uuid4()))]
        )
    assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    info = error_details(refused.value)["ErrorInfo"]
    assert info.metadata["violationsTotal"] == "3000"


async def test_a_huge_name_in_a_path_gets_a_bounded_error(http):
    name = "a" * 7000
    response = await http.get(f"/v1/agents/{name}")
    assert response.status_code in (400, 404), response.text[:300]
    assert len(response.content) < 4096
    assert error_info(response.json())["reason"] in ("INVALID_ARGUMENT", "AGENT_NOT_FOUND")


@pytest.mark.parametrize("url_bytes", [8 * 1024 + 1, 12 * 1024, 16 * 1024, 30 * 1024])
async def test_a_url_over_8_kib_is_always_414(http, url_bytes):
    path = "/v1/agents?labelSelector="
    for _ in range(3):
        response = await http.get(path + "a" * (url_bytes - len(path)))
        assert response.status_code == 414, response.text
        assert error_info(response.json())["reason"] == "URI_TOO_LONG"


async def test_a_url_just_under_the_limit_reaches_the_server(http):
    path = "/v1/agents?labelSelector="
    response = await http.get(path + "a" * (8 * 1024 - len(path)))
    # A 8 KiB label key is not a valid selector: the server answers, not Envoy.
    assert response.status_code == 400, response.text
    assert error_info(response.json())["reason"] == "INVALID_ARGUMENT"


async def test_headers_over_the_limit_are_431(http):
    response = await http.get("/v1/agents", headers={"x-filler": "f" * (40 * 1024)})
    assert response.status_code == 431, response.text
    assert error_info(response.json())["reason"] == "HEADERS_TOO_LARGE"


async def test_two_idempotency_keys_are_refused_over_rest(http, db):
    name = unique("twokeys")
    response = await http.post(
        "/v1/agents",
        content=json.dumps(agent_body(name)).encode(),
        headers=[
            ("content-type", "application/json"),
            ("idempotency-key", f"one-{uuid.uuid4()}"),
            ("idempotency-key", f"two-{uuid.uuid4()}"),
        ],
    )
    assert response.status_code == 400, response.text
    info = error_info(response.json())
    assert info["reason"] == "DUPLICATE_HEADER"
    assert info["metadata"] == {"header": "idempotency-key"}
    assert await count_agents(db, name) == 0


async def test_two_idempotency_keys_are_refused_over_grpc(channel):
    agents = agent_pb2_grpc.AgentServiceStub(channel)
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await agents.CreateAgent(
            agent_pb2.CreateAgentRequest(agent=builders.agent(namespace="hostile")),
            metadata=[("idempotency-key", "one-key"), ("idempotency-key", "other-key")],
        )
    assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert reason_of(refused.value) == "DUPLICATE_HEADER"


async def test_an_enum_number_the_schema_does_not_define_is_a_400_naming_the_field(memories, http, db):
    memory = builders.memory(namespace="hostile")
    memory.spec.type = 99
    memory.spec.capabilities.append(42)
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await memories.CreateMemory(memory_pb2.CreateMemoryRequest(memory=memory), metadata=builders.key())
    assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert sorted(violated_fields(refused.value)) == ["spec.capabilities[2]", "spec.type"]
    name = unique("enum")
    response = await http.post(
        "/v1/memories",
        json={
            "name": name,
            "namespace": "hostile",
            "spec": {"type": 99, "connection": {"secretRef": {"name": "db", "key": "uri"}}},
        },
        headers=key(),
    )
    assert response.status_code == 400, response.text
    assert [v["field"] for v in violations(response.json())] == ["spec.type"]
    assert await db.fetchval("SELECT count(*) FROM memory_resources WHERE memory_name = $1", name) == 0
