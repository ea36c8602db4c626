"""The records of a Memory's store (docs/memory.md): one schema per Memory, holding one `records` table whose
vector column has the Memory's dimension. The same SQL serves Jangar's own database (the embedded store,
created and dropped in the transaction that creates or deletes the Memory) and an external Postgres (created
by the upkeep, or on first use).

Lexical ranking is Postgres full text (`ts_rank_cd` over a generated `tsvector`), followed by trigram
word similarity for what full text does not match (short or misspelled queries); vector ranking is pgvector's
cosine distance through an HNSW index."""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import datetime
from functools import lru_cache
from typing import Any

import orjson
from sqlalchemy import TextClause, func, text, update
from sqlalchemy.exc import ArgumentError, ProgrammingError

from jangar.server.core.pages import Cursor
from jangar.server.repository.database import Database, Tx, sqlstate
from jangar.server.repository.mapping import STORED
from jangar.server.repository.tables import memory_resources
from jangar.v1 import memory_pb2

# The text a hit carries; the full text stays in the store.
HIT_TEXT_CHARS = 2000
# Full-text configuration of the generated tsvector and of queries: English stemming; the trigram fallback
# covers what stemming misses.
TEXT_SEARCH_CONFIG = "english"


def schema_of(memory_id: str) -> str:
    """The store's schema: derived from the Memory's UUID, so it is a safe identifier."""
    return f"memory_{uuid.UUID(memory_id).hex}"


@dataclass(frozen=True)
class StoredRecord:
    id: str
    kind: str
    key: str
    text: str
    metadata: dict[str, str]
    create_time: datetime


@dataclass(frozen=True)
class NewRecord:
    kind: str
    key: str
    text: str
    metadata: dict[str, str]
    embedding: Sequence[float]


@dataclass(frozen=True)
class Ranked:
    """A record in one ranking, with its score there."""

    id: str
    kind: str
    key: str
    text: str
    truncated: bool
    metadata: dict[str, str]
    score: float


@dataclass(frozen=True)
class Filter:
    metadata: dict[str, str] = field(default_factory=dict)
    kind: str = ""


def _vector(values: Sequence[float]) -> str:
    # pgvector's text form is a JSON array of numbers; orjson writes one several times faster than json.
    return orjson.dumps([float(v) for v in values]).decode()


# Taken while a store is provisioned. `CREATE EXTENSION IF NOT EXISTS` and `CREATE ... IF NOT EXISTS` are
# not safe against a concurrent twin: two sessions that both find the object missing both create it, and
# the second fails on the catalog's unique index. First uses of a store race (two writes, or a write and the
# upkeep's check), and several Memories may share one external database, so provisioning on a database
# takes turns, until its transaction ends.
PROVISIONING_LOCK = "jangar.memory_store.provisioning"


async def lock_provisioning(db: Tx) -> None:
    await db.execute(
        text("SELECT pg_advisory_xact_lock(hashtextextended(:name, 0))"), {"name": PROVISIONING_LOCK}
    )


async def ensure_extensions(db: Tx) -> None:
    await db.execute(text("CREATE EXTENSION IF NOT EXISTS vector"))
    await db.execute(text("CREATE EXTENSION IF NOT EXISTS pg_trgm"))


# The search indexes (not the kv key's unique one): a bulk load may drop these and build them once after.
SEARCH_INDEXES = ("records_tsv", "records_trgm", "records_metadata", "records_embedding")


def index_statements(schema: str) -> list[str]:
    """The store's indexes, each created only when missing."""
    return [
        f"CREATE UNIQUE INDEX IF NOT EXISTS records_kv_key ON {schema}.records (key) WHERE kind = 'kv'",
        f"CREATE INDEX IF NOT EXISTS records_tsv ON {schema}.records USING gin (tsv)",
        f"CREATE INDEX IF NOT EXISTS records_trgm ON {schema}.records USING gin (text gin_trgm_ops)",
        f"CREATE INDEX IF NOT EXISTS records_metadata ON {schema}.records "
        "USING gin (metadata jsonb_path_ops)",
        f"CREATE INDEX IF NOT EXISTS records_embedding ON {schema}.records "
        "USING hnsw (embedding vector_cosine_ops)",
        f"CREATE INDEX IF NOT EXISTS records_newest ON {schema}.records (created_at DESC, id DESC)",
    ]


async def create_store(db: Tx, schema: str, dimension: int) -> None:
    """Creates the schema and its table and indexes; a store that exists already is left as it is."""
    await db.execute(text(f"CREATE SCHEMA IF NOT EXISTS {schema}"))
    statements = [
        f"""CREATE TABLE IF NOT EXISTS {schema}.records (
          id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
          kind text NOT NULL,
          key text NOT NULL DEFAULT '',
          text text NOT NULL DEFAULT '',
          metadata jsonb NOT NULL DEFAULT '{{}}'::jsonb,
          embedding vector({int(dimension)}) NOT NULL,
          tsv tsvector GENERATED ALWAYS AS (to_tsvector('{TEXT_SEARCH_CONFIG}', text)) STORED,
          created_at timestamptz NOT NULL DEFAULT clock_timestamp()
        )""",
        *index_statements(schema),
    ]
    for statement in statements:
        await db.execute(text(statement))


async def drop_store(db: Tx, schema: str) -> None:
    await db.execute(text(f"DROP SCHEMA IF EXISTS {schema} CASCADE"))


async def store_dimension(db: Tx, schema: str) -> int | None:
    """The dimension of the store's vector column; None when the store does not exist."""
    found = await db.execute(
        text(
            "SELECT a.atttypmod FROM pg_attribute a "
            "WHERE a.attrelid = to_regclass(:table) AND a.attname = 'embedding' AND NOT a.attisdropped"
        ),
        {"table": f"{schema}.records"},
    )
    value = found.scalar_one_or_none()
    return None if value is None else int(value)


async def insert_records(db: Tx, schema: str, records: Sequence[NewRecord]) -> list[tuple[str, datetime]]:
    """Writes the records in order (kv records replace the record with their key); returns each one's id
    and time. One statement for the batch: the ordinality keeps the request's order."""
    result = await db.execute(
        text(
            f"""
            INSERT INTO {schema}.records AS r (kind, key, text, metadata, embedding)
            SELECT kind, key, body, metadata::jsonb, embedding::vector
            FROM unnest(CAST(:kinds AS text[]), CAST(:keys AS text[]), CAST(:texts AS text[]),
                        CAST(:metadata AS text[]), CAST(:embeddings AS text[]))
                 WITH ORDINALITY AS t(kind, key, body, metadata, embedding, position)
            ORDER BY position
            ON CONFLICT (key) WHERE kind = 'kv' DO UPDATE
              SET text = excluded.text, metadata = excluded.metadata, embedding = excluded.embedding,
                  created_at = clock_timestamp()
            RETURNING r.id, r.created_at
            """
        ),
        {
            "kinds": [r.kind for r in records],
            "keys": [r.key for r in records],
            "texts": [r.text for r in records],
            "metadata": [json.dumps(r.metadata) for r in records],
            "embeddings": [_vector(r.embedding) for r in records],
        },
    )
    # INSERT ... SELECT ... ORDER BY inserts, and so returns, rows in that order.
    return [(str(row.id), row.created_at) for row in result]


async def save_memory_status(db: Tx, memory: memory_pb2.Memory) -> None:
    """Writes a Memory's status only. The etag (resource_version) is left alone: it guards what clients
    change, and the upkeep's observations must not make a client's next update fail as stale."""
    row = STORED["Memory"].to_row(memory)
    await db.execute(
        update(memory_resources)
        .where(memory_resources.c.id == uuid.UUID(memory.id))
        .values(status=row["status"], status_detail=row["status_detail"], updated_at=func.now())
    )


def _record(row: object) -> StoredRecord:
    return StoredRecord(
        id=str(row.id),  # type: ignore[attr-defined]
        kind=row.kind,  # type: ignore[attr-defined]
        key=row.key,  # type: ignore[attr-defined]
        text=row.text,  # type: ignore[attr-defined]
        metadata=dict(row.metadata),  # type: ignore[attr-defined]
        create_time=row.created_at,  # type: ignore[attr-defined]
    )


async def list_records(
    db: Tx, schema: str, kind: str, size: int, after: Cursor | None
) -> tuple[list[StoredRecord], Cursor | None]:
    """A page of records, newest first; the cursor of the last one when there may be more."""
    clauses, params = ["(CAST(:kind AS text) = '' OR kind = :kind)"], {"kind": kind, "size": size + 1}
    if after is not None:
        clauses.append("(created_at, id) < (:after_time, :after_id)")
        params.update(after_time=after.create_time, after_id=after.id)
    result = await db.execute(
        text(
            f"SELECT id, kind, key, text, metadata, created_at FROM {schema}.records "
            f"WHERE {' AND '.join(clauses)} ORDER BY created_at DESC, id DESC LIMIT :size"
        ),
        params,
    )
    records = [_record(row) for row in result]
    if len(records) <= size:
        return records, None
    records = records[:size]
    return records, Cursor(records[-1].create_time, uuid.UUID(records[-1].id))


async def delete_record(db: Tx, schema: str, record_id: uuid.UUID) -> bool:
    result = await db.execute(
        text(f"DELETE FROM {schema}.records WHERE id = :id RETURNING id"), {"id": record_id}
    )
    return result.first() is not None


async def get_value(db: Tx, schema: str, key: str) -> StoredRecord | None:
    result = await db.execute(
        text(
            f"SELECT id, kind, key, text, metadata, created_at FROM {schema}.records "
            "WHERE kind = 'kv' AND key = :key"
        ),
        {"key": key},
    )
    row = result.first()
    return None if row is None else _record(row)


async def delete_expired(db: Tx, schema: str, ttl_days: int) -> int:
    result = await db.execute(
        text(
            f"DELETE FROM {schema}.records "
            "WHERE created_at < clock_timestamp() - make_interval(days => :days)"
        ),
        {"days": ttl_days},
    )
    return result.rowcount or 0


def _filter_sql(wanted: Filter, params: dict[str, object]) -> str:
    """The filter's conditions, only those it has: a condition that is always true (`metadata @> '{}'`) in a
    prepared statement's generic plan can turn the planner away from the HNSW index."""
    clauses = []
    if wanted.kind:
        params["filter_kind"] = wanted.kind
        clauses.append("kind = :filter_kind")
    if wanted.metadata:
        params["filter_metadata"] = json.dumps(wanted.metadata)
        clauses.append("metadata @> CAST(:filter_metadata AS jsonb)")
    return " AND ".join(clauses) or "true"


def _hit_columns(table: str = "") -> str:
    at = f"{table}." if table else ""
    return (
        f"{at}id, {at}kind, {at}key, left({at}text, {HIT_TEXT_CHARS}) AS text, "
        f"length({at}text) > {HIT_TEXT_CHARS} AS truncated, {at}metadata"
    )


_HIT_COLUMNS = _hit_columns()


def _hit_fields(row: Any) -> dict[str, Any]:
    """A hit's columns (`_hit_columns`) and its score, as Ranked's fields."""
    return {
        "id": str(row.id),
        "kind": row.kind,
        "key": row.key,
        "text": row.text,
        "truncated": row.truncated,
        "metadata": dict(row.metadata),
        "score": float(row.score),
    }


def _ranked(rows: object) -> list[Ranked]:
    return [Ranked(**_hit_fields(row)) for row in rows]  # type: ignore[attr-defined]


# How many matches of a lexical query are ranked, per tier (every term; some terms): the first ones the
# full-text index yields. Ranking reads each match's row and costs a few microseconds a match, so ranking
# every match of common terms grew with the store (5,000 matches and 30 ms and more at 100,000 records);
# bounded, a query ranks at most twice this many. Twice the most hits a query returns (100): 500 took twice
# as long as 200 at 100,000 records.
LEXICAL_CANDIDATES = 200


def _full_text_sql(schema: str, where: str) -> str:
    """The full-text ranking (id, every, score), `:depth` deep: records with every term first, then those
    with only some; ts_rank_cd within each tier, computed on (id, tsv) only."""
    return f"""
      SELECT c.id, c.every, ts_rank_cd(c.tsv, q.any_term) AS score
      FROM (
        SELECT websearch_to_tsquery(CAST(:config AS regconfig), :query) AS every_term,
               CAST(replace(CAST(websearch_to_tsquery(CAST(:config AS regconfig), :query) AS text),
                            '&', '|') AS tsquery) AS any_term
      ) q
      CROSS JOIN LATERAL (
        (SELECT id, tsv, true AS every FROM {schema}.records
         WHERE tsv @@ q.every_term AND {where}
         LIMIT :candidates)
        UNION ALL
        -- Skipped at once when the query has no AND to relax (one term, or ORs already).
        (SELECT id, tsv, false FROM {schema}.records
         WHERE CAST(q.every_term AS text) <> CAST(q.any_term AS text)
           AND tsv @@ q.any_term AND NOT tsv @@ q.every_term AND {where}
         LIMIT :candidates)
      ) c
      ORDER BY c.every DESC, score DESC, c.id LIMIT :depth"""


def _trigram_sql(schema: str, where: str, columns: str) -> str:
    """Trigram word-similarity matches (columns, score), `:depth` deep.

    The operator's query text is a subquery's (an init plan the planner cannot see into): given the value,
    pg_trgm's selectivity estimate computes the similarity to the column's sampled values, which took 3.6
    ms of planning a query at 100,000 records, more than the full-text ranking's whole run."""
    return f"""
      SELECT {columns}, word_similarity(:query, text) AS score
      FROM {schema}.records
      WHERE (SELECT CAST(:query AS text)) <% text AND {where}
      ORDER BY score DESC, id LIMIT :depth"""


def _nearest_sql(schema: str, where: str, columns: str) -> str:
    """The `:depth` nearest records by cosine distance (columns, distance). The HNSW settings are made by
    set_config(..., is_local) in a subquery the scan depends on, which Postgres evaluates (a one-time
    filter) before the scan's first row, when pgvector reads them (hnswgettuple); they end with the
    statement's transaction, so the query needs no transaction of its own (no BEGIN and COMMIT round
    trips)."""
    return f"""
      SELECT nearest.*
      FROM (
        SELECT set_config('hnsw.ef_search', :ef, true) AS ef,
               set_config('hnsw.iterative_scan', :scan, true) AS scan
      ) settings
      CROSS JOIN LATERAL (
        SELECT {columns}, embedding <=> CAST(:embedding AS vector) AS distance
        FROM {schema}.records
        WHERE {where} AND settings.ef IS NOT NULL AND settings.scan IS NOT NULL
        ORDER BY distance LIMIT :depth
      ) nearest"""


def _lexical_params(query: str, depth: int) -> dict[str, object]:
    return {"query": query, "depth": depth, "config": TEXT_SEARCH_CONFIG, "candidates": LEXICAL_CANDIDATES}


def _vector_params(embedding: Sequence[float], depth: int, where: str) -> dict[str, object]:
    return {
        "embedding": _vector(embedding),
        "depth": depth,
        "ef": str(max(40, int(depth))),
        # With a filter, pgvector's iterative scan keeps looking until `depth` records pass it (or the
        # scan's bound is reached).
        "scan": "relaxed_order" if where != "true" else "off",
    }


async def rank_lexical(db: Tx, schema: str, query: str, wanted: Filter, limit: int) -> list[Ranked]:
    """Full-text matches (websearch syntax), in two tiers: records with every term (the query as written)
    first, then records with only some of them (its ANDs made ORs); each tier ranked by ts_rank_cd (more
    of the terms, closer together, first) among the first LEXICAL_CANDIDATES matches the index yields.
    When full text matches nothing (a misspelling, a word the stemmer does not know, a very short query),
    trigram word-similarity matches instead.

    The rank is computed on (id, tsv) only, and the hit's columns are read for the `limit` best after:
    evaluated for every candidate before the sort, they cost more than the ranking itself."""
    params = _lexical_params(query, limit)
    where = _filter_sql(wanted, params)
    hits = _ranked(await db.execute(_lexical_statement(schema, where), params))
    if hits:
        return hits
    return _ranked(await db.execute(_trigram_statement(schema, where), params))


# The query statements, built once per store and filter shape: a TextClause parses its SQL for bind
# parameters when it is made, which for these statements cost more server CPU than fusing two rankings.
_STATEMENTS = 512


@lru_cache(maxsize=_STATEMENTS)
def _lexical_statement(schema: str, where: str) -> TextClause:
    return text(
        f"""
        SELECT {_hit_columns("r")}, best.score
        FROM ({_full_text_sql(schema, where)}) best
        JOIN {schema}.records r ON r.id = best.id
        ORDER BY best.every DESC, best.score DESC, r.id
        """
    )


@lru_cache(maxsize=_STATEMENTS)
def _trigram_statement(schema: str, where: str) -> TextClause:
    return text(_trigram_sql(schema, where, _HIT_COLUMNS))


@lru_cache(maxsize=_STATEMENTS)
def _vector_statement(schema: str, where: str) -> TextClause:
    return text(
        f"SELECT n.*, 1 - n.distance AS score FROM ({_nearest_sql(schema, where, _HIT_COLUMNS)}) n "
        "ORDER BY n.distance"
    )


async def rank_vector(
    db: Tx, schema: str, embedding: Sequence[float], wanted: Filter, limit: int
) -> list[Ranked]:
    """Nearest records by cosine distance through the HNSW index, in one statement (`_nearest_sql`)."""
    params: dict[str, object] = {}
    where = _filter_sql(wanted, params)
    params.update(_vector_params(embedding, limit, where))
    return _ranked(await db.execute(_vector_statement(schema, where), params))


@dataclass(frozen=True)
class Fused(Ranked):
    """A hybrid query's hit: its fused score and its 1-based place in each ranking (0 when not ranked)."""

    lexical_rank: int
    vector_rank: int


async def rank_hybrid(
    db: Tx,
    schema: str,
    query: str,
    embedding: Sequence[float],
    wanted: Filter,
    *,
    depth: int,
    limit: int,
    rrf_k: int,
) -> list[Fused]:
    """Both rankings `depth` deep, fused by reciprocal rank fusion (score = Σ 1 / (rrf_k + rank); ties by
    id), the `limit` best with their columns: one statement. Ranked apart, the two legs cost a statement
    each and a third to read the winners' columns, and each statement's round trip and its driver's work
    cost the server more than fusing 100 ids costs Postgres. Without query text only the vector leg ranks.

    The lexical leg is rank_lexical's: full text, or the trigram matches when full text matches nothing
    (the trigram scan is a one-time filter away when it does)."""
    params = _lexical_params(query, depth)
    where = _filter_sql(wanted, params)
    params.update(_vector_params(embedding, depth, where), limit=limit, rrf_k=rrf_k)
    result = await db.execute(_hybrid_statement(schema, where, bool(query)), params)
    return [
        Fused(**_hit_fields(row), lexical_rank=int(row.lexical_rank), vector_rank=int(row.vector_rank))
        for row in result
    ]


@lru_cache(maxsize=_STATEMENTS)
def _hybrid_statement(schema: str, where: str, with_query: bool) -> TextClause:
    if with_query:
        lexical = f"""
          full_text AS MATERIALIZED ({_full_text_sql(schema, where)}),
          trigram AS (
            SELECT * FROM ({_trigram_sql(schema, where, "id")}) t WHERE NOT EXISTS (SELECT FROM full_text)
          ),
          lexical AS (
            SELECT id, row_number() OVER (ORDER BY every DESC, score DESC, id) AS rank FROM full_text
            UNION ALL
            SELECT id, row_number() OVER (ORDER BY score DESC, id) FROM trigram
          ),"""
    else:
        lexical = "lexical AS (SELECT CAST(NULL AS uuid) AS id, CAST(0 AS bigint) AS rank WHERE false),"
    return text(
        f"""
        WITH {lexical}
          vector AS (
            SELECT n.id, row_number() OVER (ORDER BY n.distance, n.id) AS rank
            FROM ({_nearest_sql(schema, where, "id")}) n
          ),
          fused AS (
            SELECT coalesce(l.id, v.id) AS id,
                   coalesce(CAST(1 AS float8) / (:rrf_k + l.rank), 0)
                     + coalesce(CAST(1 AS float8) / (:rrf_k + v.rank), 0) AS score,
                   coalesce(l.rank, 0) AS lexical_rank, coalesce(v.rank, 0) AS vector_rank
            FROM lexical l FULL JOIN vector v ON v.id = l.id
            ORDER BY score DESC, id LIMIT :limit
          )
        SELECT {_hit_columns("r")}, f.score, f.lexical_rank, f.vector_rank
        FROM fused f JOIN {schema}.records r ON r.id = f.id
        ORDER BY f.score DESC, f.id
        """
    )


class StoreMissing(Exception):
    """The store's schema or table does not exist (dropped by hand, or never created on this server)."""


UNDEFINED_TABLE = "42P01"
UNDEFINED_SCHEMA = "3F000"


@asynccontextmanager
async def missing_store_raises() -> AsyncIterator[None]:
    """Turns "relation does not exist" from a store's statement into StoreMissing."""
    try:
        yield
    except ProgrammingError as error:
        if sqlstate(error) in (UNDEFINED_TABLE, UNDEFINED_SCHEMA):
            raise StoreMissing(str(error.orig).split("\n", 1)[0]) from None
        raise


class ExternalStores:
    """Connections to external Postgres stores: one small pool per Memory, tagged with a hash of the
    connection string it was made for (the string itself is never kept: the caller reads it from its Secret
    for every use). When the Secret changes (a rotated password), the next use replaces the pool."""

    def __init__(self, pool_size: int = 2) -> None:
        self._pool_size = pool_size
        self._databases: dict[str, tuple[str, Database]] = {}

    async def database(self, owner: str, dsn: str) -> Database:
        """The pool of `owner` (a Memory id) for a connection string; raises ValueError when it is not a
        PostgreSQL URL."""
        digest = hashlib.sha256(dsn.encode()).hexdigest()
        found = self._databases.get(owner)
        if found is not None and found[0] == digest:
            return found[1]
        try:
            database = Database(dsn, pool_size=self._pool_size)
        except ArgumentError:
            raise ValueError("not a database URL") from None
        self._databases[owner] = (digest, database)
        if found is not None:
            await found[1].dispose()
        return database

    async def forget(self, owner: str) -> None:
        found = self._databases.pop(owner, None)
        if found is not None:
            await found[1].dispose()

    async def dispose(self) -> None:
        for _, database in self._databases.values():
            await database.dispose()
        self._databases.clear()
