"""Page tokens through the API: a token a client made up or edited is a 400 on `pageToken` over gRPC and
REST, and the servers on one database accept each other's tokens, across restarts, with no configuration."""

from __future__ import annotations

import asyncio
import base64
import json
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import asyncpg
import grpc
import pytest

from jangar.server.core.kinds import registry
from jangar.server.devstack.processes import free_port
from jangar.server.migrations_runner import upgrade_to_head
from jangar.v1 import agent_pb2, agent_pb2_grpc
from tests import builders
from tests.support import ServerProcess, unique, violated_fields
from tests.transports import TRANSPORTS, Client, GrpcClient, RestClient, refused

AGENT = registry()["Agent"]
NOT_ISSUED = "pageToken: is not a page token issued by this API"


def _b64decode(token: str) -> bytes:
    return base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))


def _b64encode(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _cursor(token: str) -> tuple[bytes, dict[str, Any]]:
    """The tag and the cursor of an issued token (16 bytes of HMAC, then the cursor's JSON)."""
    raw = _b64decode(token)
    return raw[:16], json.loads(raw[16:])


def _edited_under_the_old_tag(token: str, **fields: Any) -> str:
    tag, cursor = _cursor(token)
    return _b64encode(tag + json.dumps({**cursor, **fields}).encode())


def _unsigned(token: str, **fields: Any) -> str:
    """The form this API issued before tokens were signed (the cursor's JSON alone), with the real query
    hash: the forgery that used to reach the database."""
    return _b64encode(json.dumps({**_cursor(token)[1], **fields}).encode())


FORGERIES = {
    # A cursor a row could have: without the tag it would skip rows of the caller's choosing.
    "another-id-under-the-old-tag": lambda t: _edited_under_the_old_tag(t, i=str(uuid.uuid4())),
    "another-time-unsigned": lambda t: _unsigned(t, t="2000-01-01T00:00:00+00:00"),
    # Cursors no row can have: these were 500s before tokens were signed.
    "time-out-of-range-unsigned": lambda t: _unsigned(t, t="0001-01-01T00:00:00+14:00"),
    "integer-id-unsigned": lambda t: _unsigned(t, i=7),
    "time-out-of-range-under-the-old-tag": lambda t: _edited_under_the_old_tag(
        t, t="0001-01-01T00:00:00+14:00"
    ),
}


@pytest.fixture(params=TRANSPORTS)
def client(request: pytest.FixtureRequest) -> Client:
    if request.param == "grpc":
        return GrpcClient(AGENT, request.getfixturevalue("channel"))
    return RestClient(AGENT, request.getfixturevalue("http"))


@pytest.mark.parametrize("forge", FORGERIES.values(), ids=FORGERIES.keys())
async def test_a_forged_token_is_a_400_on_page_token(channel, agents, client, forge):
    namespace = unique("ns")
    for _ in range(3):
        await builders.create_agent(channel, builders.agent(namespace=namespace))
    first, token = await client.list(namespace, page_size=1)
    assert len(first) == 1 and token

    error = await refused(
        client.list(namespace, page_size=1, page_token=forge(token)),
        grpc.StatusCode.INVALID_ARGUMENT,
        400,
        "INVALID_ARGUMENT",
    )
    assert error.violations == ["pageToken"]
    assert NOT_ISSUED in error.message

    # The real token still reads the next page.
    second, _ = await client.list(namespace, page_size=1, page_token=token)
    assert [agent.id for agent in second] != [agent.id for agent in first] and len(second) == 1


# Servers on one database.


@pytest.fixture
async def fresh_database(pg_url: str, db: asyncpg.Pool) -> AsyncIterator[str]:
    """A migrated database of the test's own, so no server has made its key yet."""
    name = f"tokens_{uuid.uuid4().hex[:10]}"
    await db.execute(f"CREATE DATABASE {name}")
    url = pg_url.rsplit("/", 1)[0] + "/" + name
    await asyncio.to_thread(upgrade_to_head, url)
    yield url
    await db.execute(f"DROP DATABASE {name} WITH (FORCE)")


def _server(url: str, work_dir: Path, **env: str) -> ServerProcess:
    return ServerProcess(url, free_port(), work_dir / f"server-{uuid.uuid4().hex[:6]}.log", **env)


async def _list(server: ServerProcess, namespace: str, token: str = "") -> agent_pb2.ListAgentsResponse:
    async with grpc.aio.insecure_channel(server.address) as channel:
        return await agent_pb2_grpc.AgentServiceStub(channel).ListAgents(
            agent_pb2.ListAgentsRequest(namespace=namespace, page_size=1, page_token=token)
        )


async def _start(*servers: ServerProcess) -> None:
    for server in servers:
        server.start(wait=False)
    for server in servers:
        await asyncio.to_thread(server.wait_serving, 60.0)


async def test_servers_on_one_database_accept_each_others_tokens(fresh_database, work_dir):
    first, second = _server(fresh_database, work_dir), _server(fresh_database, work_dir)
    # Started together, so both look for the key before either has made it.
    await _start(first, second)
    try:
        namespace = unique("ns")
        async with grpc.aio.insecure_channel(first.address) as channel:
            created = [
                (await builders.create_agent(channel, builders.agent(namespace=namespace))).id
                for _ in range(4)
            ]
        newest_first = created[::-1]

        page = await _list(first, namespace)
        seen = [agent.id for agent in page.agents]
        page = await _list(second, namespace, page.next_page_token)
        seen += [agent.id for agent in page.agents]
        page = await _list(first, namespace, page.next_page_token)
        seen += [agent.id for agent in page.agents]
        assert seen == newest_first[:3]

        # A restart keeps the key: the token issued before it still reads the last page.
        token = page.next_page_token
        assert first.stop() == 0
        await _start(first)
        page = await _list(first, namespace, token)
        assert [agent.id for agent in page.agents] == newest_first[3:]
        assert not page.next_page_token
    finally:
        first.stop()
        second.stop()

    connection = await asyncpg.connect(fresh_database.replace("postgresql+asyncpg://", "postgresql://"))
    try:
        rows = await connection.fetch("SELECT purpose, key FROM server_keys")
    finally:
        await connection.close()
    assert [row["purpose"] for row in rows] == ["page-tokens"]
    key = rows[0]["key"]
    assert len(key) == 32
    for server in (first, second):
        log = server.log_path.read_text()
        assert key.hex() not in log and base64.b64encode(key).decode() not in log


async def test_a_configured_key_wins_and_refuses_tokens_of_the_stored_one(fresh_database, work_dir):
    stored = _server(fresh_database, work_dir)
    configured = [_server(fresh_database, work_dir, JANGAR_PAGE_TOKEN_KEY="c" * 40) for _ in range(2)]
    await _start(stored, *configured)
    try:
        namespace = unique("ns")
        async with grpc.aio.insecure_channel(stored.address) as channel:
            for _ in range(3):
                await builders.create_agent(channel, builders.agent(namespace=namespace))

        # Changing the key is what invalidates the tokens already out: the client restarts its listing.
        stored_token = (await _list(stored, namespace)).next_page_token
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            await _list(configured[0], namespace, stored_token)
        assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        assert violated_fields(caught.value) == ["pageToken"]

        # Servers with the same configured key accept each other's tokens.
        configured_token = (await _list(configured[0], namespace)).next_page_token
        assert len((await _list(configured[1], namespace, configured_token)).agents) == 1
        for server in configured:
            assert "c" * 40 not in server.log_path.read_text()
    finally:
        for server in (stored, *configured):
            server.stop()
