"""Start-up's wait for the database: retries what waiting can cure, in few log lines, and gives up when
told to."""

import logging

import pytest

from jangar.server import database_wait
from jangar.server.database_wait import DatabaseUnreachableError, wait_for_database
from jangar.server.migrations_runner import SchemaBehindError

LOG = logging.getLogger("test.database_wait")


@pytest.fixture(autouse=True)
def quick_retries(monkeypatch):
    monkeypatch.setattr(database_wait, "FIRST_RETRY_SECONDS", 0.01)
    monkeypatch.setattr(database_wait, "MAX_RETRY_SECONDS", 0.02)
    monkeypatch.setattr(database_wait, "JITTER_SECONDS", 0.0)


class Database:
    """Fails with the given errors, one per attempt, then answers."""

    def __init__(self, *errors: BaseException) -> None:
        self.errors = list(errors)
        self.attempts = 0

    async def __call__(self) -> str:
        self.attempts += 1
        if self.errors:
            raise self.errors.pop(0)
        return "schema ok"


def _messages(caplog) -> list[tuple[str, str]]:
    return [(r.levelname, r.getMessage()) for r in caplog.records if r.name == LOG.name]


async def test_waits_through_refusals_and_logs_once_per_new_error(caplog):
    caplog.set_level(logging.INFO, logger=LOG.name)
    refused = [ConnectionRefusedError(111, "Connect call failed") for _ in range(5)]
    reset = ConnectionResetError(104, "Connection reset by peer")
    database = Database(*refused, reset, ConnectionRefusedError(111, "Connect call failed"))
    assert await wait_for_database(database, max_wait_seconds=0, log=LOG) == "schema ok"
    assert database.attempts == 8
    (waiting, changed, reached) = _messages(caplog)
    assert waiting == (
        "WARNING",
        "database unreachable; waiting until it answers (JANGAR_DATABASE_WAIT_SECONDS can bound that), "
        "retrying at most 0.02 s apart: ConnectionRefusedError: [Errno 111] Connect call failed",
    )
    assert changed == (
        "WARNING",
        "still waiting for the database: ConnectionResetError: [Errno 104] Connection reset by peer",
    )
    assert reached[0] == "INFO" and reached[1].startswith("database reached after ")


async def test_a_database_reached_at_once_logs_nothing(caplog):
    caplog.set_level(logging.INFO, logger=LOG.name)
    assert await wait_for_database(Database(), max_wait_seconds=0, log=LOG) == "schema ok"
    assert _messages(caplog) == []


async def test_errors_waiting_cannot_cure_are_raised_at_once():
    database = Database(SchemaBehindError("database schema is at revision none"))
    with pytest.raises(SchemaBehindError):
        await wait_for_database(database, max_wait_seconds=0, log=LOG)
    assert database.attempts == 1


async def test_gives_up_after_the_bound_with_the_last_cause():
    database = Database(*(ConnectionRefusedError(111, "Connect call failed") for _ in range(10_000)))
    with pytest.raises(DatabaseUnreachableError) as error:
        await wait_for_database(database, max_wait_seconds=0.2, log=LOG)
    assert "giving up: ConnectionRefusedError: [Errno 111] Connect call failed" in str(error.value)
    assert "JANGAR_DATABASE_WAIT_SECONDS=0.2" in str(error.value)
    assert database.attempts > 1
