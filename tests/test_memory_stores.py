"""Memory stores beyond Jangar's own database (docs/memory.md): an external Postgres named by a Secret and
read at use time, the upkeep's status (Ready, Unreachable, Degraded) and retention, and the rule that a
Secret's value never reaches a row, a response or a log line. A server process of the tests' own, with a
secrets directory and a fast upkeep."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import asyncpg
import grpc
import pytest
from aiohttp import web

from jangar.server.devstack.processes import free_port
from jangar.v1 import memory_pb2, memory_pb2_grpc, memory_record_pb2, memory_record_pb2_grpc
from tests import builders
from tests.memory_support import plain, store_database, until, upkeep_server
from tests.support import ServerProcess, reason_of, unique

Phase = memory_pb2.MemoryStatus
Record = memory_record_pb2.MemoryRecord
# The password is the secret; the tests' Postgres trusts local connections, so any password connects.
SECRET = f"s3cret-{unique('pw')}"


@pytest.fixture(scope="module")
async def external_url(pg_url: str) -> str:
    """A database standing for an external Postgres, and its connection string with the secret in it."""
    return await store_database(pg_url, "external", SECRET)


@pytest.fixture(scope="module")
def secrets_dir(work_dir: Path, external_url: str) -> Path:
    root = work_dir / unique("secrets")
    (root / "default" / "ext-db").mkdir(parents=True)
    (root / "default" / "ext-db" / "uri").write_text(external_url + "\n")
    (root / "default" / "embed-key").mkdir(parents=True)
    (root / "default" / "embed-key" / "token").write_text(f"key-{SECRET}")
    (root / "default" / "junk-db").mkdir(parents=True)
    (root / "default" / "junk-db" / "uri").write_text("not a connection string")
    (root / "default" / "bad-db").mkdir(parents=True)
    (root / "default" / "bad-db" / "uri").write_text(
        f"postgresql://postgres:{SECRET}@127.0.0.1:{free_port()}/x"
    )
    return root


@pytest.fixture(scope="module")
async def store_server(own_database, work_dir: Path, secrets_dir: Path):
    process = upkeep_server(
        await own_database("memory_stores"), work_dir, "memory-server", JANGAR_SECRETS_DIR=str(secrets_dir)
    )
    process.start()
    yield process
    process.stop()


@pytest.fixture(scope="module")
async def stubs(store_server: ServerProcess):
    async with grpc.aio.insecure_channel(store_server.address) as channel:
        yield (
            memory_pb2_grpc.MemoryServiceStub(channel),
            memory_record_pb2_grpc.MemoryRecordServiceStub(channel),
        )


async def _create(memories, **spec: Any) -> memory_pb2.Memory:
    memory = memory_pb2.Memory(
        name=unique("mem"), spec=memory_pb2.MemorySpec(type=memory_pb2.MemorySpec.postgres, **spec)
    )
    return await memories.CreateMemory(memory_pb2.CreateMemoryRequest(memory=memory), metadata=builders.key())


async def _phase(memories, memory: memory_pb2.Memory, phase: int) -> memory_pb2.Memory:
    async def reached() -> memory_pb2.Memory | None:
        current = await memories.GetMemory(memory_pb2.GetMemoryRequest(id=memory.id))
        return current if current.status.phase == phase else None

    return await until(reached)


def _ready(memory: memory_pb2.Memory) -> Any:
    return next(c for c in memory.status.conditions if c.type == "Ready")


async def _logged(server: ServerProcess, text: str) -> bool:
    return text in server.log_path.read_text()


async def _rows_as_text(url: str) -> list[str]:
    """Every row of every table of a database, as text."""
    connection = await asyncpg.connect(plain(url))
    try:
        tables = await connection.fetch(
            "SELECT table_schema, table_name FROM information_schema.tables "
            "WHERE table_type = 'BASE TABLE' AND table_schema NOT IN ('pg_catalog', 'information_schema')"
        )
        found = []
        for table in tables:
            rows = await connection.fetch(f'SELECT t::text AS row FROM "{table[0]}"."{table[1]}" t')
            found.extend(r["row"] for r in rows)
        return found
    finally:
        await connection.close()


async def test_external_store_through_a_secret(stubs, store_server, external_url):
    memories, records = stubs
    memory = await _create(memories, connection={"secret_ref": {"name": "ext-db", "key": "uri"}})
    written = await records.WriteMemoryRecords(
        memory_record_pb2.WriteMemoryRecordsRequest(
            id=memory.id, records=[Record(kind=Record.document, text="the external store keeps this")]
        ),
        metadata=builders.key(),
    )
    hits = await records.QueryMemory(
        memory_record_pb2.QueryMemoryRequest(
            memory_id=memory.id, query="external store", mode=memory_record_pb2.QueryMemoryRequest.lexical
        )
    )
    assert [h.id for h in hits.hits] == [written.records[0].id]
    schema = f"memory_{memory.id.replace('-', '')}"
    external = await asyncpg.connect(plain(external_url))
    try:
        assert await external.fetchval(f"SELECT count(*) FROM {schema}.records") == 1
        ready = await _phase(memories, memory, Phase.Ready)
        assert (_ready(ready).status, _ready(ready).reason) == ("True", "StoreReady")
        # The Memory's row names the Secret only.
        row = await external.fetchval("SELECT 1")  # the external database is reachable with the secret
        assert row == 1
        await memories.DeleteMemory(memory_pb2.DeleteMemoryRequest(id=memory.id))
        assert not await external.fetchval("SELECT count(*) FROM pg_namespace WHERE nspname = $1", schema)
    finally:
        await external.close()


async def test_first_uses_of_stores_on_one_new_database_all_succeed(stubs, secrets_dir, pg_url):
    """Several Memories on one external database that has nothing yet (no extensions, no schemas), all
    written at once: each first use provisions the database, and none fails on another's half-done
    `CREATE EXTENSION`."""
    memories, records = stubs
    url = await store_database(pg_url, "shared", SECRET)
    secret = unique("shared-db")
    (secrets_dir / "default" / secret).mkdir(parents=True)
    (secrets_dir / "default" / secret / "uri").write_text(url + "\n")
    created = [
        await _create(memories, connection={"secret_ref": {"name": secret, "key": "uri"}}) for _ in range(6)
    ]

    async def write(memory: memory_pb2.Memory) -> str:
        written = await records.WriteMemoryRecords(
            memory_record_pb2.WriteMemoryRecordsRequest(
                id=memory.id, records=[Record(kind=Record.event, text=f"first of {memory.name}")]
            ),
            metadata=builders.key(),
        )
        return written.records[0].id

    ids = await asyncio.gather(*(write(memory) for memory in created))
    assert len(set(ids)) == len(created)
    database = await asyncpg.connect(plain(url))
    try:
        for memory in created:
            schema = f"memory_{memory.id.replace('-', '')}"
            assert await database.fetchval(f"SELECT count(*) FROM {schema}.records") == 1
    finally:
        await database.close()


async def test_missing_or_unreachable_stores_are_unreachable(stubs):
    memories, records = stubs
    missing = await _create(memories, connection={"secret_ref": {"name": "no-such-secret", "key": "uri"}})
    refused = await _create(memories, connection={"secret_ref": {"name": "bad-db", "key": "uri"}})
    gone = await _phase(memories, missing, Phase.Unreachable)
    assert (_ready(gone).status, _ready(gone).reason) == ("False", "SecretUnavailable")
    assert "no-such-secret" in _ready(gone).message
    down = await _phase(memories, refused, Phase.Unreachable)
    assert _ready(down).reason == "StoreUnavailable"
    junk = await _create(memories, connection={"secret_ref": {"name": "junk-db", "key": "uri"}})
    degraded = await _phase(memories, junk, Phase.Degraded)
    assert _ready(degraded).reason == "ConnectionInvalid"
    with pytest.raises(grpc.aio.AioRpcError) as failed:
        await records.WriteMemoryRecords(
            memory_record_pb2.WriteMemoryRecordsRequest(
                id=missing.id, records=[Record(kind=Record.event, text="x")]
            ),
            metadata=builders.key(),
        )
    assert failed.value.code() == grpc.StatusCode.UNAVAILABLE
    assert reason_of(failed.value) == "MEMORY_SECRET_UNAVAILABLE"
    # Delete works even though the store cannot be reached.
    await memories.DeleteMemory(memory_pb2.DeleteMemoryRequest(id=missing.id))


async def test_an_embedded_store_without_its_schema_is_degraded(stubs, store_server):
    memories, _ = stubs
    memory = await _create(memories)
    await _phase(memories, memory, Phase.Ready)
    connection = await asyncpg.connect(plain(store_server.database_url))
    try:
        await connection.execute(f"DROP SCHEMA memory_{memory.id.replace('-', '')} CASCADE")
    finally:
        await connection.close()
    degraded = await _phase(memories, memory, Phase.Degraded)
    assert _ready(degraded).reason == "StoreMissing"
    _, records = stubs
    with pytest.raises(grpc.aio.AioRpcError) as missing:
        await records.QueryMemory(memory_record_pb2.QueryMemoryRequest(memory_id=memory.id, query="x"))
    assert missing.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert reason_of(missing.value) == "MEMORY_STORE_MISSING"


async def test_a_memory_moved_to_the_embedded_store_gets_one_and_loses_it_on_delete(
    stubs, store_server, external_url
):
    memories, records = stubs
    memory = await _create(memories, connection={"secret_ref": {"name": "ext-db", "key": "uri"}})
    await records.WriteMemoryRecords(
        memory_record_pb2.WriteMemoryRecordsRequest(
            id=memory.id, records=[Record(kind=Record.event, text="far")]
        ),
        metadata=builders.key(),
    )
    moved = await memories.UpdateMemory(
        memory_pb2.UpdateMemoryRequest(
            id=memory.id,
            memory=memory_pb2.Memory(spec={"type": memory_pb2.MemorySpec.postgres}),
            update_mask={"paths": ["spec.connection"]},
        )
    )
    assert not moved.spec.HasField("connection")
    await records.WriteMemoryRecords(
        memory_record_pb2.WriteMemoryRecordsRequest(
            id=memory.id, records=[Record(kind=Record.event, text="near")]
        ),
        metadata=builders.key(),
    )
    listed = await records.ListMemoryRecords(memory_record_pb2.ListMemoryRecordsRequest(id=memory.id))
    assert [r.text for r in listed.records] == ["near"]  # records are not moved
    await memories.DeleteMemory(memory_pb2.DeleteMemoryRequest(id=memory.id))
    schema = f"memory_{memory.id.replace('-', '')}"
    own = await asyncpg.connect(plain(store_server.database_url))
    external = await asyncpg.connect(plain(external_url))
    try:
        assert not await own.fetchval("SELECT count(*) FROM pg_namespace WHERE nspname = $1", schema)
        # The external store the Memory left is no longer its store: its data stays for its owner to drop.
        assert await external.fetchval(f"SELECT text FROM {schema}.records") == "far"
    finally:
        await own.close()
        await external.close()


async def test_retention_deletes_expired_records(stubs, store_server):
    memories, records = stubs
    memory = await _create(memories, retention={"ttl_days": 1})
    await records.WriteMemoryRecords(
        memory_record_pb2.WriteMemoryRecordsRequest(
            id=memory.id,
            records=[Record(kind=Record.event, text="old"), Record(kind=Record.event, text="new")],
        ),
        metadata=builders.key(),
    )
    schema = f"memory_{memory.id.replace('-', '')}"
    connection = await asyncpg.connect(plain(store_server.database_url))
    try:
        await connection.execute(
            f"UPDATE {schema}.records SET created_at = now() - interval '2 days' WHERE text = 'old'"
        )

        async def only_new() -> bool:
            texts = await connection.fetch(f"SELECT text FROM {schema}.records")
            return [r["text"] for r in texts] == ["new"]

        await until(only_new)
    finally:
        await connection.close()


async def test_the_secret_never_reaches_a_row_a_response_or_a_log(stubs, store_server, external_url):
    memories, records = stubs
    memory = await _create(memories, connection={"secret_ref": {"name": "ext-db", "key": "uri"}})
    bad = await _create(memories, connection={"secret_ref": {"name": "bad-db", "key": "uri"}})
    responses: list[bytes] = [memory.SerializeToString(), bad.SerializeToString()]
    write = await records.WriteMemoryRecords(
        memory_record_pb2.WriteMemoryRecordsRequest(
            id=memory.id, records=[Record(kind=Record.kv, key="k", text="v")]
        ),
        metadata=builders.key(),
    )
    responses.append(write.SerializeToString())
    for target in (memory, bad):
        await _phase(memories, target, Phase.Ready if target is memory else Phase.Unreachable)
        responses.append(
            (await memories.GetMemory(memory_pb2.GetMemoryRequest(id=target.id))).SerializeToString()
        )
        listed = await memories.ListMemories(memory_pb2.ListMemoriesRequest())
        responses.append(listed.SerializeToString())
    with pytest.raises(grpc.aio.AioRpcError) as failed:
        await records.QueryMemory(memory_record_pb2.QueryMemoryRequest(memory_id=bad.id, query="x"))
    responses.append(str(failed.value.details()).encode() + str(failed.value.trailing_metadata()).encode())
    await memories.DeleteMemory(memory_pb2.DeleteMemoryRequest(id=bad.id))

    assert all(SECRET.encode() not in r for r in responses)
    for url in (store_server.database_url, external_url):
        rows = await _rows_as_text(url)
        assert rows, "the check must have read some rows"
        assert not [r for r in rows if SECRET in r]
    # The failed drop of the unreachable store is logged, without the connection string.
    await until(lambda: _logged(store_server, f"deleted Memory default/{bad.name} was not dropped"))
    assert SECRET not in store_server.log_path.read_text()


def test_the_secrets_directory_stays_inside_its_root(tmp_path):
    from jangar.server.core.secrets import SecretUnavailable
    from jangar.server.runtime.secrets import DirectorySecrets

    (tmp_path / "outside").write_text("nope")
    (tmp_path / "root" / "ns" / "name").mkdir(parents=True)
    (tmp_path / "root" / "ns" / "name" / "key").write_text("value\n")
    secrets = DirectorySecrets(tmp_path / "root")
    assert asyncio.run(secrets.read("ns", "name", "key")) == "value"
    for namespace, name, key in [("..", "x", "outside"), ("ns", "..", "key"), ("ns", "name", "../name/key")]:
        with pytest.raises(SecretUnavailable):
            asyncio.run(secrets.read(namespace, name, key))


@pytest.fixture(scope="module")
async def embedding_endpoint():
    """An OpenAI-compatible embeddings API: a text's embedding is [len(text), 1, 0, 0.5]."""
    seen: list[tuple[str, dict[str, Any]]] = []

    async def embeddings(request: web.Request) -> web.Response:
        body = await request.json()
        seen.append((request.headers.get("Authorization", ""), body))
        data = [
            {"index": i, "embedding": [float(len(t)), 1.0, 0.0, 0.5]} for i, t in enumerate(body["input"])
        ]
        return web.json_response({"object": "list", "data": data, "model": body["model"]})

    app = web.Application()
    app.router.add_post("/v1/embeddings", embeddings)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    yield f"http://127.0.0.1:{port}/v1", seen
    await runner.cleanup()


async def test_an_external_embedding_endpoint_with_its_key_from_a_secret(
    stubs, embedding_endpoint, store_server
):
    memories, records = stubs
    url, seen = embedding_endpoint
    embeddings = {
        "endpoint": url,
        "model": "test-model",
        "dimension": 4,
        "api_key_secret_ref": {"name": "embed-key", "key": "token"},
    }
    memory = await _create(memories, embeddings=embeddings)
    await records.WriteMemoryRecords(
        memory_record_pb2.WriteMemoryRecordsRequest(
            id=memory.id, records=[Record(kind=Record.document, text=t) for t in ("a", "bbbb", "cccccccc")]
        ),
        metadata=builders.key(),
    )
    assert seen[-1] == (f"Bearer key-{SECRET}", {"model": "test-model", "input": ["a", "bbbb", "cccccccc"]})
    hits = await records.QueryMemory(
        memory_record_pb2.QueryMemoryRequest(
            memory_id=memory.id, query="dddd", mode=memory_record_pb2.QueryMemoryRequest.vector
        )
    )
    assert hits.hits[0].text == "bbbb" and hits.hits[0].score == pytest.approx(1.0)
    # An embedding of another dimension is refused.
    with pytest.raises(grpc.aio.AioRpcError) as wrong:
        await records.WriteMemoryRecords(
            memory_record_pb2.WriteMemoryRecordsRequest(
                id=memory.id, records=[Record(kind=Record.event, embedding=[1.0] * 256)]
            ),
            metadata=builders.key(),
        )
    assert wrong.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert SECRET not in store_server.log_path.read_text()


async def test_an_unreachable_embedding_endpoint_is_unavailable_and_writes_nothing(stubs):
    memories, records = stubs
    memory = await _create(
        memories, embeddings={"endpoint": f"http://127.0.0.1:{free_port()}/v1", "model": "m", "dimension": 4}
    )
    with pytest.raises(grpc.aio.AioRpcError) as failed:
        await records.WriteMemoryRecords(
            memory_record_pb2.WriteMemoryRecordsRequest(
                id=memory.id, records=[Record(kind=Record.event, text="x")]
            ),
            metadata=builders.key(),
        )
    assert failed.value.code() == grpc.StatusCode.UNAVAILABLE
    assert reason_of(failed.value) == "EMBEDDING_ENDPOINT_FAILED"
    listed = await records.ListMemoryRecords(memory_record_pb2.ListMemoryRecordsRequest(id=memory.id))
    assert list(listed.records) == []


async def test_the_secret_is_read_at_every_use(stubs, secrets_dir, external_url):
    memories, records = stubs
    (secrets_dir / "default" / "rotating").mkdir()
    uri = secrets_dir / "default" / "rotating" / "uri"
    uri.write_text(external_url)
    memory = await _create(memories, connection={"secret_ref": {"name": "rotating", "key": "uri"}})

    async def write() -> memory_record_pb2.WriteMemoryRecordsResponse:
        return await records.WriteMemoryRecords(
            memory_record_pb2.WriteMemoryRecordsRequest(
                id=memory.id, records=[Record(kind=Record.event, text="e")]
            ),
            metadata=builders.key(),
        )

    await write()
    # The Secret now names a server that is not there: the next use reads it and fails.
    uri.write_text(f"postgresql://postgres:{SECRET}@127.0.0.1:{free_port()}/gone")
    with pytest.raises(grpc.aio.AioRpcError) as moved:
        await write()
    assert reason_of(moved.value) == "MEMORY_STORE_UNAVAILABLE"
    uri.write_text(external_url)
    await write()
    listed = await records.ListMemoryRecords(memory_record_pb2.ListMemoryRecordsRequest(id=memory.id))
    assert len(listed.records) == 2
