"""Calendar days: the one place that turns a first and last day into every day between."""

from __future__ import annotations

from datetime import date, timedelta


def days_between(first: date, last: date) -> list[date]:
    """Every day from `first` to `last`, both included (none if `last` is before `first`)."""
    return [first + timedelta(days=i) for i in range((last - first).days + 1)]
