"""set_timestamp writes the same Timestamp as protobuf's FromDatetime, for every kind of datetime the server
meets: aware in UTC or another offset, naive (read as UTC), before the epoch, at either end of a second."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from google.protobuf.timestamp_pb2 import Timestamp

from jangar.server.core.timestamps import set_timestamp, set_timestamp_if_any
from jangar.v1 import run_pb2

MOMENTS = [
    datetime(2026, 12, 3, 6, 5, 1, 123456, tzinfo=UTC),
    datetime(2026, 12, 3, 6, 5, 1, tzinfo=UTC),
    datetime(2026, 12, 3, 6, 5, 1, 999999, tzinfo=UTC),
    datetime(2026, 12, 3, 11, 35, 1, 500, tzinfo=timezone(timedelta(hours=5, minutes=30))),
    datetime(2026, 12, 3, 1, 5, 1, 7, tzinfo=timezone(timedelta(hours=-5))),
    datetime(2026, 12, 3, 6, 5, 1, 42),
    datetime(1970, 1, 1, tzinfo=UTC),
    datetime(1969, 12, 31, 23, 59, 59, 250000, tzinfo=UTC),
    datetime(1901, 6, 1, 12, 0, 0, 1),
    datetime(9999, 12, 31, 23, 59, 59, 999999, tzinfo=UTC),
]


@pytest.mark.parametrize("moment", MOMENTS, ids=str)
def test_the_same_timestamp_as_from_datetime(moment: datetime) -> None:
    expected = Timestamp()
    expected.FromDatetime(moment)
    written = Timestamp(seconds=1, nanos=1)  # every field is overwritten
    set_timestamp(written, moment)
    assert written == expected
    assert written.ToDatetime(UTC) == (moment if moment.tzinfo else moment.replace(tzinfo=UTC))


def test_a_message_field_set_to_the_epoch_is_present() -> None:
    run = run_pb2.Run()
    set_timestamp(run.create_time, datetime(1970, 1, 1, tzinfo=UTC))
    assert run.HasField("create_time")


def test_a_missing_time_leaves_the_field_unset_and_a_present_one_sets_it():
    run = run_pb2.Run()
    set_timestamp_if_any(run.start_time, None)
    assert not run.HasField("start_time")
    moment = datetime(2026, 12, 3, 13, 0, 1, 250, tzinfo=UTC)
    set_timestamp_if_any(run.start_time, moment)
    assert run.start_time.ToDatetime(tzinfo=UTC) == moment
