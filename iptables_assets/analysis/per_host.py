"""One host's view of a fleet: its whole-history tables, made from its rows of the daily tables
by the same functions that make the fleet's, and each host's line of the fleet's summary.

The daily tables carry the host (the syslog host field) in their key, so a host's view is its
rows: per-host and fleet totals agree by construction, and a host's page shows exactly what the
single-host journal shows for a server whose logs are that host's alone.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Callable, Collection
from datetime import date
from pathlib import PurePosixPath

import polars as pl

from iptables_assets.analysis import aggregates as agg
from iptables_assets.analysis import sshd

# The daily tables a host's view is made from (all days, that host's rows).
HOST_DAILY_TABLES = ("daily_country_counts", "daily_port_counts", "daily_country_port_counts",
                     "daily_source_summary", "daily_port_scans", "daily_traffic_breakdown")
UNNAMED = "(no host name)"  # how a host page names the lines whose syslog header names none


@dataclass
class HostHistory:
    """A host's whole-history tables, by the names of the fleet's (figures look them up so)."""

    tables: dict[str, pl.DataFrame]
    days: list[date] = field(default_factory=list)

    def table(self, name: str) -> pl.DataFrame:
        return self.tables[name]


def rows_by(frame: pl.DataFrame, column: str) -> dict:
    """The rows of each value of `column` (None: null), in one pass."""
    if frame.height == 0:
        return {}
    if frame[column].n_unique() == 1:  # one host (most outputs): the frame itself, not a copy
        return {frame[column][0]: frame}
    return {key[0]: part for key, part in frame.partition_by(column, as_dict=True, maintain_order=True).items()}


def split_by_host(frame: pl.DataFrame) -> dict[str | None, pl.DataFrame]:
    """The rows of each host (None: lines without a host name)."""
    return rows_by(frame, "host")


# The tables a host's `host_summary` line reads (a host without a page of its own needs no more).
LINE_TABLES = ("daily_country_counts", "country_totals", "port_scans", "longterm_port_scans", "sshd_kind_counts",
               "port_totals")


def host_history(daily: dict[str, pl.DataFrame], sshd_events: pl.DataFrame, reference: pl.DataFrame,
                 days: list[date], scan_threshold: int, big_scan_threshold: int,
                 only: Collection[str] | None = None) -> HostHistory:
    """The whole-history tables of one host from its rows of the daily tables (`daily`: name ->
    every day's rows of this host) and its sshd events, over the fleet's window `days`; `only`
    those tables (and what they are made from) when given."""
    made: dict[str, pl.DataFrame] = {}
    makers: dict[str, Callable[[], pl.DataFrame]] = {
        "country_totals": lambda: agg.country_totals(daily["daily_country_counts"], reference),
        "top_country_daily_series": lambda: agg.top_country_series(daily["daily_country_counts"],
                                                                   table("country_totals"), days),
        "port_totals": lambda: agg.port_totals(daily["daily_port_counts"]),
        "daily_country_counts": lambda: daily["daily_country_counts"],
        "daily_port_counts": lambda: daily["daily_port_counts"],
        "daily_country_port_counts": lambda: daily["daily_country_port_counts"],
        "port_scans": lambda: daily["daily_port_scans"],
        "longterm_port_scans": lambda: agg.longterm_port_scans(daily["daily_source_summary"], scan_threshold),
        "scan_summary": lambda: agg.scan_summary_table(agg.scan_summary(
            table("port_scans"), table("longterm_port_scans"), big_scan_threshold)),
        "daily_traffic_breakdown": lambda: daily["daily_traffic_breakdown"],
        "sshd_notable_lines": lambda: sshd.notable_lines(sshd_events),
        "sshd_kind_counts": lambda: sshd.kind_counts(sshd_events),
        "sshd_top_sources": lambda: sshd.top_sources(sshd_events),
        "sshd_scanners": lambda: sshd.scanners_at_sshd(sshd_events, table("port_scans"), table("longterm_port_scans")),
    }

    def table(name: str) -> pl.DataFrame:
        if name not in made:
            made[name] = makers[name]()
        return made[name]

    return HostHistory(tables={name: table(name) for name in (only or makers)}, days=days)


def host_line(host: str | None, page: str | None, history: HostHistory) -> dict:
    """The host's row of the fleet's `host_summary`: its counted drops, busiest day, scans,
    sshd events, top country and port, and its page."""
    tables = history.tables
    per_day = tables["daily_country_counts"].group_by("day").agg(pl.col("events").sum()).sort(
        ["events", "day"], descending=[True, False])
    known = tables["country_totals"].filter(pl.col("rank").is_not_null())
    return {
        "host": host,
        "page": page,
        "events": int(per_day["events"].sum() or 0),
        "days_with_drops": per_day.filter(pl.col("events") > 0).height,
        "busiest_day": per_day["day"][0] if per_day.height else None,
        "busiest_day_events": int(per_day["events"][0]) if per_day.height else 0,
        "daily_scans": tables["port_scans"].height,
        "longterm_scanners": tables["longterm_port_scans"].height,
        "sshd_events": int(tables["sshd_kind_counts"]["events"].sum() or 0),
        "top_country": known["country_code"][0] if known.height else None,
        "top_port": int(tables["port_totals"]["dst_port"][0]) if tables["port_totals"].height else None,
    }


def drops_per_host_day(daily_country_counts: pl.DataFrame) -> pl.DataFrame:
    """Counted drops per day and host (a host's quiet days have no row)."""
    return (
        daily_country_counts.group_by("day", "host").agg(pl.col("events").sum())
        .sort("day", "host", nulls_last=True)
    )


_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


def page_folders(hosts: list[str | None], redact: bool) -> dict[str | None, str]:
    """Each host's page folder under `hosts/`, one safe path component each: `host-N` (N: its
    place in the sorted list) when host names are redacted, else the name with anything but
    letters, digits, `.`, `_` and `-` replaced and no leading `.` or `-` (a host name comes from a
    log line: never a path or an option), suffixed by its place when that changed it, made two
    names alike (case-insensitively) or left nothing."""
    ordered = sorted(hosts, key=lambda h: (h is None, h or ""))
    if redact:
        return {host: f"host-{n}" for n, host in enumerate(ordered, 1)}
    folders: dict[str | None, str] = {}
    taken: set[str] = set()
    for n, host in enumerate(ordered, 1):
        safe = _UNSAFE.sub("_", host or "")[:64].lstrip(".-").rstrip(".")
        if not safe or safe.lower() in taken or safe != (host or ""):
            safe = f"{safe or 'unnamed'}-{n}"
        while safe.lower() in taken:  # a suffixed name may be another host's own
            safe = f"{safe}-{n}"
        taken.add(safe.lower())
        folders[host] = safe
    return folders


def host_inventory(inventory: pl.DataFrame, host: str | None) -> pl.DataFrame:
    """The inventory rows of a host's own files: those with a folder named after the host
    (`remote/<host>/…`); every row when its lines share files with other hosts."""
    if host is None or inventory.height == 0:
        return inventory
    mine = [host in PurePosixPath(relative).parts[:-1] for relative in inventory["relative"]]
    own = inventory.filter(pl.Series(mine, dtype=pl.Boolean))
    return own if own.height else inventory
