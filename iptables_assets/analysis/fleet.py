"""What only a fleet shows: sources that probe many hosts (horizontal scans).

A vertical scan (`aggregates`) is one source reaching many ports of one server. With the logs
of many hosts, the same counted events (INPUT drops and rejects with a destination port, as
`aggregates.counted` keeps them) also show the other sweep: one source reaching **the same
port on many hosts**. A host is the syslog host field of the line (on a central log host,
the sender; the destination address cannot tell hosts apart behind NAT).

- per day: (day, source, port) with more than `min_hosts` distinct hosts that day
  (default `settings.FLEET_SCAN_HOSTS` = 3);
- over the whole history: (source, port) with more than `min_hosts` distinct hosts in all
  (default `settings.FLEET_LONGTERM_HOSTS` = 5), which also finds slow sweeps that touch a
  host or two a day and never cross the daily threshold.

The port number alone is the port (TCP 53 and UDP 53 are one), as in the vertical detector.
"""

from __future__ import annotations

import polars as pl

from iptables_assets.settings import FLEET_LONGTERM_HOSTS, FLEET_SCAN_HOSTS


def host_probes(counted: pl.DataFrame) -> pl.DataFrame:
    """Counted events per day, source, destination port and host (events without a port left
    out): what the horizontal detectors need of a day, small enough to keep for every day."""
    return (
        counted.filter(pl.col("dst_port").is_not_null())
        .group_by("day", "src_ip", "dst_port", "host")
        .agg(pl.len().cast(pl.Int64).alias("events"))
        .sort("day", "src_ip", "dst_port", "host")
    )


def _reachable(probes: pl.DataFrame | pl.LazyFrame, min_hosts: int) -> pl.LazyFrame:
    """The probes, or none of them when they hold no more than `min_hosts` hosts in all: then no
    source can reach more, and a year of one host's probes is not grouped for nothing (~2 s)."""
    probes = probes.lazy()
    hosts = probes.select(pl.col("host").n_unique()).collect().item()
    return probes if hosts > min_hosts else probes.head(0)


def horizontal_scans(probes: pl.DataFrame | pl.LazyFrame, min_hosts: int = FLEET_SCAN_HOSTS) -> pl.DataFrame:
    """(day, source, port) reaching more than `min_hosts` hosts that day, with the hosts."""
    return (
        _reachable(probes, min_hosts).group_by("day", "src_ip", "dst_port")
        .agg(
            pl.col("host").n_unique().cast(pl.Int64).alias("hosts_reached"),
            pl.col("host").unique().sort().alias("hosts"),
            pl.col("events").sum().alias("events"),
        )
        .filter(pl.col("hosts_reached") > min_hosts)
        .sort("day", "src_ip", "dst_port")
        .collect()
    )


def longterm_horizontal_scans(probes: pl.DataFrame | pl.LazyFrame, min_hosts: int = FLEET_LONGTERM_HOSTS,
                              daily_min_hosts: int = FLEET_SCAN_HOSTS) -> pl.DataFrame:
    """(source, port) reaching more than `min_hosts` hosts over the whole history, with the
    hosts, first and last day, days active and whether it was slow (never over the daily
    threshold `daily_min_hosts` on any one day)."""
    probes = _reachable(probes, min_hosts)
    per_day = probes.group_by("day", "src_ip", "dst_port").agg(
        pl.col("host").n_unique().alias("__hosts_that_day"))
    per_pair = probes.group_by("src_ip", "dst_port").agg(
        pl.col("host").n_unique().cast(pl.Int64).alias("hosts_reached"),
        pl.col("host").unique().sort().alias("hosts"),
        pl.col("day").min().alias("first_day"),
        pl.col("day").max().alias("last_day"),
        pl.col("day").n_unique().cast(pl.Int64).alias("days_active"),
        pl.col("events").sum().alias("events"),
    ).filter(pl.col("hosts_reached") > min_hosts)
    busiest = per_day.group_by("src_ip", "dst_port").agg(
        pl.col("__hosts_that_day").max().cast(pl.Int64).alias("max_hosts_in_a_day"))
    return (
        per_pair.join(busiest, on=["src_ip", "dst_port"], how="left")
        .with_columns((pl.col("max_hosts_in_a_day") <= daily_min_hosts).alias("slow"))
        .sort(["hosts_reached", "src_ip", "dst_port"], descending=[True, False, False])
        .collect()
    )

