"""Daily aggregates, whole-history summaries and port-scan detection (plain polars).

Daily functions take one day's geo-tagged events; whole-history functions take the
concatenated daily summaries only, so adding a day never re-reads earlier raw logs.
"""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

from iptables_assets.settings import traffic_problems

DEFAULT_SCAN_THRESHOLD = 50
DEFAULT_BIG_SCAN_THRESHOLD = 3000
DEFAULT_REJECT_RATE_WARN = 0.01  # a run warns when more of its netfilter lines are rejected
TOP_COUNTRIES = 20
TOP_PORTS = 256
UNKNOWN = "??"  # country_code of events whose source has no country (kept and counted)



@dataclass(frozen=True)
class TrafficFilter:
    """Which events count: by default INPUT-direction drops and rejects (OUT= empty), as in
    the reference notebook; accepts and `[UFW AUDIT]` lines are left out."""

    actions: tuple[str, ...] = ("drop", "reject")
    direction: str = "input"

    def __post_init__(self):
        problems = traffic_problems(self.actions, self.direction)
        if problems:
            raise ValueError(problems[0])

    def expr(self) -> pl.Expr:
        keep = pl.col("action").is_in(list(self.actions))
        if self.direction != "any":
            keep &= direction() == self.direction
        return keep


def direction() -> pl.Expr:
    """input (no OUT=), output (OUT= only) or forward (IN= and OUT=) of each event."""
    has_in = pl.col("in_iface").fill_null("") != ""
    has_out = pl.col("out_iface").fill_null("") != ""
    return pl.when(has_in & has_out).then(pl.lit("forward")).when(has_out).then(pl.lit("output")).otherwise(pl.lit("input"))


def traffic_breakdown(events: pl.DataFrame, traffic: TrafficFilter) -> pl.DataFrame:
    """Events by day, action and direction, and whether `traffic` counts them: so that the
    journal can say what the counted packets leave out of the firewall events the logs hold."""
    return (
        events.group_by(
            pl.col("timestamp").dt.date().alias("day"),
            "host",
            pl.col("action").fill_null("unknown"),
            direction().alias("direction"),
            traffic.expr().fill_null(False).alias("counted"),
        )
        .agg(pl.len().cast(pl.Int64).alias("events"))
        .sort("day", "host", "action", "direction", "counted", nulls_last=True)
    )


def counted(events: pl.DataFrame, traffic: TrafficFilter) -> pl.DataFrame:
    """The events that count, with `day` (calendar day in the logs' time zone) and a country
    code where unknown sources are `??`."""
    return events.filter(traffic.expr()).with_columns(
        pl.col("timestamp").dt.date().alias("day"),
        pl.col("country_code").fill_null(UNKNOWN),
        pl.col("country_name").fill_null("Unknown"),
    )


def country_counts(events: pl.DataFrame) -> pl.DataFrame:
    """Events per day, host and source country (unknown as `??`)."""
    return (
        events.group_by("day", "host", "country_code", "country_name")
        .agg(pl.len().cast(pl.Int64).alias("events"))
        .sort("day", "host", "country_code", nulls_last=True)
    )


def port_counts(events: pl.DataFrame) -> pl.DataFrame:
    """Events per day, host, protocol and destination port (null port: protocols without ports)."""
    return (
        events.group_by("day", "host", "proto", "dst_port")
        .agg(pl.len().cast(pl.Int64).alias("events"))
        .sort("day", "host", "proto", "dst_port", nulls_last=True)
    )


def country_port_counts(events: pl.DataFrame) -> pl.DataFrame:
    """Events per day, host, source country and destination port (feeds the per-port world maps)."""
    return (
        events.filter(pl.col("dst_port").is_not_null())
        .group_by("day", "host", "country_code", "dst_port")
        .agg(pl.len().cast(pl.Int64).alias("events"))
        .sort("day", "host", "country_code", "dst_port", nulls_last=True)
    )


# TCP flag patterns of scan types (nmap -sS, -sF, -sN, -sX, -sA) and UDP (-sU).
_SCAN_KINDS = {"SYN": "SYN", "FIN": "FIN", "NULL": "", "XMAS": "URG PSH FIN", "ACK": "ACK"}


def source_summary(events: pl.DataFrame) -> pl.DataFrame:
    """Per day, host and source address (what one host saw of a source: a scan is one
    source reaching many ports of one host): country, packets, distinct destination ports and addresses,
    first/last seen, protocols, the sorted destination ports, and the TCP flag / UDP mix."""
    kinds = [
        (pl.col("tcp_flags") == flags).sum().cast(pl.Int64).alias(f"{name.lower()}_packets")
        for name, flags in _SCAN_KINDS.items()
    ]
    return (
        events.group_by("day", "host", "src_ip")
        .agg(
            pl.col("country_code").first(),
            pl.col("country_name").first(),
            pl.len().cast(pl.Int64).alias("packets"),
            pl.col("dst_port").drop_nulls().n_unique().cast(pl.Int64).alias("distinct_ports"),
            pl.col("dst_ip").n_unique().cast(pl.Int64).alias("distinct_destinations"),
            pl.col("timestamp").min().alias("first_seen"),
            pl.col("timestamp").max().alias("last_seen"),
            pl.col("proto").drop_nulls().unique().sort().alias("protocols"),
            pl.col("dst_port").drop_nulls().unique().sort().alias("dst_ports"),
            *kinds,
            (pl.col("proto") == "UDP").sum().cast(pl.Int64).alias("udp_packets"),
        )
        .sort("day", "host", "src_ip", nulls_last=True)
    )


def _scan_type() -> pl.Expr:
    """The dominant packet kind of a source: SYN, FIN, NULL, XMAS, ACK, UDP, or mixed."""
    names = [*(k for k in _SCAN_KINDS), "UDP"]
    columns = [pl.col(f"{n.lower()}_packets") for n in names]
    best = pl.max_horizontal(columns)
    kind = pl.lit("mixed")
    for name, column in reversed(list(zip(names, columns))):
        kind = pl.when((column == best) & (column * 2 > pl.col("packets"))).then(pl.lit(name)).otherwise(kind)
    return kind


def daily_port_scans(summary: pl.DataFrame, threshold: int = DEFAULT_SCAN_THRESHOLD) -> pl.DataFrame:
    """("nmap -T insane"-like) sources reaching more than `threshold` distinct ports of a host in a day."""
    return (
        summary.filter(pl.col("distinct_ports") > threshold)
        .select(
            "day", "host", "src_ip", "country_code", "country_name", "distinct_ports", "packets",
            pl.col("dst_ports").list.min().alias("lowest_port"),
            pl.col("dst_ports").list.max().alias("highest_port"),
            "first_seen", "last_seen",
            _scan_type().alias("scan_type"),
        )
        .sort(["day", "distinct_ports", "src_ip", "host"], descending=[False, True, False, False], nulls_last=True)
    )


def country_totals(daily_countries: pl.DataFrame, reference: pl.DataFrame) -> pl.DataFrame:
    """Events per country over all days with ISO codes, name and representative point; rank
    (ties broken by country code) and whether it is in the top 20 (unknown never is)."""
    totals = daily_countries.group_by("country_code").agg(
        pl.col("country_name").first(), pl.col("events").sum()
    )
    known = pl.col("country_code") != UNKNOWN
    ranked = totals.sort(["events", "country_code"], descending=[True, False]).with_columns(
        pl.when(known).then(known.cast(pl.Int64).cum_sum()).alias("rank")
    )
    ranked = ranked.with_columns((pl.col("rank") <= TOP_COUNTRIES).fill_null(False).alias("top20"))
    ref = reference.select(
        pl.col("iso_a2").alias("country_code"), "iso_a3", pl.col("name").alias("shape_name"), "continent", "lat", "lon"
    )
    return ranked.join(ref, on="country_code", how="left").sort(["events", "country_code"], descending=[True, False])


def port_totals(daily_ports: pl.DataFrame) -> pl.DataFrame:
    """Events per destination port over all days (all protocols), rank (ties by port) and
    whether it is in the top 256."""
    totals = (
        daily_ports.filter(pl.col("dst_port").is_not_null())
        .group_by("dst_port")
        .agg(pl.col("events").sum(), pl.col("proto").unique().sort().alias("protocols"))
        .sort(["events", "dst_port"], descending=[True, False])
    )
    return totals.with_columns(
        (pl.int_range(pl.len()) + 1).cast(pl.Int64).alias("rank"),
    ).with_columns((pl.col("rank") <= TOP_PORTS).alias("top256"))


def top_country_series(daily_countries: pl.DataFrame, totals: pl.DataFrame, days: list) -> pl.DataFrame:
    """Daily events of each top-20 country on every day of the window (0 on quiet days), all hosts."""
    top = totals.filter(pl.col("top20")).select("country_code", "country_name", "rank")
    grid = pl.DataFrame({"day": days}, schema={"day": pl.Date}).join(top, how="cross")
    counts = daily_countries.group_by("day", "country_code").agg(pl.col("events").sum())
    return (
        grid.join(counts, on=["day", "country_code"], how="left")
        .with_columns(pl.col("events").fill_null(0))
        .sort("rank", "day")
    )


# What `longterm_port_scans` reads of the daily source summaries (a year of the rest is ~2x as much memory).
LONGTERM_COLUMNS = ["day", "host", "src_ip", "country_code", "country_name", "packets", "distinct_ports", "dst_ports"]


def longterm_port_scans(summaries: pl.DataFrame, threshold: int = DEFAULT_SCAN_THRESHOLD) -> pl.DataFrame:
    """("nmap -T paranoid"-like) sources whose distinct destination ports of one host over all
    days exceed `threshold`, including slow scanners that stay under it every day."""
    # Only a source whose daily port counts add up to more than the threshold can exceed it:
    # the exact union of its ports is computed for those few.
    per_source = summaries.group_by("src_ip", "host").agg(
        pl.col("country_code").first(),
        pl.col("country_name").first(),
        pl.col("day").min().alias("first_day"),
        pl.col("day").max().alias("last_day"),
        pl.col("day").n_unique().cast(pl.Int64).alias("days_active"),
        pl.col("packets").sum(),
        pl.col("distinct_ports").sum().alias("__port_days"),
        pl.col("distinct_ports").max().alias("max_ports_in_a_day"),
    ).filter(pl.col("__port_days") > threshold)
    candidates = summaries.join(per_source.select("src_ip", "host"), on=["src_ip", "host"], nulls_equal=True)
    union = candidates.group_by("src_ip", "host").agg(
        pl.col("dst_ports").list.explode(keep_nulls=False, empty_as_null=False).n_unique().cast(pl.Int64).alias("distinct_ports")
    )
    per_source = per_source.join(union, on=["src_ip", "host"], nulls_equal=True).drop("__port_days")
    return (
        per_source.filter(pl.col("distinct_ports") > threshold)
        .with_columns((pl.col("max_ports_in_a_day") <= threshold).alias("slow"))
        .sort(["distinct_ports", "src_ip", "host"], descending=[True, False, False], nulls_last=True)
    )


def scan_summary(
    daily_scans: pl.DataFrame, longterm: pl.DataFrame, big_threshold: int = DEFAULT_BIG_SCAN_THRESHOLD
) -> dict:
    """Counts of both detectors, the dates of the biggest one-day scans, and distinct scanning
    addresses per country for each detector (these feed the scan maps)."""
    big = daily_scans.filter(pl.col("distinct_ports") > big_threshold)
    return {
        "daily_scans": daily_scans.height,
        "daily_scanning_addresses": daily_scans["src_ip"].n_unique(),
        "longterm_scanners": longterm.height,
        "slow_scanners": int(longterm["slow"].sum()) if longterm.height else 0,
        "big_scan_threshold": big_threshold,
        "big_scan_days": sorted({str(d) for d in big["day"].to_list()}),
        "big_scans": big.select("day", "src_ip", "distinct_ports"),
        "daily_scanners_per_country": _per_country(daily_scans),
        "longterm_scanners_per_country": _per_country(longterm),
    }


def _per_country(scans: pl.DataFrame) -> pl.DataFrame:
    return (
        scans.group_by("country_code")
        .agg(pl.col("src_ip").n_unique().cast(pl.Int64).alias("scanning_addresses"))
        .sort(["scanning_addresses", "country_code"], descending=[True, False])
    )


def scan_summary_table(summary: dict) -> pl.DataFrame:
    """The scan summary as one long table: (detector, country_code, scanning_addresses), with
    `all` rows holding the totals, so it exports to CSV/Parquet like the others."""
    per_country = [
        summary["daily_scanners_per_country"].with_columns(pl.lit("daily").alias("detector")),
        summary["longterm_scanners_per_country"].with_columns(pl.lit("longterm").alias("detector")),
    ]
    totals = pl.DataFrame({
        "detector": ["daily", "longterm"],
        "country_code": ["all", "all"],
        "scanning_addresses": [summary["daily_scanning_addresses"], summary["longterm_scanners"]],
    }, schema={"detector": pl.String, "country_code": pl.String, "scanning_addresses": pl.Int64})
    return pl.concat([totals, *per_country], how="diagonal_relaxed").select(
        "detector", "country_code", "scanning_addresses")
