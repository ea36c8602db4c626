"""Label selectors as PostgreSQL jsonb conditions: the SQL they compile to, and (with the `pg_url`
database) that PostgreSQL selects exactly the rows Selector.matches accepts."""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB, asyncpg
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.pool import NullPool
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.expression import ClauseElement, Executable

from jangar.server.core.selectors import parse_selector
from jangar.server.repository.selectors import selector_clause

TABLE = sa.table("selector_agreement", sa.column("id", sa.Integer), sa.column("labels", JSONB))
_BIND = re.compile(r"\$(\d+)")


def _compile(text: str, column: Any = TABLE.c.labels) -> tuple[str, list[Any]]:
    """The SQL, as the asyncpg dialect writes it, with every bind parameter shown as `:p`, and the bound
    values in the order they appear."""
    compiled = selector_clause(column, parse_selector(text)).compile(
        dialect=asyncpg.dialect(), compile_kwargs={"render_postcompile": True}
    )
    assert compiled.positiontup is not None
    sql = str(compiled).replace("selector_agreement.", "")
    values = [compiled.params[compiled.positiontup[int(n) - 1]] for n in _BIND.findall(sql)]
    return _BIND.sub(":p", sql), values


def test_empty_selector_is_true() -> None:
    assert _compile("") == ("true", [])


def test_exists_uses_the_key_operator() -> None:
    assert _compile("example.com/app") == ("labels ? :p::VARCHAR", ["example.com/app"])


def test_does_not_exist_negates_the_key_operator() -> None:
    assert _compile("!a") == ("NOT (labels ? :p::VARCHAR)", ["a"])


@pytest.mark.parametrize("text", ["a=b", "a==b", "a in (b)"])
def test_equality_uses_containment(text: str) -> None:
    assert _compile(text) == ("labels @> :p::JSONB", [{"a": "b"}])


def test_in_tests_the_key_then_the_value() -> None:
    assert _compile("a in (y,x)") == (
        "(labels ? :p::VARCHAR) AND (labels ->> :p::TEXT) IN (:p::VARCHAR, :p::VARCHAR)",
        ["a", "a", "x", "y"],
    )


@pytest.mark.parametrize(
    ("text", "sql", "values"),
    [
        (
            "a!=b",
            "NOT ((labels ? :p::VARCHAR)) OR ((labels ->> :p::TEXT) NOT IN (:p::VARCHAR))",
            ["a", "a", "b"],
        ),
        (
            "a notin (c,b)",
            "NOT ((labels ? :p::VARCHAR)) OR ((labels ->> :p::TEXT) NOT IN (:p::VARCHAR, :p::VARCHAR))",
            ["a", "a", "b", "c"],
        ),
    ],
)
def test_negations_also_match_rows_without_the_key(text: str, sql: str, values: list[str]) -> None:
    assert _compile(text) == (sql, values)


@pytest.mark.parametrize(
    ("text", "low", "high"),
    [
        ("n>5", 6, 2**63 - 1),
        ("n<5", -(2**63), 4),
        # Nothing is above the int64 maximum, so the range is empty.
        ("n>9223372036854775807", 2**63, 2**63 - 1),
    ],
)
def test_integer_comparison_is_guarded(text: str, low: int, high: int) -> None:
    assert _compile(text) == (
        "(labels ? :p::VARCHAR) AND CASE WHEN ((labels ->> :p::TEXT) ~ :p::VARCHAR) "
        "THEN CAST((labels ->> :p::TEXT) AS NUMERIC) BETWEEN :p::NUMERIC AND :p::NUMERIC ELSE false END",
        ["n", "n", "^[+-]?0*[0-9]{1,19}$", "n", Decimal(low), Decimal(high)],
    )


def test_requirements_are_joined_with_and() -> None:
    assert _compile("b,!a,c=d") == (
        "NOT ((labels ? :p::VARCHAR)) AND (labels ? :p::VARCHAR) AND (labels @> :p::JSONB)",
        ["a", "b", {"c": "d"}],
    )


def test_keys_and_values_are_only_bound() -> None:
    sql, values = _compile("kx1=vx1,kx2 in (vx2,vx3),kx4 notin (vx4),!kx5,kx6>7,kx8")
    assert "x" not in sql.replace("labels", "")
    assert {"kx2", "vx2", "vx3", "kx4", "vx4", "kx5", "kx6", "kx8"} <= {
        v for v in values if isinstance(v, str)
    }
    assert {"kx1": "vx1"} in values


@pytest.mark.parametrize("column", [sa.column("labels"), sa.column("labels", sa.JSON)])
def test_any_column_object_gets_the_jsonb_operators(column: Any) -> None:
    assert _compile("a=b,c", column) == (
        "(labels @> :p::JSONB) AND (labels ? :p::VARCHAR)",
        [{"a": "b"}, "c"],
    )


# --- against PostgreSQL ----------------------------------------------------------------------------------

LABEL_MAPS: list[dict[str, str]] = [
    {},
    {"app": "web"},
    {"app": "db"},
    {"app": "web", "tier": "frontend"},
    {"app": ""},
    {"app": "Web"},
    {"tier": "backend", "env": "prod"},
    {"env": "dev", "replicas": "3"},
    {"replicas": "10"},
    {"replicas": "-5"},
    {"replicas": "+7"},
    {"replicas": "007"},
    {"replicas": "abc"},
    {"replicas": "9223372036854775807"},
    {"replicas": "9223372036854775808"},
    {"replicas": "-9223372036854775808"},
    {"replicas": "0" * 5000 + "4"},
    {"replicas": "4\n"},
    {"replicas": " 4"},
    {"replicas": "1_000"},
    {"example.com/app": "web", "app": "cache"},
    {"in": "notin"},
    {"a'b": 'x"y'},
]
SELECTORS = [
    "",
    "app",
    "!app",
    "app=web",
    "app==web",
    "app!=web",
    "app in (web, db)",
    "app notin (web,db)",
    "app in ()",
    "app in (,web)",
    "app=",
    "app in (web)",
    "app notin (web)",
    "tier,app=web",
    "app=web,app=db",
    "env!=prod,!app",
    "!tier,env in (prod,dev)",
    "example.com/app=web,app=cache",
    "in=notin",
    "replicas>5",
    "replicas<5",
    "replicas>0",
    "replicas<0",
    "replicas<1",
    "replicas>3,replicas<10",
    "replicas>9223372036854775806",
    "replicas<9223372036854775807",
]


class _Explain(Executable, ClauseElement):
    inherit_cache = False

    def __init__(self, statement: sa.Select[Any]) -> None:
        self.statement = statement


@compiles(_Explain, "postgresql")
def _compile_explain(element: _Explain, compiler: SQLCompiler, **kw: Any) -> str:
    return "EXPLAIN " + compiler.process(element.statement, **kw)


@pytest.mark.postgres
async def test_postgres_selects_what_matches_accepts(pg_url: str) -> None:
    engine = create_async_engine(pg_url, poolclass=NullPool)
    try:
        async with engine.connect() as conn:
            # A temporary table: private to this connection, gone with it, and no migration involved.
            await conn.execute(
                sa.text("CREATE TEMPORARY TABLE selector_agreement (id integer PRIMARY KEY, labels jsonb)")
            )
            await conn.execute(sa.text("CREATE INDEX ON selector_agreement USING gin (labels)"))
            await conn.execute(sa.insert(TABLE), [{"id": i, "labels": m} for i, m in enumerate(LABEL_MAPS)])
            mismatches = []
            for text in SELECTORS:
                selector = parse_selector(text)
                statement = sa.select(TABLE.c.id).where(selector_clause(TABLE.c.labels, selector))
                selected = set((await conn.execute(statement)).scalars())
                expected = {i for i, labels in enumerate(LABEL_MAPS) if selector.matches(labels)}
                if selected != expected:
                    mismatches.append((text, sorted(selected), sorted(expected)))
            assert mismatches == []
            await conn.rollback()
    finally:
        await engine.dispose()


@pytest.mark.postgres
@pytest.mark.parametrize(("text", "condition"), [("app=web", "labels @> "), ("app", "labels ? ")])
async def test_gin_index_serves_equality_and_existence(pg_url: str, text: str, condition: str) -> None:
    engine = create_async_engine(pg_url, poolclass=NullPool)
    try:
        async with engine.connect() as conn:
            await conn.execute(
                sa.text("CREATE TEMPORARY TABLE selector_agreement (id integer, labels jsonb)")
            )
            await conn.execute(
                sa.text("CREATE INDEX selector_agreement_gin ON selector_agreement USING gin (labels)")
            )
            # Without a sequential scan to fall back on, the planner uses the index if, and only if, it can.
            await conn.execute(sa.text("SET LOCAL enable_seqscan = off"))
            statement = sa.select(TABLE.c.id).where(selector_clause(TABLE.c.labels, parse_selector(text)))
            plan = "\n".join((await conn.execute(_Explain(statement))).scalars())
            assert "Bitmap Index Scan on selector_agreement_gin" in plan
            assert f"Index Cond: ({condition}" in plan
            await conn.rollback()
    finally:
        await engine.dispose()
