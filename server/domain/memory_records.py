"""Use cases of MemoryRecordService: write, list, delete and kv records of a Memory, and query them
(docs/memory.md)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

from jangar.server.core.context import RequestContext
from jangar.server.core.errors import Code, DomainError, FieldViolation, invalid_argument, not_found
from jangar.server.core.pages import PageTokens, query_hash
from jangar.server.core.timestamps import set_timestamp
from jangar.server.domain import common
from jangar.server.domain.embeddings import Embedder, dimension_of
from jangar.server.domain.idempotency import Outcome, idempotent
from jangar.server.domain.memory_stores import MemoryStores
from jangar.server.domain.validation import Violations
from jangar.server.repository import memory_store
from jangar.server.repository.database import Database, Tx
from jangar.server.repository.mapping import STORED
from jangar.server.repository.memory_store import Filter, NewRecord, Ranked, StoredRecord
from jangar.v1 import memory_pb2, memory_record_pb2

Record = memory_record_pb2.MemoryRecord
Mode = memory_record_pb2.QueryMemoryRequest.Mode

MAX_BATCH = 500
MAX_KEY_CHARS = 512
MAX_TEXT_CHARS = 100_000
MAX_QUERY_CHARS = 10_000
MAX_METADATA_ENTRIES = 64
MAX_METADATA_CHARS = 1024
DEFAULT_LIMIT = 10
MAX_LIMIT = 100
# Reciprocal rank fusion's constant (Cormack et al. 2009): a hit at rank r contributes 1 / (60 + r).
RRF_K = 60
# How deep each ranking of a hybrid query goes before fusion.
HYBRID_DEPTH = 50


def _kind_name(kind: int) -> str:
    return Record.Kind.Name(kind)


_KINDS = frozenset(Record.Kind.values()) - {Record.KIND_UNSPECIFIED}


def _check_kind(field: str, kind: int, v: Violations, *, required: bool) -> None:
    # Proto3 enums are open: an unknown number decodes, and must be refused here.
    if kind in _KINDS or (not required and kind == Record.KIND_UNSPECIFIED):
        return
    v.add(field, "is required: document, event or kv" if not kind else "must be document, event or kv")


def _validate_metadata(field: str, metadata: Any, v: Violations) -> None:
    if len(metadata) > MAX_METADATA_ENTRIES:
        v.add(field, f"must have at most {MAX_METADATA_ENTRIES} entries")
    for key, value in metadata.items():
        if not key or len(key) > MAX_METADATA_CHARS or len(value) > MAX_METADATA_CHARS:
            v.add(f"{field}.{key}", f"keys must be 1 to {MAX_METADATA_CHARS} characters, values at most that")


def _validate_embedding(field: str, embedding: Sequence[float], dimension: int, v: Violations) -> None:
    if embedding and len(embedding) != dimension:
        v.add(field, f"must have the Memory's {dimension} dimensions, has {len(embedding)}")
    elif embedding and any(x != x or x in (float("inf"), float("-inf")) for x in embedding):
        v.add(field, "must hold finite numbers")


def validate_records(records: Sequence[Record], dimension: int) -> None:
    v = Violations()
    if not records:
        v.add("records", "must have at least one record")
    if len(records) > MAX_BATCH:
        v.add("records", f"must have at most {MAX_BATCH} records, has {len(records)}")
        v.raise_if_any()
    kv_keys: dict[str, int] = {}
    for index, record in enumerate(records):
        at = f"records[{index}]"
        _check_kind(f"{at}.kind", record.kind, v, required=True)
        if record.kind == Record.kv:
            if v.required(f"{at}.key", record.key) and record.key in kv_keys:
                v.add(f"{at}.key", f"repeats the kv key of records[{kv_keys[record.key]}]")
            kv_keys.setdefault(record.key, index)
        if len(record.key) > MAX_KEY_CHARS:
            v.add(f"{at}.key", f"must be at most {MAX_KEY_CHARS} characters")
        if len(record.text) > MAX_TEXT_CHARS:
            v.add(f"{at}.text", f"must be at most {MAX_TEXT_CHARS} characters")
        if not record.text and not record.embedding:
            v.add(f"{at}.text", "is required when the record has no embedding")
        _validate_metadata(f"{at}.metadata", record.metadata, v)
        _validate_embedding(f"{at}.embedding", record.embedding, dimension, v)
    v.raise_if_any()


def _message(record: StoredRecord) -> Record:
    message = Record(
        id=record.id,
        kind=Record.Kind.Value(record.kind),
        key=record.key,
        text=record.text,
        metadata=record.metadata,
    )
    set_timestamp(message.create_time, record.create_time)
    return message


async def _audit(
    db: Tx, context: RequestContext, memory: memory_pb2.Memory, event: str, payload: dict[str, Any]
) -> None:
    """A change of a Memory's records is a change of the Memory: one audit row, never the records' text."""
    await common.record_audit(
        db,
        context,
        kind="Memory",
        entity_id=memory.id,
        event=event,
        namespace=memory.namespace,
        payload=payload,
    )


class MemoryRecordUseCases:
    def __init__(
        self, database: Database, stores: MemoryStores, embedder: Embedder, page_tokens: PageTokens
    ) -> None:
        self._database = database
        self._stores = stores
        self._embedder = embedder
        self._page_tokens = page_tokens
        self._stored = STORED["Memory"]

    async def _memory(self, db: Tx, id_or_name: str, namespace: str) -> memory_pb2.Memory:
        memory: memory_pb2.Memory = await common.load(
            db, self._stored, id_or_name, namespace, for_update=False
        )
        if memory.spec.type != memory_pb2.MemorySpec.postgres:
            raise DomainError(
                Code.FAILED_PRECONDITION,
                "MEMORY_TYPE_UNSUPPORTED",
                f"Memory {memory.name!r} is of type "
                f"{memory_pb2.MemorySpec.Type.Name(memory.spec.type)}; records are served for postgres only",
            )
        return memory

    async def _embedded(self, memory: memory_pb2.Memory, records: Sequence[Record]) -> list[NewRecord]:
        missing = [r.text for r in records if not r.embedding]
        computed = iter(await self._embedder.embed(memory.namespace, memory.spec, missing))
        return [
            NewRecord(
                kind=_kind_name(r.kind),
                key=r.key,
                text=r.text,
                metadata=dict(r.metadata),
                embedding=list(r.embedding) or next(computed),
            )
            for r in records
        ]

    async def _write(
        self, db: Tx, context: RequestContext, memory: memory_pb2.Memory, records: Sequence[Record]
    ) -> list[Record]:
        rows = await self._embedded(memory, records)
        async with self._stores.transaction(db, memory) as store:
            written = await memory_store.insert_records(store, memory_store.schema_of(memory.id), rows)
        await _audit(
            db,
            context,
            memory,
            "RecordsWritten",
            {"count": len(rows), "kinds": sorted({r.kind for r in rows})},
        )
        result = []
        for record, (record_id, created) in zip(records, written, strict=True):
            message = Record(id=record_id, kind=record.kind, key=record.key, metadata=record.metadata)
            message.text = record.text
            set_timestamp(message.create_time, created)
            result.append(message)
        return result

    async def write(
        self, context: RequestContext, request: memory_record_pb2.WriteMemoryRecordsRequest
    ) -> Outcome:
        async with self._database.transaction() as db:
            memory = await self._memory(db, request.id, request.namespace)
        validate_records(request.records, dimension_of(memory.spec))

        async def work(db: Tx) -> tuple[memory_record_pb2.WriteMemoryRecordsResponse, str]:
            # Loaded again under the key's claim: the Memory may have gone since the check above.
            current = await self._memory(db, request.id, request.namespace)
            written = await self._write(db, context, current, request.records)
            return memory_record_pb2.WriteMemoryRecordsResponse(records=written), current.id

        return await idempotent(self._database, context, context.method, request, work)

    async def put_value(
        self, context: RequestContext, request: memory_record_pb2.PutMemoryValueRequest
    ) -> Record:
        record = Record()
        record.CopyFrom(request.record)
        record.kind, record.key = Record.kv, request.key
        async with self._database.transaction() as db:
            memory = await self._memory(db, request.id, request.namespace)
            validate_records([record], dimension_of(memory.spec))
            [written] = await self._write(db, context, memory, [record])
        return written

    async def get_value(self, request: memory_record_pb2.GetMemoryValueRequest) -> Record:
        async with self._database.transaction() as db:
            memory = await self._memory(db, request.id, request.namespace)
            async with self._stores.transaction(db, memory) as store:
                found = await memory_store.get_value(store, memory_store.schema_of(memory.id), request.key)
        if found is None:
            raise not_found("MemoryRecord", request.key, memory.namespace)
        return _message(found)

    async def list(
        self, request: memory_record_pb2.ListMemoryRecordsRequest
    ) -> memory_record_pb2.ListMemoryRecordsResponse:
        v = Violations()
        _check_kind("kind", request.kind, v, required=False)
        v.raise_if_any()
        kind = _kind_name(request.kind) if request.kind else ""
        async with self._database.transaction() as db:
            memory = await self._memory(db, request.id, request.namespace)
            page = self._page_tokens.page_request(
                request.page_size, request.page_token, query_hash("MemoryRecord", memory.id, kind)
            )
            async with self._stores.transaction(db, memory) as store:
                records, last = await memory_store.list_records(
                    store, memory_store.schema_of(memory.id), kind, page.size, page.after
                )
        return memory_record_pb2.ListMemoryRecordsResponse(
            records=[_message(r) for r in records],
            next_page_token=self._page_tokens.next_page_token(page, last),
        )

    async def delete(
        self, context: RequestContext, request: memory_record_pb2.DeleteMemoryRecordRequest
    ) -> memory_record_pb2.DeleteMemoryRecordResponse:
        try:
            record_id = uuid.UUID(request.record_id)
        except ValueError:
            raise invalid_argument([FieldViolation("recordId", "must be a UUID")]) from None
        async with self._database.transaction() as db:
            memory = await self._memory(db, request.id, request.namespace)
            async with self._stores.transaction(db, memory) as store:
                deleted = await memory_store.delete_record(
                    store, memory_store.schema_of(memory.id), record_id
                )
            if not deleted:
                raise not_found("MemoryRecord", request.record_id, memory.namespace)
            await _audit(db, context, memory, "RecordDeleted", {"recordId": request.record_id})
        return memory_record_pb2.DeleteMemoryRecordResponse(record_id=request.record_id)

    # Queries.

    async def _query_embedding(
        self, memory: memory_pb2.Memory, request: memory_record_pb2.QueryMemoryRequest
    ) -> list[float]:
        """The query's embedding as given, or its text's from the Memory's model."""
        if request.embedding:
            return list(request.embedding)
        return (await self._embedder.embed(memory.namespace, memory.spec, [request.query]))[0]

    def _validate_query(self, request: memory_record_pb2.QueryMemoryRequest, dimension: int) -> None:
        v = Violations()
        if not request.query and not request.embedding:
            v.add("query", "is required unless embedding is set")
        if len(request.query) > MAX_QUERY_CHARS:
            v.add("query", f"must be at most {MAX_QUERY_CHARS} characters")
        if request.mode == Mode.lexical and not request.query:
            v.add("query", "is required in lexical mode")
        _validate_embedding("embedding", request.embedding, dimension, v)
        if not 0 <= request.limit <= MAX_LIMIT:
            v.add("limit", f"must be between 1 and {MAX_LIMIT}")
        _validate_metadata("filter.metadata", request.filter.metadata, v)
        v.raise_if_any()

    async def query(
        self, request: memory_record_pb2.QueryMemoryRequest
    ) -> memory_record_pb2.QueryMemoryResponse:
        """A read: the Idempotency-Key a POST carries is accepted and ignored (docs/memory.md)."""
        v = Violations()
        if not request.memory_id and not request.memory_ref.name:
            v.add("memoryRef.name", "is required unless memoryId is set")
        if request.memory_id and request.memory_ref.name:
            v.add("memoryId", "give memoryRef or memoryId, not both")
        elif request.memory_id:
            try:
                uuid.UUID(request.memory_id)
            except ValueError:
                v.add("memoryId", "must be a UUID")
        elif request.memory_ref.name:
            v.dns_label("memoryRef.name", request.memory_ref.name)
        if request.mode not in Mode.values():
            v.add("mode", "must be lexical, vector or hybrid")
        _check_kind("filter.kind", request.filter.kind, v, required=False)
        if request.min_score != request.min_score:
            v.add("minScore", "must be a number")
        v.raise_if_any()
        mode = request.mode or Mode.hybrid
        limit = request.limit or DEFAULT_LIMIT
        wanted = Filter(
            metadata=dict(request.filter.metadata),
            kind=_kind_name(request.filter.kind) if request.filter.kind else "",
        )
        # Reads of one statement each run in autocommit: no BEGIN and COMMIT round trips around them.
        async with self._database.connection() as db:
            memory = await self._memory(db, request.memory_id or request.memory_ref.name, request.namespace)
        self._validate_query(request, dimension_of(memory.spec))
        schema = memory_store.schema_of(memory.id)
        ranked: list[tuple[Ranked, int, int]]
        if mode == Mode.hybrid:
            embedding = await self._query_embedding(memory, request)
            async with self._database.connection() as db, self._stores.transaction(db, memory) as store:
                fused = await memory_store.rank_hybrid(
                    store,
                    schema,
                    request.query,
                    embedding,
                    wanted,
                    depth=max(limit, HYBRID_DEPTH),
                    limit=limit,
                    rrf_k=RRF_K,
                )
            ranked = [(hit, hit.lexical_rank, hit.vector_rank) for hit in fused]
        elif mode == Mode.lexical:
            async with self._database.connection() as db, self._stores.transaction(db, memory) as store:
                lexical = await memory_store.rank_lexical(store, schema, request.query, wanted, limit)
            ranked = [(hit, rank, 0) for rank, hit in enumerate(lexical, start=1)]
        else:
            embedding = await self._query_embedding(memory, request)
            async with self._database.connection() as db, self._stores.transaction(db, memory) as store:
                vector = await memory_store.rank_vector(store, schema, embedding, wanted, limit)
            ranked = [(hit, 0, rank) for rank, hit in enumerate(vector, start=1)]
        hits = [
            memory_record_pb2.MemoryHit(
                id=hit.id,
                kind=Record.Kind.Value(hit.kind),
                key=hit.key,
                text=hit.text,
                text_truncated=hit.truncated,
                metadata=hit.metadata,
                score=hit.score,
                lexical_rank=lexical_rank,
                vector_rank=vector_rank,
            )
            for hit, lexical_rank, vector_rank in ranked
            # 0 (unset) is no threshold: a cosine similarity may be negative.
            if not request.min_score or hit.score >= request.min_score
        ]
        return memory_record_pb2.QueryMemoryResponse(hits=hits)
