"""Findings over the whole history of sshd events (geo-tagged: country_code, country_name
added): the lines worth quoting, counts per kind, the busiest sources, and the addresses that
both scanned the firewall and talked to sshd. Reading sshd lines is `ingest.records.sshd`'s."""

from __future__ import annotations

import polars as pl

NOTABLE_KINDS = ("bad_protocol_version", "break_in_attempt")  # the lines the reference notebook quoted


def notable_lines(events: pl.DataFrame) -> pl.DataFrame:
    """The lines the reference notebook quoted: bad protocol versions and break-in attempts."""
    return events.filter(pl.col("kind").is_in(list(NOTABLE_KINDS))).select(
        "timestamp", "host", "kind", "src_ip", "country_code", "detail", "message"
    ).sort("timestamp", "src_ip", nulls_last=True)


def kind_counts(events: pl.DataFrame) -> pl.DataFrame:
    """Events per kind, source country (no country: `??`) and host."""
    return (
        events.with_columns(pl.col("country_code").fill_null("??"))
        .group_by("kind", "country_code", "host")
        .agg(pl.len().cast(pl.Int64).alias("events"), pl.col("src_ip").n_unique().cast(pl.Int64).alias("addresses"))
        .sort(["kind", "events", "country_code", "host"], descending=[False, True, False, False], nulls_last=True)
    )


def top_sources(events: pl.DataFrame, count: int = 50) -> pl.DataFrame:
    """The sources with the most sshd events: country, hosts, events, kinds, user names tried, span."""
    return _per_source(events.filter(pl.col("src_ip").is_not_null())).head(count)


def _per_source(events: pl.DataFrame) -> pl.DataFrame:
    return (
        events.group_by("src_ip")
        .agg(
            pl.col("country_code").first(),
            pl.col("host").drop_nulls().unique().sort().alias("hosts"),
            pl.len().cast(pl.Int64).alias("sshd_events"),
            pl.col("kind").unique().sort().alias("kinds"),
            pl.col("user").drop_nulls().n_unique().cast(pl.Int64).alias("user_names"),
            pl.col("timestamp").min().alias("first_seen"),
            pl.col("timestamp").max().alias("last_seen"),
        )
        .sort(["sshd_events", "src_ip"], descending=[True, False])
    )


def scanners_at_sshd(events: pl.DataFrame, daily_scans: pl.DataFrame, longterm: pl.DataFrame) -> pl.DataFrame:
    """Addresses that both scanned the firewall (either detector) and talked to sshd."""
    scanned = pl.concat([
        daily_scans.group_by("src_ip").agg(pl.len().cast(pl.Int64).alias("daily_scans"))
        if daily_scans.height else pl.DataFrame(schema={"src_ip": pl.String, "daily_scans": pl.Int64}),
        longterm.select("src_ip", pl.col("distinct_ports").cast(pl.Int64).alias("longterm_ports"))
        if longterm.height else pl.DataFrame(schema={"src_ip": pl.String, "longterm_ports": pl.Int64}),
    ], how="diagonal_relaxed").group_by("src_ip").agg(
        pl.col("daily_scans").max().fill_null(0), pl.col("longterm_ports").max()
    )
    return _per_source(events.filter(pl.col("src_ip").is_in(scanned["src_ip"].implode()))).join(
        scanned, on="src_ip", how="left"
    ).sort(["sshd_events", "src_ip"], descending=[True, False])
