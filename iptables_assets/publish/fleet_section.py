"""The journal's fleet sections: the hosts, each linked to its page, and sources that probed
many hosts (horizontal scans) with the hosts they touched. Both absent with one host's logs, so
a single server's journal is unchanged."""

from __future__ import annotations

import polars as pl

from iptables_assets.analysis.per_host import UNNAMED
from iptables_assets.publish.host_pages import host_link
from iptables_assets.publish.journal import SECTIONS, Link, Section, Table, cell, table
from iptables_assets.publish.redaction import Redactor


def horizontal_scans_section(daily: pl.DataFrame, longterm: pl.DataFrame, daily_hosts: int, longterm_hosts: int,
                             redactor: Redactor) -> Section:
    """Per-day and long-term horizontal scans, biggest first; addresses and host names
    redacted when asked."""
    section = Section("fleet", SECTIONS["fleet"])
    if daily.height == 0 and longterm.height == 0:
        return section
    slow = int(longterm["slow"].sum())
    section.paragraphs.append(
        f"What no single host's view shows: one source reaching the same port on many hosts. "
        f"{daily.select('day', 'src_ip').n_unique():,} source-days reached one port on more than {daily_hosts} hosts "
        f"in a day; {longterm['src_ip'].n_unique():,} sources reached one port on more than {longterm_hosts} hosts "
        f"over the whole history" + (f", {slow:,} of those (source, port) pairs slowly, never more than "
                                      f"{daily_hosts} hosts a day." if slow else ".")
    )
    for title, frame, columns in (
        ("Horizontal scans by day, most hosts first",
         daily.sort(["hosts_reached", "day", "src_ip"], descending=[True, False, False]),
         ["day", "src_ip", "dst_port", "hosts_reached", "hosts", "events"]),
        ("Horizontal scans over the whole history", longterm,
         ["src_ip", "dst_port", "hosts_reached", "first_day", "last_day", "days_active", "slow", "hosts", "events"]),
    ):
        if frame.height:
            shown = frame.select(columns).with_columns(_hosts(redactor)).rename({"src_ip": "source"})
            section.tables.append(table(title, redactor.frame(shown, addresses=["source"])))
    return section


def _hosts(redactor: Redactor) -> pl.Expr:
    """The hosts touched, as one cell (each host name redacted when asked)."""
    return pl.col("hosts").map_elements(lambda names: " ".join(redactor.host(n) for n in names),
                                        return_dtype=pl.String).alias("hosts")


def hosts_section(summary: pl.DataFrame, redactor: Redactor) -> Section:
    """The fleet's hosts, busiest first, each linked to its own page: counted drops, busiest day,
    scans, sshd events, top country and port (absent with one host: the journal is its page)."""
    section = Section("hosts", SECTIONS["hosts"])
    pages = summary.filter(pl.col("page").is_not_null())
    if pages.height == 0:
        return section
    total = int(pages["events"].sum() or 0)
    section.paragraphs.append(
        f"{pages.height:,} hosts logged {total:,} counted packets. Each host has its own page, the journal its "
        "logs alone would have; the rest of this page is the whole fleet's."
    )
    ordered = pages.sort(["events", "host"], descending=[True, False], nulls_last=True)
    columns = ["host", "packets", "days with drops", "busiest day", "that day", "per-day scans",
               "long-term scanners", "sshd events", "top country", "top port"]
    rows = [
        [Link(redactor.host(r["host"]) if r["host"] else UNNAMED, host_link(r["page"])),
         *(cell(r[k]) for k in ("events", "days_with_drops", "busiest_day", "busiest_day_events", "daily_scans",
                                 "longterm_scanners", "sshd_events", "top_country")),
         cell(r["top_port"], port=True)]
        for r in ordered.iter_rows(named=True)
    ]
    numeric = {"packets", "days with drops", "that day", "per-day scans", "long-term scanners", "sshd events"}
    section.tables.append(Table("Hosts, most packets first", columns, rows, numeric))
    return section
