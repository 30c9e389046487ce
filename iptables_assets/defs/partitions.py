"""The daily partitions are the logs' days: every calendar day (in the logs' time zone) from the
first to the last day the logs hold, kept in the Dagster instance.

Why dynamic partitions (issue 21). A time-window definition fixes its bounds when the code
location loads: on a fresh output folder nothing says where the logs start, nothing bounds the
end of old logs, and when the bounds change the webserver, the daemon and the run processes
disagree until someone reloads the code location (a run then fails because its partitions are
"before the start"). Days kept in the instance are the same for the webserver, the daemon and
every run the moment they are added, with no reload; they are only ever added, so a run never
loses its partitions under it; and a single-run backfill still covers a range of them in one run.

Who adds days, each as soon as it knows them, always the whole span so that the days inside it
without events are real (zero) days: `iptables-assets run` after its inventory; the
`log_file_inventory` asset; the `new_log_files` sensor (its first look lists every file's days;
later looks the days of new content, today's included for a live host); the daily schedule (a
live host's yesterday). Days are added in date order; days older than the first known day, found
later (older logs copied in), come after the others in the UI's order, and every range of days
asked for is cut where the partition order is not the date order (`key_ranges`).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date

import dagster as dg

from iptables_assets.days import days_between

LOG_DAYS = "log_days"
# The one partitions definition of every per-day asset.
daily_partitions = dg.DynamicPartitionsDefinition(name=LOG_DAYS)


def days_to_add(known: Iterable[str], found: Iterable[date], start: date | None = None) -> list[str]:
    """The days (YYYY-MM-DD, in date order) to add so that the known days and the days `found`
    make one span without holes; none before `start` (the start date setting) when given."""
    have = set(known)
    days = {date.fromisoformat(k) for k in have} | set(found)
    if not days:
        return []
    first, last = min(days), max(days)
    if start is not None:
        first = max(first, start)
    return [d.isoformat() for d in days_between(first, last) if d.isoformat() not in have]


def known_days(instance: dg.DagsterInstance) -> list[str]:
    """The days the instance holds, in partition order."""
    return list(instance.get_dynamic_partitions(LOG_DAYS))


def add_days(instance: dg.DagsterInstance, found: Iterable[date], start: date | None = None) -> list[str]:
    """Add the days that make `found` and the known days one span; return those added."""
    new = days_to_add(known_days(instance), found, start)
    if new:
        instance.add_dynamic_partitions(LOG_DAYS, new)
    return new


def add_request(known: Iterable[str], found: Iterable[date], start: date | None = None) -> list:
    """The same, as what a sensor returns (the daemon adds the days before it launches runs)."""
    new = days_to_add(known, found, start)
    return [daily_partitions.build_add_request(new)] if new else []


def key_ranges(order: list[str], days: Iterable[date]) -> list[tuple[str, str]]:
    """`days` as (first, last) ranges of consecutive partitions in the partition order `order`:
    a range's run covers exactly the partitions between its ends (days not in `order` left out)."""
    position = {key: i for i, key in enumerate(order)}
    wanted = sorted(position[d.isoformat()] for d in set(days) if d.isoformat() in position)
    ranges: list[tuple[int, int]] = []
    for i in wanted:
        if ranges and i == ranges[-1][1] + 1:
            ranges[-1] = (ranges[-1][0], i)
        else:
            ranges.append((i, i))
    return [(order[a], order[b]) for a, b in ranges]
