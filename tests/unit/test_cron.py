"""Scheduled times in a time zone across daylight saving changes, and the cron rules Kubernetes shares."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from jangar.server.core import cron
from jangar.server.core.cron_jobs import MAX_NAME, cron_job_name


def at(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC)


def test_a_time_in_the_spring_forward_gap_fires_at_the_first_minute_after_it():
    # 2026-03-08 02:30 does not exist in New York: clocks go from 02:00 EST to 03:00 EDT.
    assert cron.next_after("30 2 * * *", "America/New_York", at(2026, 3, 7, 12)) == at(2026, 3, 8, 7)
    assert cron.next_after("30 2 * * *", "America/New_York", at(2026, 3, 8, 12)) == at(2026, 3, 9, 6, 30)


def test_a_wall_clock_time_keeps_its_local_hour_across_the_change():
    # 09:00 in Berlin is 08:00 UTC in winter and 07:00 UTC in summer (29 March 2026).
    assert cron.next_after("0 9 * * *", "Europe/Berlin", at(2026, 3, 28, 12)) == at(2026, 3, 29, 7)
    assert cron.next_after("0 9 * * *", "Europe/Berlin", at(2026, 3, 27, 12)) == at(2026, 3, 28, 8)


def test_a_time_the_fall_back_repeats_fires_once():
    # 01:30 happens twice in New York on 2026-11-01 (EDT, then EST): only the first fires.
    first = cron.next_after("30 1 * * *", "America/New_York", at(2026, 11, 1, 4))
    assert first == at(2026, 11, 1, 5, 30)
    assert cron.next_after("30 1 * * *", "America/New_York", first) == at(2026, 11, 2, 6, 30)


def test_latest_at_or_before_includes_the_moment_itself():
    assert cron.latest_at_or_before("0 * * * *", "UTC", at(2026, 12, 2, 1)) == at(2026, 12, 2, 1)
    assert cron.latest_at_or_before("0 * * * *", "UTC", at(2026, 12, 2, 1, 59, 59)) == at(2026, 12, 2, 1)
    assert cron.latest_at_or_before("0 0 1 1 *", "Asia/Tokyo", at(2026, 6, 1)) == at(2025, 12, 31, 15)


@pytest.mark.parametrize(
    "expression", ["* * * *", "0 0 * * * *", "@daily", "0 0 L * *", "0 0 * * MON#2", "0 0 15W * *"]
)
def test_what_a_cronjob_would_refuse_is_refused(expression):
    assert cron.expression_problems(expression)


@pytest.mark.parametrize(
    "expression", ["*/15 * * * *", "0 9 * JAN-MAR MON-FRI", "0 0 * JUL WED", "5 4 1,15 * *"]
)
def test_standard_expressions_are_accepted(expression):
    assert cron.expression_problems(expression) == []


def test_cron_job_names_are_deterministic_short_and_distinct():
    long_a, long_b = "a" * 62 + "b", "a" * 62 + "c"
    assert cron_job_name(long_a) == cron_job_name(long_a)
    assert cron_job_name(long_a) != cron_job_name(long_b)
    assert len(cron_job_name(long_a)) == MAX_NAME
