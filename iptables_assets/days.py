"""Calendar days: the one place that turns a first and last day into every day between."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Iterable


def days_between(first: date, last: date) -> list[date]:
    """Every day from `first` to `last`, both included (none if `last` is before `first`)."""
    return [first + timedelta(days=i) for i in range((last - first).days + 1)]


def contiguous_ranges(days: Iterable[date]) -> list[tuple[date, date]]:
    """Sorted days as runs of consecutive days: {1, 2, 3, 7} -> [(1, 3), (7, 7)]."""
    ranges: list[tuple[date, date]] = []
    for day in sorted(days):
        if ranges and day == ranges[-1][1] + timedelta(days=1):
            ranges[-1] = (ranges[-1][0], day)
        else:
            ranges.append((day, day))
    return ranges
