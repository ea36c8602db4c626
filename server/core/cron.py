"""Cron expressions, read as Kubernetes CronJobs read them (five fields, names and steps, no seconds field, no
`L`/`W`/`#` extensions), evaluated in an IANA time zone by cronsim.

cronsim works on wall-clock time in the zone, which is what makes scheduled times follow daylight saving
changes: a time inside a spring-forward gap fires at the first minute after the gap, a time a fall-back
repeats fires once (the first occurrence), as Debian's cron and Kubernetes' CronJob controller do."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta, tzinfo
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from cronsim import CronSim, CronSimError

FIELDS = 5
MAX_EXPRESSION_BYTES = 256
# cronsim's extensions that Kubernetes' parser (robfig/cron) refuses: a CronJob would never be created.
_EXTENSIONS = re.compile(r"#|\bL\b|\bLW\b|\d[LW]\b")
_UTC_NAMES = ("", "UTC", "Etc/UTC")


def zone(name: str) -> tzinfo:
    """The zone `name` names (UTC when empty); raises ValueError for an unknown one."""
    if name in _UTC_NAMES:
        return UTC
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"unknown IANA time zone {name!r}") from None


def timezone_problems(name: str) -> list[str]:
    # A path-like name would make zoneinfo read files outside its database.
    if name.startswith("/") or ".." in name or len(name) > 64:
        return ["must be an IANA time zone name such as Europe/Berlin"]
    try:
        zone(name)
    except ValueError as error:
        return [str(error)]
    return []


def expression_problems(expression: str) -> list[str]:
    if len(expression.encode()) > MAX_EXPRESSION_BYTES:
        return [f"must be at most {MAX_EXPRESSION_BYTES} bytes"]
    fields = expression.split()
    if expression.startswith("@") or len(fields) != FIELDS:
        return ["must have five fields: minute hour day-of-month month day-of-week (for example '0 3 * * *')"]
    if _EXTENSIONS.search(expression.upper()):
        return ["must not use the L, W or # extensions, which Kubernetes CronJobs do not accept"]
    try:
        CronSim(expression, datetime(2000, 1, 1, tzinfo=UTC))
    except CronSimError as error:
        return [f"is not a valid cron expression: {error}"]
    return []


def next_after(expression: str, zone_name: str, moment: datetime) -> datetime | None:
    """The first scheduled time strictly after `moment`, in UTC; None when there is none (`0 0 30 2 *`)."""
    local = moment.astimezone(zone(zone_name))
    try:
        found = next(iter(CronSim(expression, local)))
    except StopIteration:
        return None
    return found.astimezone(UTC)


def latest_at_or_before(expression: str, zone_name: str, moment: datetime) -> datetime | None:
    """The last scheduled time at or before `moment`, in UTC; None when there is none. cronsim's reverse
    iteration excludes its start, so it starts at the next whole minute."""
    start = moment.astimezone(zone(zone_name)).replace(second=0, microsecond=0) + timedelta(minutes=1)
    try:
        found = next(iter(CronSim(expression, start, reverse=True)))
    except StopIteration:
        return None
    return found.astimezone(UTC)
