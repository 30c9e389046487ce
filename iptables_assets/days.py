"""Calendar days: the one place that turns a first and last day into every day between."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo


def days_between(first: date, last: date) -> list[date]:
    """Every day from `first` to `last`, both included (none if `last` is before `first`)."""
    return [first + timedelta(days=i) for i in range((last - first).days + 1)]


def moments_of(first: date, last: date, tz: str) -> tuple[datetime, datetime]:
    """The first and the last microsecond (UTC) of the days `first`..`last` in the time zone `tz`
    (23 or 25 hours across a DST change, as its local midnights fall)."""
    zone = ZoneInfo(tz)
    start = datetime.combine(first, datetime.min.time(), zone)
    end = datetime.combine(last + timedelta(days=1), datetime.min.time(), zone)
    return start.astimezone(timezone.utc), (end - timedelta(microseconds=1)).astimezone(timezone.utc)
