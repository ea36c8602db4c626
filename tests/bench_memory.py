"""`make bench`, memory section (docs/memory.md): write throughput of `POST /v1/memories/{id}/records` over
gRPC (batches of 500, embeddings computed by the server's embedded model), then query latency per mode
(lexical, vector, hybrid) at 100,000 records, next to a bare pgvector query on the same table as the
ceiling (one asyncpg connection, the same HNSW index, the same ef_search, the query embeddings computed in
advance).

The store is filled mostly with COPY (the API writes only the first batches): the search indexes (HNSW,
full text, trigram, metadata) are dropped for the load and built once after it, which is several times
faster than maintaining them row by row. The corpus is synthetic: words of a fixed pseudo-vocabulary drawn
with a Zipf distribution, so that some query terms match many records, as real text does.

    .venv/bin/python -m tests.bench_memory --server 127.0.0.1:PORT --dsn postgresql://...   (standalone)
"""

from __future__ import annotations

import argparse
import asyncio
import io
import random
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import asyncpg
import grpc

from jangar.server.domain.embeddings import EmbeddedModel
from jangar.server.repository.memory_store import SEARCH_INDEXES, index_statements, schema_of
from jangar.v1 import memory_pb2, memory_pb2_grpc, memory_record_pb2, memory_record_pb2_grpc
from tests import builders
from tests.bench_measure import CpuProbe, bare_pool, percentile

DEFAULT_RECORDS = 100_000
# Records written through the API (the rest are copied in): enough batches for a steady rate.
API_RECORDS = 10_000
BATCH = 500
WRITE_CONCURRENCY = 4
QUERIES_PER_MODE = 300
QUERY_CONCURRENCY = 4
WARMUP_QUERIES = 20
# Seconds to wait before reading the database's block counts, so idle backends have reported theirs.
STATS_SETTLE_S = 11.0
LIMIT = 10
VOCABULARY = 5000
SEED = 20261202
Mode = memory_record_pb2.QueryMemoryRequest.Mode


@dataclass(frozen=True)
class Row:
    scenario: str
    rate: float  # records/s for writes, queries/s otherwise
    p50_ms: float
    p99_ms: float
    errors: int
    ceiling: bool = False
    # CPU per query (per record for writes) in ms, of the server and of Postgres; None when not probed.
    server_cpu_ms: float | None = None
    pg_cpu_ms: float | None = None


@dataclass
class Section:
    records: int = 0
    load_seconds: float = 0.0
    index_seconds: float = 0.0
    rows: list[Row] = field(default_factory=list)
    # Postgres blocks the queries found in shared_buffers and those read from outside (the OS cache or disk).
    blocks_hit: int = 0
    blocks_read: int = 0


def _vocabulary(rng: random.Random) -> list[str]:
    syllables = [c + v for c in "bcdfghklmnprstvz" for v in "aeiou"]
    words: set[str] = set()
    while len(words) < VOCABULARY:
        words.add("".join(rng.choice(syllables) for _ in range(rng.randint(2, 4))))
    return sorted(words)


class Corpus:
    def __init__(self, seed: int = SEED) -> None:
        self._rng = random.Random(seed)
        self.words = _vocabulary(self._rng)
        self._weights = [1.0 / (rank + 1) for rank in range(len(self.words))]

    def text(self, words: int) -> str:
        return " ".join(self._rng.choices(self.words, self._weights, k=words))

    def document(self) -> str:
        return self.text(self._rng.randint(12, 40))

    def query(self) -> str:
        # Query terms from the middle of the distribution: each matches a few hundred to thousands of records.
        return " ".join(self._rng.choice(self.words[50:2000]) for _ in range(2))

    def topic(self) -> str:
        return f"t{self._rng.randint(0, 9)}"


async def _timed(
    calls: Sequence[Callable[[], Awaitable[object]]], concurrency: int
) -> tuple[list[float], int, float]:
    """Runs the calls `concurrency` at a time; (sorted latencies in ms, errors, wall seconds)."""
    latencies: list[float] = []
    errors = 0
    pending = iter(calls)

    async def worker() -> None:
        nonlocal errors
        for call in pending:
            started = time.perf_counter()
            try:
                await call()
            except (grpc.aio.AioRpcError, asyncpg.PostgresError):
                errors += 1
                continue
            latencies.append((time.perf_counter() - started) * 1000)

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return sorted(latencies), errors, time.perf_counter() - started


async def _write_through_api(
    records: memory_record_pb2_grpc.MemoryRecordServiceStub,
    memory: memory_pb2.Memory,
    corpus: Corpus,
    count: int,
) -> Row:
    batches = [
        [
            memory_record_pb2.MemoryRecord(
                kind=memory_record_pb2.MemoryRecord.document,
                text=corpus.document(),
                metadata={"topic": corpus.topic()},
            )
            for _ in range(BATCH)
        ]
        for _ in range(count // BATCH)
    ]
    calls = [
        lambda b=batch: records.WriteMemoryRecords(
            memory_record_pb2.WriteMemoryRecordsRequest(id=memory.id, records=b),
            metadata=builders.key(),
            timeout=120,
        )
        for batch in batches
    ]
    latencies, errors, wall = await _timed(calls, WRITE_CONCURRENCY)
    return Row(
        f"write, batches of {BATCH}",
        len(latencies) * BATCH / wall,
        percentile(latencies, 0.5),
        percentile(latencies, 0.99),
        errors,
    )


def _vector(values: Sequence[float]) -> str:
    return "[" + ",".join(f"{v:.6g}" for v in values) + "]"


async def _copy_in(dsn: str, schema: str, corpus: Corpus, count: int) -> tuple[float, float]:
    """COPYs `count` records with embeddings computed here, without the search indexes, then builds them
    once. Returns (load seconds, index build seconds)."""
    model = EmbeddedModel()
    connection = await asyncpg.connect(dsn)
    try:
        started = time.perf_counter()
        for index in SEARCH_INDEXES:
            await connection.execute(f"DROP INDEX {schema}.{index}")
        chunk = 10_000
        for offset in range(0, count, chunk):
            texts = [corpus.document() for _ in range(min(chunk, count - offset))]
            embeddings = await model.embed(texts)
            buffer = io.StringIO()
            for text, embedding in zip(texts, embeddings, strict=True):
                topic = corpus.topic()
                buffer.write(f'document\t\t{text}\t{{"topic": "{topic}"}}\t{_vector(embedding)}\n')
            await connection.copy_to_table(
                "records",
                schema_name=schema,
                source=io.BytesIO(buffer.getvalue().encode()),
                columns=["kind", "key", "text", "metadata", "embedding"],
                format="text",
            )
        loaded = time.perf_counter() - started
        started = time.perf_counter()
        await connection.execute("SET maintenance_work_mem = '512MB'")
        for statement in index_statements(schema):
            await connection.execute(statement)
        await connection.execute(f"ANALYZE {schema}.records")
        return loaded, time.perf_counter() - started
    finally:
        await connection.close()


async def _query_rows(
    records: memory_record_pb2_grpc.MemoryRecordServiceStub,
    memory: memory_pb2.Memory,
    corpus: Corpus,
    probe: CpuProbe | None,
) -> list[Row]:
    rows = []
    for name, mode in (("lexical", Mode.lexical), ("vector", Mode.vector), ("hybrid", Mode.hybrid)):
        texts = [corpus.query() for _ in range(WARMUP_QUERIES + QUERIES_PER_MODE)]
        calls = [
            lambda q=q, mode=mode: records.QueryMemory(
                memory_record_pb2.QueryMemoryRequest(memory_id=memory.id, query=q, mode=mode, limit=LIMIT),
                timeout=30,
            )
            for q in texts
        ]
        await _timed(calls[:WARMUP_QUERIES], QUERY_CONCURRENCY)
        before = probe.snapshot() if probe is not None else None
        latencies, errors, wall = await _timed(calls[WARMUP_QUERIES:], QUERY_CONCURRENCY)
        server_ms, pg_ms = _cpu_ms(probe, before, len(latencies))
        rows.append(
            Row(
                f"query, {name}",
                len(latencies) / wall,
                percentile(latencies, 0.5),
                percentile(latencies, 0.99),
                errors,
                server_cpu_ms=server_ms,
                pg_cpu_ms=pg_ms,
            )
        )
    return rows


def _cpu_ms(
    probe: CpuProbe | None, before: dict[str, float] | None, count: int
) -> tuple[float | None, float | None]:
    """(server, Postgres) CPU ms per item since `before`."""
    if probe is None or before is None or count == 0:
        return None, None
    after = probe.snapshot()
    return (
        (after["server"] - before["server"]) / count * 1e3,
        (after["postgres"] - before["postgres"]) / count * 1e3,
    )


async def _block_counts(dsn: str, *, settle: bool = False) -> tuple[int, int]:
    """The database's (blocks hit in shared_buffers, blocks read from outside them) so far."""
    if settle:
        # An idle backend reports its statistics up to 10 s late (PGSTAT_IDLE_INTERVAL).
        await asyncio.sleep(STATS_SETTLE_S)
    connection = await asyncpg.connect(dsn)
    try:
        row = await connection.fetchrow(
            "SELECT blks_hit, blks_read FROM pg_stat_database WHERE datname = current_database()"
        )
    finally:
        await connection.close()
    return int(row["blks_hit"]), int(row["blks_read"])


async def _ceiling(dsn: str, schema: str, corpus: Corpus, probe: CpuProbe | None) -> Row:
    """A bare pgvector query on the same table: what the vector mode costs without Jangar."""
    model = EmbeddedModel()
    embeddings = await model.embed([corpus.query() for _ in range(WARMUP_QUERIES + QUERIES_PER_MODE)])
    pool = await bare_pool(dsn, QUERY_CONCURRENCY)
    statement = (
        f"SELECT id, 1 - (embedding <=> $1::vector) AS score FROM {schema}.records "
        f"ORDER BY embedding <=> $1::vector LIMIT {LIMIT}"
    )

    async def query(embedding: Sequence[float]) -> None:
        async with pool.acquire() as connection, connection.transaction():
            await connection.execute(f"SET LOCAL hnsw.ef_search = {max(40, LIMIT)}")
            await connection.fetch(statement, _vector(embedding))

    try:
        calls = [lambda e=e: query(e) for e in embeddings]
        await _timed(calls[:WARMUP_QUERIES], QUERY_CONCURRENCY)
        before = probe.snapshot() if probe is not None else None
        latencies, errors, wall = await _timed(calls[WARMUP_QUERIES:], QUERY_CONCURRENCY)
        _, pg_ms = _cpu_ms(probe, before, len(latencies))
    finally:
        await pool.close()
    return Row(
        "ceiling: bare pgvector query",
        len(latencies) / wall,
        percentile(latencies, 0.5),
        percentile(latencies, 0.99),
        errors,
        ceiling=True,
        pg_cpu_ms=pg_ms,
    )


async def run_section(
    *,
    server_address: str,
    database_url: str,
    records: int = DEFAULT_RECORDS,
    probe: CpuProbe | None = None,
) -> Section:
    dsn = database_url.replace("postgresql+asyncpg://", "postgresql://", 1)
    corpus = Corpus()
    section = Section(records=records)
    async with grpc.aio.insecure_channel(server_address) as channel:
        memories = memory_pb2_grpc.MemoryServiceStub(channel)
        stub = memory_record_pb2_grpc.MemoryRecordServiceStub(channel)
        memory = await memories.CreateMemory(
            memory_pb2.CreateMemoryRequest(
                memory=memory_pb2.Memory(
                    name=f"bench-memory-{int(time.time())}", spec={"type": memory_pb2.MemorySpec.postgres}
                )
            ),
            metadata=builders.key(),
        )
        api = min(API_RECORDS, records)
        section.rows.append(await _write_through_api(stub, memory, corpus, api))
        section.load_seconds, section.index_seconds = await _copy_in(
            dsn, schema_of(memory.id), corpus, records - api
        )
        before = await _block_counts(dsn)
        section.rows += await _query_rows(stub, memory, corpus, probe)
        hit, read = await _block_counts(dsn, settle=True)
        section.blocks_hit, section.blocks_read = hit - before[0], read - before[1]
    section.rows.append(await _ceiling(dsn, schema_of(memory.id), corpus, probe))
    return section


def target(stack: Any) -> dict[str, Any]:
    """The run_section arguments for tests/bench.py's stack."""
    return {
        "server_address": stack.server.address,
        "database_url": stack.server.database_url,
        "probe": CpuProbe(stack.server.process.pid, stack.postgres.pid, None),
    }


COLUMNS = (
    ("scenario", 30, "<"),
    ("per s", 9, ">"),
    ("p50 ms", 7, ">"),
    ("p99 ms", 7, ">"),
    ("errors", 6, ">"),
    ("server CPU ms", 13, ">"),
    ("pg CPU ms", 9, ">"),
)


def _line(cells: Sequence[str]) -> str:
    return "  ".join(f"{cell:{align}{width}}" for cell, (_, width, align) in zip(cells, COLUMNS, strict=True))


def _share(part: int, rest: int) -> str:
    return f"{part / (part + rest):.1%}" if part + rest else "-"


def report(section: Section) -> str:
    header = _line([name for name, _, _ in COLUMNS])
    lines = [
        f"Memory (docs/memory.md): one embedded postgres Memory with {section.records:,} records; "
        f"{QUERIES_PER_MODE} queries per mode, {QUERY_CONCURRENCY} in flight, limit {LIMIT} "
        "(goal: p99 < 50 ms)",
        f"write: records/s through the API with server-computed embeddings; query: queries/s. "
        f"COPY of the rest {section.load_seconds:.1f} s, then its search indexes (HNSW, GIN) "
        f"{section.index_seconds:.1f} s",
        f"during the queries, Postgres found {_share(section.blocks_hit, section.blocks_read)} of "
        f"{section.blocks_hit + section.blocks_read:,} blocks in shared_buffers "
        f"({section.blocks_read:,} read from the OS cache or disk)",
        "CPU ms per query: server = Jangar's server process, pg = postmaster and backends (the ceiling "
        "queries from this process; it has no server)",
        "",
        header,
        "-" * len(header),
    ]
    for row in section.rows:
        lines.append(
            _line(
                [
                    row.scenario,
                    f"{row.rate:,.0f}",
                    f"{row.p50_ms:.1f}",
                    f"{row.p99_ms:.1f}",
                    str(row.errors),
                    "-" if row.server_cpu_ms is None else f"{row.server_cpu_ms:.2f}",
                    "-" if row.pg_cpu_ms is None else f"{row.pg_cpu_ms:.2f}",
                ]
            )
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(
        prog="python -m tests.bench_memory", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("--server", required=True, help="the Jangar server's gRPC address")
    parser.add_argument("--dsn", required=True, help="the server's database (postgresql://...)")
    parser.add_argument("--records", type=int, default=DEFAULT_RECORDS)
    args = parser.parse_args()
    section = asyncio.run(
        run_section(server_address=args.server, database_url=args.dsn, records=args.records)
    )
    print(report(section))


if __name__ == "__main__":
    main()
