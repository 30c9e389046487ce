"""The journal's fleet section: sources that probed many hosts (horizontal scans), with the
hosts they touched. Absent with one host's logs (both tables are then empty), so a single
server's journal is unchanged."""

from __future__ import annotations

import polars as pl

from iptables_assets.publish.journal import SECTIONS, Section, table
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
