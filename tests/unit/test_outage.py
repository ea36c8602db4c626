"""The outage tracker: one WARNING when a dependency goes down, one INFO when it is back, counts between."""

import logging

import pytest

from jangar.server.core.errors import ServiceUnavailable
from jangar.server.core.outage import OutageTracker, describe


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def tracker(clock: Clock) -> OutageTracker:
    return OutageTracker("database", logging.getLogger("test.outage"), clock=clock)


def _refused() -> ServiceUnavailable:
    try:
        try:
            raise ConnectionRefusedError(111, "Connect call failed ('127.0.0.1', 5432)")
        except ConnectionRefusedError as error:
            raise ServiceUnavailable("the database is unavailable") from error
    except ServiceUnavailable as wrapped:
        return wrapped


def test_an_outage_logs_when_it_starts_and_when_it_ends(tracker, clock, caplog):
    caplog.set_level(logging.INFO, logger="test.outage")
    assert not tracker.down
    for _ in range(655):
        tracker.failed(_refused())
    tracker.failed(_refused(), call=False)  # the health probe's: not a call
    clock.now += 2.5
    tracker.available()
    assert not tracker.down
    assert [(r.levelname, r.getMessage()) for r in caplog.records] == [
        ("WARNING", "database unavailable: ConnectionRefusedError: [Errno 111] Connect call failed "
         "('127.0.0.1', 5432)"),
        ("INFO", "database available again after 2.5 s; 655 calls failed"),
    ]  # fmt: skip
    assert caplog.records[1].failed_calls == 655


def test_success_without_an_outage_logs_nothing(tracker, caplog):
    caplog.set_level(logging.INFO, logger="test.outage")
    tracker.available()
    tracker.available()
    assert caplog.records == []


def test_each_outage_is_reported_with_its_own_count(tracker, clock, caplog):
    caplog.set_level(logging.INFO, logger="test.outage")
    tracker.failed(_refused())
    tracker.available()
    tracker.failed(_refused(), call=False)
    tracker.failed(_refused())
    tracker.failed(_refused())
    clock.now += 1
    tracker.available()
    messages = [r.getMessage() for r in caplog.records]
    assert messages[1] == "database available again after 0.0 s; 1 calls failed"
    assert messages[2].startswith("database unavailable: ")
    assert messages[3] == "database available again after 1.0 s; 2 calls failed"
    assert len(messages) == 4


def test_describe_names_the_root_cause_only():
    assert (
        describe(_refused()) == "ConnectionRefusedError: [Errno 111] Connect call failed ('127.0.0.1', 5432)"
    )
    assert describe(TimeoutError()) == "TimeoutError"
