"""The server's settings from the environment: the page token key is optional, long enough when set, and
never shown; the outbox's concurrency fits in the database pool."""

from __future__ import annotations

import pytest

from jangar.server.config import ConfigError, ServerSettings


@pytest.fixture(autouse=True)
def database_url(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("JANGAR_DATABASE_URL", "postgresql://jangar@127.0.0.1:5432/jangar")
    monkeypatch.delenv("JANGAR_PAGE_TOKEN_KEY", raising=False)


def test_without_a_page_token_key_the_stored_one_is_used():
    assert ServerSettings.from_env().page_token_key == b""


def test_a_page_token_key_is_read_and_never_shown(monkeypatch):
    secret = "s3cret-" + "x" * 40
    monkeypatch.setenv("JANGAR_PAGE_TOKEN_KEY", secret)
    settings = ServerSettings.from_env()
    assert settings.page_token_key == secret.encode()
    assert "s3cret" not in repr(settings) and "s3cret" not in str(settings)


def test_a_short_page_token_key_is_refused_without_echoing_it(monkeypatch):
    monkeypatch.setenv("JANGAR_PAGE_TOKEN_KEY", "s3cret-short")
    with pytest.raises(ConfigError, match="at least 32 bytes") as caught:
        ServerSettings.from_env()
    assert "s3cret" not in str(caught.value)


def test_the_outbox_performs_four_writes_at_once_unless_told_otherwise(monkeypatch):
    monkeypatch.delenv("JANGAR_OUTBOX_CONCURRENCY", raising=False)
    monkeypatch.delenv("JANGAR_DB_POOL_SIZE", raising=False)
    assert ServerSettings.from_env().outbox_concurrency == 4
    monkeypatch.setenv("JANGAR_OUTBOX_CONCURRENCY", "8")
    assert ServerSettings.from_env().outbox_concurrency == 8


def test_a_small_pool_lowers_the_default_outbox_concurrency_to_half_of_it(monkeypatch):
    monkeypatch.delenv("JANGAR_OUTBOX_CONCURRENCY", raising=False)
    for pool, concurrency in (("5", 2), ("2", 1), ("1", 1)):
        monkeypatch.setenv("JANGAR_DB_POOL_SIZE", pool)
        assert ServerSettings.from_env().outbox_concurrency == concurrency


def test_an_outbox_concurrency_above_half_the_pool_is_refused(monkeypatch):
    monkeypatch.setenv("JANGAR_DB_POOL_SIZE", "10")
    monkeypatch.setenv("JANGAR_OUTBOX_CONCURRENCY", "6")
    with pytest.raises(ConfigError, match=r"JANGAR_OUTBOX_CONCURRENCY \(6\) may use at most half"):
        ServerSettings.from_env()
    monkeypatch.setenv("JANGAR_OUTBOX_CONCURRENCY", "0")
    with pytest.raises(ConfigError, match="at least 1"):
        ServerSettings.from_env()
