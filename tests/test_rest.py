"""The REST API through the real Envoy: every /v1 path, the idempotency table, and the error body shape."""

from __future__ import annotations

import asyncio
import uuid

import grpc
import pytest

from jangar.v1 import agent_pb2, agent_pb2_grpc
from tests import builders
from tests.support import unique

ERROR_INFO = "type.googleapis.com/google.rpc.ErrorInfo"
BAD_REQUEST = "type.googleapis.com/google.rpc.BadRequest"


def key() -> dict[str, str]:
    return {"Idempotency-Key": f"rest-{uuid.uuid4()}"}


def agent_body(name: str, namespace: str = "jangar", **labels: str) -> dict:
    return {
        "name": name,
        "namespace": namespace,
        "labels": labels,
        "spec": {
            "providerRef": {"name": "codex"},
            "config": {"model": "gpt-5"},
            "env": [{"name": "LOG_LEVEL", "value": "info"}],
            "security": {"allowedServiceAccounts": ["runner"], "allowedSecrets": ["gh-token"]},
            "memoryRef": {"name": "notes"},
            "defaults": {"timeoutSeconds": 600, "retryLimit": 1, "systemPrompt": "Be brief."},
        },
    }


def orchestration_body(name: str, agent: str, namespace: str = "jangar") -> dict:
    return {
        "name": name,
        "namespace": namespace,
        "spec": {
            "entrypoint": "plan",
            "steps": [
                {"name": "plan", "kind": "AgentRun", "agentRef": {"name": agent}, "with": {"depth": "2"}},
                {
                    "name": "gate",
                    "kind": "ApprovalGate",
                    "policyRef": {"name": "two-eyes"},
                    "dependsOn": ["plan"],
                },
            ],
            "policies": {"retries": {"limit": 2}, "timeouts": {"totalSeconds": 600}},
        },
    }


def without_defaults(value):
    """REST prints default values of primitive fields (Envoy's always_print_primitive_fields) so responses
    keep one shape; drop them to compare with what was sent."""
    if isinstance(value, dict):
        pruned = {k: without_defaults(v) for k, v in value.items()}
        return {k: v for k, v in pruned.items() if v not in ("", 0, [], {}, False, None)}
    if isinstance(value, list):
        return [without_defaults(v) for v in value]
    return value


def reason(body: dict) -> str:
    infos = [d for d in body["details"] if d["@type"] == ERROR_INFO]
    assert len(infos) == 1, body
    assert infos[0]["domain"] == "jangar.proompteng.ai"
    return infos[0]["reason"]


async def post(http, path: str, body: dict, headers: dict | None = None):
    return await http.post(path, json=body, headers=key() if headers is None else headers)


async def test_agent_crud_over_rest(http):
    name = unique("agent")
    created = await post(http, "/v1/agents", agent_body(name, team="search"))
    assert created.status_code == 200, created.text
    agent = created.json()
    assert created.headers["content-type"].startswith("application/json")
    assert agent["name"] == name and agent["namespace"] == "jangar"
    assert without_defaults(agent["spec"]) == agent_body(name)["spec"]  # the JSON spec is the CR spec
    assert agent["status"]["conditions"][0]["type"] == "Accepted"
    assert agent["generation"] == "1"
    assert "grpc-status" not in created.headers

    by_id = await http.get(f"/v1/agents/{agent['id']}")
    by_name = await http.get(f"/v1/agents/{name}", params={"namespace": "jangar"})
    assert by_id.json() == agent == by_name.json()

    listed = await http.get(
        "/v1/agents", params={"namespace": "jangar", "labelSelector": "team=search", "pageSize": 500}
    )
    assert agent["id"] in [a["id"] for a in listed.json()["agents"]]

    patched = await http.patch(
        f"/v1/agents/{agent['id']}",
        params={"updateMask": "spec.defaults.retryLimit,labels"},
        json={"labels": {"team": "ads"}, "spec": {"defaults": {"retryLimit": 3}}},
        headers={"If-Match": f'"{agent["etag"]}"'},
    )
    assert patched.status_code == 200, patched.text
    assert patched.json()["spec"]["defaults"] == {
        "timeoutSeconds": 600,
        "retryLimit": 3,
        "systemPrompt": "Be brief.",
    }
    assert patched.json()["labels"] == {"team": "ads"}
    assert patched.json()["generation"] == "2"

    stale = await http.delete(f"/v1/agents/{agent['id']}", headers={"If-Match": agent["etag"]})
    assert stale.status_code == 409
    assert reason(stale.json()) == "ETAG_MISMATCH"
    deleted = await http.delete(f"/v1/agents/{agent['id']}", params={"etag": patched.json()["etag"]})
    assert deleted.status_code == 200 and deleted.json()["deleteTime"]
    missing = await http.get(f"/v1/agents/{agent['id']}")
    assert missing.status_code == 404
    assert reason(missing.json()) == "AGENT_NOT_FOUND"


async def test_memory_and_orchestration_over_rest(http):
    memory = await post(
        http,
        "/v1/memories",
        {
            "name": unique("mem"),
            "spec": {
                "type": "postgres",
                "connection": {"secretRef": {"name": "db", "key": "uri"}},
                "capabilities": ["vector", "kv"],
                "default": True,
            },
        },
    )
    assert memory.status_code == 200, memory.text
    assert memory.json()["spec"]["type"] == "postgres"
    assert memory.json()["status"]["phase"] == "Pending"
    assert (await http.get(f"/v1/memories/{memory.json()['id']}")).json() == memory.json()
    assert memory.json()["id"] in [
        m["id"] for m in (await http.get("/v1/memories", params={"pageSize": 500})).json()["memories"]
    ]
    updated = await http.patch(
        f"/v1/memories/{memory.json()['id']}",
        params={"updateMask": "spec.capabilities"},
        json={"spec": {"capabilities": ["blob"]}},
    )
    assert updated.json()["spec"]["capabilities"] == ["blob"]
    assert (await http.delete(f"/v1/memories/{memory.json()['id']}")).status_code == 200

    body = orchestration_body(unique("orch"), "writer")
    orchestration = await post(http, "/v1/orchestrations", body)
    assert orchestration.status_code == 200, orchestration.text
    assert without_defaults(orchestration.json()["spec"]) == body["spec"]
    assert (await http.get(f"/v1/orchestrations/{orchestration.json()['id']}")).json() == orchestration.json()
    listed = await http.get("/v1/orchestrations", params={"namespace": "jangar", "pageSize": 500})
    assert orchestration.json()["id"] in [o["id"] for o in listed.json()["orchestrations"]]
    patched = await http.patch(
        f"/v1/orchestrations/{orchestration.json()['id']}",
        params={"updateMask": "spec.policies"},
        json={"spec": {"policies": {"retries": {"limit": 5}}}},
    )
    assert patched.json()["spec"]["policies"] == {"retries": {"limit": 5}}
    assert (await http.delete(f"/v1/orchestrations/{orchestration.json()['id']}")).status_code == 200


async def test_runs_over_rest(http, channel):
    namespace = unique("ns")
    await builders.ensure_provider(channel, namespace, "codex")
    agent = (await post(http, "/v1/agents", agent_body(unique("agent"), namespace))).json()
    created = await post(
        http,
        "/v1/agent-runs",
        {
            "namespace": namespace,
            "labels": {"ticket": "jng-1"},
            "spec": {
                "agentRef": {"name": agent["name"]},
                "goal": {"objective": "triage", "tokenBudget": 5000},
                "workload": {"image": "runner:1", "serviceAccountName": "runner"},
                "secrets": ["gh-token"],
            },
        },
    )
    assert created.status_code == 200, created.text
    run = created.json()
    assert run["status"]["phase"] == "Pending"
    assert run["agentId"] == agent["id"]
    assert run["name"].startswith(agent["name"] + "-")
    assert (await http.get(f"/v1/agent-runs/{run['id']}")).json() == run

    by_agent = await http.get("/v1/agent-runs", params={"agentId": agent["id"]})
    assert [r["id"] for r in by_agent.json()["agentRuns"]] == [run["id"]]
    by_phase = await http.get(
        "/v1/agent-runs", params=[("agentName", agent["name"]), ("phase", "Running"), ("phase", "Pending")]
    )
    assert [r["id"] for r in by_phase.json()["agentRuns"]] == [run["id"]]

    view = await http.get(f"/v1/runs/{run['id']}")
    assert view.status_code == 200
    assert view.json()["kind"] == "AgentRun"
    assert view.json()["phase"] == "Pending"
    assert view.json()["parent"] == {"kind": "Agent", "id": agent["id"], "name": agent["name"]}
    assert view.json()["deliveryId"] == run["deliveryId"]

    cancelled = await post(http, f"/v1/agent-runs/{run['id']}:cancel", {"reason": "duplicate"})
    assert cancelled.status_code == 200, cancelled.text
    assert cancelled.json()["status"]["phase"] == "Cancelled"
    again = await post(http, f"/v1/agent-runs/{run['id']}:cancel", {})
    assert again.status_code == 200, again.text
    assert again.json() == cancelled.json()

    orchestration = (
        await post(http, "/v1/orchestrations", orchestration_body(unique("orch"), agent["name"], namespace))
    ).json()
    orun = await post(
        http,
        "/v1/orchestration-runs",
        {"namespace": namespace, "spec": {"orchestrationRef": {"name": orchestration["name"]}}},
    )
    assert orun.status_code == 200, orun.text
    assert [s["kind"] for s in orun.json()["status"]["stepStatuses"]] == ["AgentRun", "ApprovalGate"]
    assert (await http.get(f"/v1/orchestration-runs/{orun.json()['id']}")).json() == orun.json()
    listed = await http.get("/v1/orchestration-runs", params={"orchestrationId": orchestration["id"]})
    assert [r["id"] for r in listed.json()["orchestrationRuns"]] == [orun.json()["id"]]
    listed = await http.get(
        "/v1/orchestration-runs", params={"orchestrationName": orchestration["name"], "phase": "Pending"}
    )
    assert [r["id"] for r in listed.json()["orchestrationRuns"]] == [orun.json()["id"]]
    ocancel = await post(http, f"/v1/orchestration-runs/{orun.json()['id']}:cancel", {})
    assert ocancel.json()["status"]["phase"] == "Cancelled"
    all_runs = await http.get("/v1/runs", params={"namespace": namespace})
    assert {r["kind"] for r in all_runs.json()["runs"]} == {"AgentRun", "OrchestrationRun"}


async def test_missing_parent_is_404(http):
    response = await post(http, "/v1/agent-runs", {"spec": {"agentRef": {"name": unique("ghost")}}})
    assert response.status_code == 404
    assert reason(response.json()) == "AGENT_NOT_FOUND"


async def test_validation_error_shape(http):
    response = await post(http, "/v1/agents", {"name": "Bad_Name", "spec": {"env": [{"name": "1bad"}]}})
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == 3
    assert reason(body) == "INVALID_ARGUMENT"
    violations = next(d for d in body["details"] if d["@type"] == BAD_REQUEST)["fieldViolations"]
    assert {v["field"] for v in violations} == {"name", "spec.providerRef.name", "spec.env[0].name"}
    assert all(v["description"] for v in violations)


# The idempotency table over REST (a missing key, a replay and a reused key: tests/test_conformance.py).


@pytest.mark.parametrize("bad", ["", "two words", "a,b", "k" * 256])
async def test_malformed_key_is_400(http, bad):
    response = await post(http, "/v1/agents", agent_body(unique("agent")), headers={"Idempotency-Key": bad})
    assert response.status_code == 400
    assert reason(response.json()) == "IDEMPOTENCY_KEY_INVALID"


async def test_reused_key_on_another_endpoint_is_422(http):
    headers = key()
    await post(http, "/v1/memories", {"name": unique("mem"), "spec": {"type": "custom"}}, headers)
    response = await post(http, "/v1/agents", agent_body(unique("agent")), headers)
    assert response.status_code == 422


async def test_concurrent_duplicates_over_rest_create_one_agent(http, db):
    headers = key()
    body = agent_body(unique("agent"))
    responses = await asyncio.gather(*(post(http, "/v1/agents", body, headers) for _ in range(8)))
    assert {r.status_code for r in responses} == {200}
    assert len({r.content for r in responses}) == 1
    assert await db.fetchval("SELECT count(*) FROM agents WHERE name = $1", body["name"]) == 1


# What Envoy itself answers.


async def test_unknown_query_parameter_is_400_json(http):
    response = await http.get("/v1/agents", params={"bogus": "1"})
    assert response.status_code == 400
    assert reason(response.json()) == "UNKNOWN_QUERY_PARAMETER"


async def test_unknown_method_is_404_json(http):
    response = await http.put("/v1/agents/x", json={})
    assert response.status_code == 404
    assert reason(response.json()) == "UNKNOWN_METHOD"
    response = await http.get("/v1/nothing-here")
    assert response.status_code == 404


async def test_malformed_json_is_400_json(http):
    response = await http.post(
        "/v1/agents", content=b"{not json", headers={**key(), "content-type": "application/json"}
    )
    assert response.status_code == 400
    assert reason(response.json()) == "MALFORMED_REQUEST"
    wrong_type = await post(http, "/v1/agents", {"name": "x", "labels": "not-a-map"})
    assert wrong_type.status_code == 400
    assert reason(wrong_type.json()) == "MALFORMED_REQUEST"


async def test_body_over_the_limit_is_413(http, db):
    name = unique("big")
    body = agent_body(name)
    body["spec"]["defaults"]["systemPrompt"] = "x" * (1024 * 1024 + 10)
    response = await post(http, "/v1/agents", body)
    assert response.status_code == 413
    assert reason(response.json()) == "REQUEST_TOO_LARGE"
    assert await db.fetchval("SELECT count(*) FROM agents WHERE name = $1", name) == 0


async def test_healthz_follows_the_server(http):
    response = await http.get("/healthz")
    assert response.status_code == 200


async def test_plain_grpc_passes_through_the_same_listener(envoy, http):
    created = (await post(http, "/v1/agents", agent_body(unique("agent")))).json()
    async with grpc.aio.insecure_channel(envoy.grpc_address) as channel:
        reply = await agent_pb2_grpc.AgentServiceStub(channel).GetAgent(
            agent_pb2.GetAgentRequest(id=created["id"])
        )
        assert reply.id == created["id"]
        with pytest.raises(grpc.aio.AioRpcError) as error:
            await agent_pb2_grpc.AgentServiceStub(channel).GetAgent(
                agent_pb2.GetAgentRequest(id=str(uuid.uuid4()))
            )
        assert error.value.code() == grpc.StatusCode.NOT_FOUND
