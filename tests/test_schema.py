"""The seed tables exist exactly as the seed writes them, and the SQLAlchemy tables match the migrations."""

from __future__ import annotations

import pytest

from jangar.server.repository.tables import metadata

# (column, data type, nullable, default) from jangar-implementation-requirements.md section 2.1.
UUID_PK = ("id", "uuid", "NO", "gen_random_uuid()")
CREATED = ("created_at", "timestamp with time zone", "NO", "now()")
UPDATED = ("updated_at", "timestamp with time zone", "NO", "now()")


def _run_table(parent: str) -> list[tuple[str, str, str, str | None]]:
    return [
        UUID_PK,
        (f"{parent}_name", "text", "NO", None),
        ("delivery_id", "text", "NO", None),
        ("provider", "text", "NO", None),
        ("status", "text", "NO", None),
        ("external_run_id", "text", "YES", None),
        ("payload", "jsonb", "NO", None),
        CREATED,
        UPDATED,
    ]


SEED = {
    "agent_runs": _run_table("agent"),
    "memory_resources": [
        UUID_PK,
        ("memory_name", "text", "NO", None),
        ("provider", "text", "NO", None),
        ("status", "text", "NO", None),
        ("connection_secret", "jsonb", "YES", None),
        CREATED,
        UPDATED,
    ],
    "orchestration_runs": _run_table("orchestration"),
    "audit_events": [
        UUID_PK,
        ("entity_type", "text", "NO", None),
        ("entity_id", "uuid", "NO", None),
        ("event_type", "text", "NO", None),
        ("payload", "jsonb", "NO", None),
        CREATED,
    ],
}


@pytest.mark.parametrize("table", sorted(SEED))
async def test_seed_table_columns_are_exactly_the_seeds(db, table):
    rows = await db.fetch(
        "SELECT column_name, data_type, is_nullable, column_default FROM information_schema.columns "
        "WHERE table_name = $1 ORDER BY ordinal_position",
        table,
    )
    seed_columns = [tuple(row.values()) for row in rows][: len(SEED[table])]
    assert seed_columns == SEED[table]


@pytest.mark.parametrize(
    ("index", "definition"),
    [
        (
            "agent_runs_delivery_id_idx",
            "CREATE UNIQUE INDEX agent_runs_delivery_id_idx ON public.agent_runs USING btree (delivery_id)",
        ),
        (
            "orchestration_runs_delivery_id_idx",
            "CREATE UNIQUE INDEX orchestration_runs_delivery_id_idx "
            "ON public.orchestration_runs USING btree (delivery_id)",
        ),
    ],
)
async def test_seed_unique_indexes(db, index, definition):
    assert await db.fetchval("SELECT indexdef FROM pg_indexes WHERE indexname = $1", index) == definition


async def test_table_definitions_match_the_migrated_schema(db):
    for table in metadata.sorted_tables:
        rows = await db.fetch(
            "SELECT column_name, is_nullable FROM information_schema.columns WHERE table_name = $1",
            table.name,
        )
        actual = {row["column_name"]: row["is_nullable"] == "YES" for row in rows}
        expected = {column.name: column.nullable for column in table.columns}
        assert actual == expected, table.name


async def test_every_list_filter_has_an_index(db):
    indexed = {
        row["indexdef"]
        for row in await db.fetch("SELECT indexdef FROM pg_indexes WHERE schemaname = 'public'")
    }

    def has(table: str, columns: str) -> bool:
        return any(f"ON public.{table} USING" in d and f"({columns}" in d for d in indexed)

    for table in ("agents", "memory_resources", "orchestrations", "agent_runs", "orchestration_runs"):
        assert has(table, "created_at DESC, id DESC"), table
        assert has(table, "namespace, created_at DESC"), table
        assert any(f"ON public.{table} USING gin (labels)" in d for d in indexed), table
    for table, parent in (("agent_runs", "agent"), ("orchestration_runs", "orchestration")):
        for column in (f"{parent}_id", f"{parent}_name", "status"):
            assert has(table, f"{column}, created_at DESC"), (table, column)
