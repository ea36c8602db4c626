"""Memories as stores (docs/memory.md): writes, kv, lists, deletes and queries of an embedded `postgres`
Memory, over gRPC and REST, against the session's real server and Postgres."""

from __future__ import annotations

import grpc
import pytest

from jangar.server.domain.memory_records import HYBRID_DEPTH, RRF_K
from jangar.server.repository.memory_store import LEXICAL_CANDIDATES
from jangar.v1 import memory_pb2, memory_pb2_grpc, memory_record_pb2, memory_record_pb2_grpc
from tests import builders
from tests.support import reason_of, unique, violated_fields

Record = memory_record_pb2.MemoryRecord
Mode = memory_record_pb2.QueryMemoryRequest.Mode

# A small fixed corpus: each query below has one record it must put first.
CORPUS = [
    ("doc-cat", "The cat sleeps all afternoon on the warm windowsill.", {"topic": "pets", "lang": "en"}),
    (
        "doc-vacuum",
        "Postgres vacuum reclaims the space of dead tuples in a table.",
        {"topic": "db", "lang": "en"},
    ),
    (
        "doc-pods",
        "Kubernetes schedules pods onto nodes that have room for them.",
        {"topic": "k8s", "lang": "en"},
    ),
    (
        "doc-index",
        "An HNSW index answers nearest neighbour queries over embeddings.",
        {"topic": "db", "lang": "en"},
    ),
    (
        "doc-bread",
        "Knead the dough, let it rise overnight, then bake the bread.",
        {"topic": "food", "lang": "en"},
    ),
]


@pytest.fixture(scope="module")
def records(channel: grpc.aio.Channel) -> memory_record_pb2_grpc.MemoryRecordServiceStub:
    return memory_record_pb2_grpc.MemoryRecordServiceStub(channel)


async def _embedded_memory(memories: memory_pb2_grpc.MemoryServiceStub, **spec: object) -> memory_pb2.Memory:
    memory = memory_pb2.Memory(
        name=unique("mem"),
        namespace="default",
        spec=memory_pb2.MemorySpec(type=memory_pb2.MemorySpec.postgres, **spec),
    )
    return await memories.CreateMemory(memory_pb2.CreateMemoryRequest(memory=memory), metadata=builders.key())


def _document(key: str, text: str, metadata: dict[str, str], kind: int = Record.document) -> Record:
    return Record(kind=kind, key=key, text=text, metadata=metadata)


async def _write(records, memory: memory_pb2.Memory, items: list[Record], key=None):
    request = memory_record_pb2.WriteMemoryRecordsRequest(id=memory.id, records=items)
    return await records.WriteMemoryRecords(request, metadata=key or builders.key())


@pytest.fixture(scope="module")
async def corpus(memories, records) -> memory_pb2.Memory:
    memory = await _embedded_memory(memories)
    await _write(records, memory, [_document(*item) for item in CORPUS])
    return memory


async def _query(records, memory: memory_pb2.Memory, **fields: object) -> list[memory_record_pb2.MemoryHit]:
    request = memory_record_pb2.QueryMemoryRequest(
        namespace=memory.namespace, memory_ref={"name": memory.name}, **fields
    )
    return list((await records.QueryMemory(request)).hits)


async def _count(db, memory: memory_pb2.Memory) -> int:
    schema = f"memory_{memory.id.replace('-', '')}"
    return await db.fetchval(f"SELECT count(*) FROM {schema}.records")


async def test_an_embedded_memory_gets_its_own_store_and_loses_it_on_delete(memories, records, db):
    memory = await _embedded_memory(memories)
    schema = f"memory_{memory.id.replace('-', '')}"
    assert await db.fetchval("SELECT to_regclass($1) IS NOT NULL", f"{schema}.records")
    await _write(records, memory, [_document("a", "some text", {})])
    assert await _count(db, memory) == 1
    await memories.DeleteMemory(memory_pb2.DeleteMemoryRequest(id=memory.id))
    assert not await db.fetchval("SELECT to_regclass($1) IS NOT NULL", f"{schema}.records")
    assert not await db.fetchval("SELECT count(*) FROM pg_namespace WHERE nspname = $1", schema)


async def test_write_is_idempotent(memories, records, db):
    memory = await _embedded_memory(memories)
    key = builders.key()
    items = [_document("a", "first", {"n": "1"}), _document("b", "second", {"n": "2"})]
    call = records.WriteMemoryRecords(
        memory_record_pb2.WriteMemoryRecordsRequest(id=memory.id, records=items), metadata=key
    )
    first = await call
    assert [r.text for r in first.records] == ["first", "second"]
    assert all(r.id and r.create_time.seconds for r in first.records)
    again = records.WriteMemoryRecords(
        memory_record_pb2.WriteMemoryRecordsRequest(id=memory.id, records=items), metadata=key
    )
    assert await again == first
    assert ("idempotent-replayed", "true") in tuple(await again.initial_metadata())
    assert await _count(db, memory) == 2
    with pytest.raises(grpc.aio.AioRpcError) as reused:
        await _write(records, memory, items[:1], key=key)
    assert reason_of(reused.value) == "IDEMPOTENCY_KEY_REUSED"
    with pytest.raises(grpc.aio.AioRpcError) as missing:
        await records.WriteMemoryRecords(
            memory_record_pb2.WriteMemoryRecordsRequest(id=memory.id, records=items)
        )
    assert reason_of(missing.value) == "IDEMPOTENCY_KEY_MISSING"
    assert await _count(db, memory) == 2


async def test_batch_limits_and_bad_records_write_nothing(memories, records, db):
    memory = await _embedded_memory(memories)
    with pytest.raises(grpc.aio.AioRpcError) as too_many:
        await _write(records, memory, [_document(f"k{i}", "text", {}) for i in range(501)])
    assert too_many.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert violated_fields(too_many.value) == ["records"]
    with pytest.raises(grpc.aio.AioRpcError) as empty:
        await _write(records, memory, [])
    assert violated_fields(empty.value) == ["records"]
    bad = [
        _document("ok", "fine", {}),
        Record(text="no kind"),
        Record(kind=Record.kv, text="kv without a key"),
        Record(kind=Record.document),
        Record(kind=Record.event, text="wrong size", embedding=[0.1, 0.2]),
        Record(kind=Record.kv, key="dup", text="1"),
        Record(kind=Record.kv, key="dup", text="2"),
    ]
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await _write(records, memory, bad)
    assert violated_fields(refused.value) == [
        "records[1].kind",
        "records[2].key",
        "records[3].text",
        "records[4].embedding",
        "records[6].key",
    ]
    await _write(records, memory, [_document(f"k{i}", "text", {}) for i in range(500)])
    assert await _count(db, memory) == 500


async def test_kv_put_get_replace_list_and_delete(memories, records):
    memory = await _embedded_memory(memories)
    put = memory_record_pb2.PutMemoryValueRequest(id=memory.id, key="greeting", record=Record(text="hello"))
    first = await records.PutMemoryValue(put)
    assert (first.kind, first.key, first.text) == (Record.kv, "greeting", "hello")
    put.record.text = "bonjour"
    put.record.metadata["lang"] = "fr"
    replaced = await records.PutMemoryValue(put)
    assert replaced.id == first.id
    got = await records.GetMemoryValue(memory_record_pb2.GetMemoryValueRequest(id=memory.id, key="greeting"))
    assert (got.text, dict(got.metadata)) == ("bonjour", {"lang": "fr"})
    # A kv record written in a batch replaces by key too.
    await _write(
        records,
        memory,
        [Record(kind=Record.kv, key="greeting", text="hola"), _document("", "an event", {}, Record.event)],
    )
    listed = await records.ListMemoryRecords(
        memory_record_pb2.ListMemoryRecordsRequest(id=memory.id, page_size=1)
    )
    assert len(listed.records) == 1 and listed.next_page_token
    rest = await records.ListMemoryRecords(
        memory_record_pb2.ListMemoryRecordsRequest(
            id=memory.id, page_size=1, page_token=listed.next_page_token
        )
    )
    assert {r.text for r in [*listed.records, *rest.records]} == {"hola", "an event"}
    assert not rest.next_page_token
    only_kv = await records.ListMemoryRecords(
        memory_record_pb2.ListMemoryRecordsRequest(id=memory.id, kind=Record.kv)
    )
    assert [r.text for r in only_kv.records] == ["hola"]
    await records.DeleteMemoryRecord(
        memory_record_pb2.DeleteMemoryRecordRequest(id=memory.id, record_id=first.id)
    )
    with pytest.raises(grpc.aio.AioRpcError) as gone:
        await records.GetMemoryValue(memory_record_pb2.GetMemoryValueRequest(id=memory.id, key="greeting"))
    assert gone.value.code() == grpc.StatusCode.NOT_FOUND
    with pytest.raises(grpc.aio.AioRpcError) as twice:
        await records.DeleteMemoryRecord(
            memory_record_pb2.DeleteMemoryRecordRequest(id=memory.id, record_id=first.id)
        )
    assert twice.value.code() == grpc.StatusCode.NOT_FOUND


async def test_lexical_ranks_full_text_then_trigrams(corpus, records):
    hits = await _query(records, corpus, query="dead tuples", mode=Mode.lexical)
    assert hits[0].key == "doc-vacuum"
    assert hits[0].lexical_rank == 1 and hits[0].vector_rank == 0 and hits[0].score > 0
    # Misspelled: full text finds nothing, trigram similarity finds the record.
    misspelled = await _query(records, corpus, query="kubernetse", mode=Mode.lexical)
    assert misspelled and misspelled[0].key == "doc-pods"


async def test_lexical_puts_records_with_every_term_first_past_the_candidate_bound(memories, records):
    """More records match one of the terms than lexical ranks (LEXICAL_CANDIDATES a tier), each repeating it
    so that it would outrank the one record with both terms if every match were ranked alike; that record,
    written last, still comes first, and records with one of the terms fill the rest."""
    memory = await _embedded_memory(memories)
    crowd = [
        _document(f"crowd-{i}", f"harbour harbour harbour harbour lights number {i}", {})
        for i in range(LEXICAL_CANDIDATES + 50)
    ]
    for start in range(0, len(crowd), 500):
        await _write(records, memory, crowd[start : start + 500])
    await _write(records, memory, [_document("both", "The harbour pilot came aboard at dawn.", {})])
    hits = await _query(records, memory, query="harbour pilot", mode=Mode.lexical, limit=20)
    assert hits[0].key == "both" and hits[0].lexical_rank == 1
    assert len(hits) == 20 and all(h.key.startswith("crowd-") for h in hits[1:])


async def test_vector_ranks_by_cosine_similarity(corpus, records):
    hits = await _query(records, corpus, query="cats sleeping on the windowsill", mode=Mode.vector, limit=3)
    assert hits[0].key == "doc-cat"
    assert hits[0].vector_rank == 1 and hits[0].lexical_rank == 0
    assert len(hits) == 3 and hits[0].score >= hits[1].score >= hits[2].score


async def test_vector_query_with_an_embedding_of_its_own(memories, records):
    memory = await _embedded_memory(memories)
    axis = [[1.0 if i == j else 0.0 for i in range(256)] for j in range(3)]
    await _write(
        records, memory, [Record(kind=Record.document, key=f"axis-{j}", embedding=axis[j]) for j in range(3)]
    )
    near_two = [0.1] * 256
    near_two[2] = 5.0
    hits = await _query(records, memory, embedding=near_two, mode=Mode.vector)
    assert hits[0].key == "axis-2"
    assert hits[0].score > 0.9 > hits[1].score
    with pytest.raises(grpc.aio.AioRpcError) as wrong:
        await _query(records, memory, embedding=[1.0, 2.0], mode=Mode.vector)
    assert violated_fields(wrong.value) == ["embedding"]


async def test_hybrid_fuses_both_rankings_and_is_the_default(corpus, records):
    hits = await _query(records, corpus, query="nearest neighbour embeddings index")
    assert hits[0].key == "doc-index"
    assert hits[0].lexical_rank == 1 and hits[0].vector_rank >= 1
    assert hits[0].score == pytest.approx(1 / (60 + hits[0].lexical_rank) + 1 / (60 + hits[0].vector_rank))
    assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)


def _fused(
    lexical: list[memory_record_pb2.MemoryHit], vector: list[memory_record_pb2.MemoryHit]
) -> list[tuple[str, float, int, int]]:
    """Reciprocal rank fusion written out (what Postgres computes for a hybrid query): (record id, score,
    lexical rank, vector rank), best first, equal scores by id."""
    ranks: dict[str, list[int]] = {}
    for which, ranking in enumerate((lexical, vector)):
        for rank, hit in enumerate(ranking, start=1):
            ranks.setdefault(hit.id, [0, 0])[which] = rank
    fused = [(i, sum(1.0 / (RRF_K + r) for r in pair if r), pair[0], pair[1]) for i, pair in ranks.items()]
    return sorted(fused, key=lambda item: (-item[1], item[0]))


@pytest.mark.parametrize(
    "fields",
    [
        {"query": "nearest neighbour embeddings index"},
        {"query": "the bread and the cat", "limit": 3},
        {"query": "kubernetse"},  # full text matches nothing: the lexical ranking is by trigrams
        {"query": "index tuples table", "filter": {"metadata": {"topic": "db"}}},
        {"query": "zzzzqqq"},  # no lexical match at all: the vector ranking alone
        {"embedding": [0.5] * 256},  # no text: no lexical ranking
    ],
)
async def test_hybrid_is_the_fusion_of_the_lexical_and_vector_modes(corpus, records, fields):
    """Hybrid fuses the two rankings as each mode alone returns them (HYBRID_DEPTH deep): same hits, same
    order, same scores and ranks."""
    limit = fields.pop("limit", 10)
    hybrid = await _query(records, corpus, mode=Mode.hybrid, limit=limit, **fields)
    lexical = (
        await _query(records, corpus, mode=Mode.lexical, limit=HYBRID_DEPTH, **fields)
        if fields.get("query")
        else []
    )
    vector = await _query(records, corpus, mode=Mode.vector, limit=HYBRID_DEPTH, **fields)
    expected = _fused(lexical, vector)[:limit]
    # Hybrid ranks ids only and reads its winners' columns after; each mode alone returns them with the rank.
    alone = {h.id: h for h in [*lexical, *vector]}
    assert [(h.id, h.lexical_rank, h.vector_rank) for h in hybrid] == [
        (record_id, lexical_rank, vector_rank) for record_id, _, lexical_rank, vector_rank in expected
    ]
    assert [h.score for h in hybrid] == pytest.approx([score for _, score, *_ in expected])
    assert [(h.key, h.kind, h.text, h.text_truncated, dict(h.metadata)) for h in hybrid] == [
        (a.key, a.kind, a.text, a.text_truncated, dict(a.metadata)) for a in (alone[i] for i, *_ in expected)
    ]


async def test_filters_limit_and_min_score(corpus, records):
    db_only = await _query(
        records, corpus, query="index tuples table", filter={"metadata": {"topic": "db"}}, limit=10
    )
    assert {h.key for h in db_only} == {"doc-vacuum", "doc-index"}
    assert all(h.metadata["topic"] == "db" for h in db_only)
    nothing = await _query(records, corpus, query="bread", filter={"metadata": {"topic": "db", "lang": "fr"}})
    assert nothing == []
    events = await _query(records, corpus, query="bread", filter={"kind": Record.event})
    assert events == []
    one = await _query(records, corpus, query="the", mode=Mode.vector, limit=1)
    assert len(one) == 1
    high = await _query(records, corpus, query="dough bread", mode=Mode.vector, min_score=0.99)
    assert high == []
    with pytest.raises(grpc.aio.AioRpcError) as too_many:
        await _query(records, corpus, query="x", limit=101)
    assert violated_fields(too_many.value) == ["limit"]


async def test_query_names_its_memory(records, corpus):
    with pytest.raises(grpc.aio.AioRpcError) as unnamed:
        await records.QueryMemory(memory_record_pb2.QueryMemoryRequest(query="x"))
    assert violated_fields(unnamed.value) == ["memoryRef.name"]
    with pytest.raises(grpc.aio.AioRpcError) as missing:
        await records.QueryMemory(
            memory_record_pb2.QueryMemoryRequest(memory_ref={"name": unique("none")}, query="x")
        )
    assert missing.value.code() == grpc.StatusCode.NOT_FOUND
    by_id = await records.QueryMemory(
        memory_record_pb2.QueryMemoryRequest(memory_id=corpus.id, query="dough")
    )
    assert by_id.hits[0].key == "doc-bread"


async def test_rest_writes_and_queries_through_envoy(http, corpus, db):
    body = {"records": [{"kind": "event", "text": "the deploy finished", "metadata": {"topic": "ops"}}]}
    headers = {"Idempotency-Key": f"rest-{unique()}"}
    written = await http.post(f"/v1/memories/{corpus.id}/records", json=body, headers=headers)
    assert written.status_code == 200, written.text
    [record] = written.json()["records"]
    assert record["kind"] == "event" and record["id"]
    again = await http.post(f"/v1/memories/{corpus.id}/records", json=body, headers=headers)
    assert again.json() == written.json() and again.headers["idempotent-replayed"] == "true"
    no_key = await http.post(f"/v1/memories/{corpus.id}/records", json=body)
    assert no_key.status_code == 400 and no_key.json()["details"][0]["reason"] == "IDEMPOTENCY_KEY_MISSING"

    query = {
        "namespace": "default",
        "memoryRef": {"name": corpus.name},
        "query": "deploy finished",
        "mode": "lexical",
    }
    found = await http.post("/v1/memory-queries", json=query)
    assert found.status_code == 200, found.text
    assert found.json()["hits"][0]["id"] == record["id"]
    assert found.json()["hits"][0]["lexicalRank"] == 1
    # A query takes an Idempotency-Key and ignores it: the same key with another query is no reuse.
    keyed = await http.post("/v1/memory-queries", json=query, headers=headers)
    assert keyed.status_code == 200 and "idempotent-replayed" not in keyed.headers
    bad = await http.post("/v1/memory-queries", json={**query, "limit": 500})
    assert bad.status_code == 400
    [violations] = [d["fieldViolations"] for d in bad.json()["details"] if "fieldViolations" in d]
    assert [v["field"] for v in violations] == ["limit"]

    kv = await http.put(f"/v1/memories/{corpus.id}/kv/color", json={"text": "blue"})
    assert kv.status_code == 200 and kv.json()["kind"] == "kv"
    got = await http.get(f"/v1/memories/{corpus.id}/kv/color")
    assert got.json()["text"] == "blue"
    listed = await http.get(f"/v1/memories/{corpus.id}/records", params={"kind": "kv"})
    assert [r["key"] for r in listed.json()["records"]] == ["color"]
    deleted = await http.delete(f"/v1/memories/{corpus.id}/records/{record['id']}")
    assert deleted.status_code == 200


async def test_records_need_a_postgres_memory(memories, records):
    custom = memory_pb2.Memory(
        name=unique("mem"), spec=memory_pb2.MemorySpec(type=memory_pb2.MemorySpec.custom)
    )
    created = await memories.CreateMemory(
        memory_pb2.CreateMemoryRequest(memory=custom), metadata=builders.key()
    )
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await _write(records, created, [_document("a", "b", {})])
    assert reason_of(refused.value) == "MEMORY_TYPE_UNSUPPORTED"


@pytest.mark.parametrize(
    ("spec", "fields"),
    [
        (
            {"embeddings": {"endpoint": "https://embed.example/v1"}},
            ["spec.embeddings.model", "spec.embeddings.dimension"],
        ),
        ({"embeddings": {"endpoint": "ftp://x", "model": "m", "dimension": 8}}, ["spec.embeddings.endpoint"]),
        ({"embeddings": {"dimension": 512}}, ["spec.embeddings.dimension"]),
        (
            {"embeddings": {"endpoint": "http://e", "model": "m", "dimension": 4096}},
            ["spec.embeddings.dimension"],
        ),
        ({"embeddings": {"api_key_secret_ref": {"name": "k"}}}, ["spec.embeddings.apiKeySecretRef.key"]),
        (
            {"connection": {"cluster_ref": {"name": "pg"}, "secret_ref": {"name": "s", "key": "uri"}}},
            ["spec.connection"],
        ),
        ({"retention": {"ttl_days": -1}}, ["spec.retention.ttlDays"]),
    ],
)
async def test_memory_spec_rules(memories, spec, fields):
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await _embedded_memory(memories, **spec)
    assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert violated_fields(refused.value) == fields


async def test_the_embedding_dimension_cannot_change(memories):
    memory = await _embedded_memory(memories)
    patch = memory_pb2.Memory(
        spec=memory_pb2.MemorySpec(embeddings={"endpoint": "http://e", "model": "m", "dimension": 8})
    )
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await memories.UpdateMemory(
            memory_pb2.UpdateMemoryRequest(
                id=memory.id, memory=patch, update_mask={"paths": ["spec.embeddings"]}
            )
        )
    assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT
