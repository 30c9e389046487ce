"""Every stored table, declared once: its columns in order (from `fields`) and its key."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Table:
    """A table's columns in stored order, the columns that identify a row (none: rows may
    repeat, e.g. `message repeated N times` events), columns present only with an option, and
    whether it is stored one file per day (a daily partition) rather than whole."""

    columns: tuple[str, ...]
    key: tuple[str, ...] = ()
    optional: tuple[str, ...] = ()
    per_day: bool = False


NETFILTER_EVENT = (
    "timestamp", "host", "program", "prefix", "action", "in_iface", "out_iface", "phys_in",
    "phys_out", "mac", "src_ip", "dst_ip", "ip_version", "proto", "length", "tos", "prec", "ttl",
    "ip_id", "ip_flags", "frag_offset", "ip_options", "traffic_class", "hop_limit", "flow_label",
    "src_port", "dst_port", "tcp_flags", "tcp_window", "tcp_res", "tcp_urgp", "tcp_seq", "tcp_ack",
    "tcp_options", "udp_length", "icmp_type", "icmp_code", "icmp_id", "icmp_seq", "icmp_mtu",
    "esp_spi", "incomplete_bytes", "uid", "gid", "mark", "source_file", "line_number",
)
REJECTED_LINE = ("timestamp", "host", "program", "reason", "source_file", "line_number", "raw_line")
SSHD_EVENT = (
    "timestamp", "host", "program", "kind", "src_ip", "src_port", "user", "method", "detail", "message",
    "source_file", "line_number",
)
GEO_TAGS = ("address_class", "country_code", "country_name")
ASN_TAGS = ("asn", "as_org")
PORT_SCAN = (
    "day", "host", "src_ip", "country_code", "country_name", "distinct_ports", "packets", "lowest_port",
    "highest_port", "first_seen", "last_seen", "scan_type",
)
SSHD_SOURCE = ("src_ip", "country_code", "hosts", "sshd_events", "kinds", "user_names", "first_seen", "last_seen")
FIGURE_LIST = ("section", "file", "title", "caption")

TABLES: dict[str, Table] = {
    "log_file_inventory": Table((
        "path", "relative", "family", "rotation_index", "rotation_date", "size", "mtime", "compression",
        "sha256", "lines", "year_anchor", "first_timestamp", "last_timestamp", "damage", "year_evidence", "copy_of",
    ), key=("path",)),
    "firewall_events": Table(NETFILTER_EVENT, per_day=True),
    "firewall_rejects": Table(REJECTED_LINE, per_day=True),
    "sshd_events": Table((*SSHD_EVENT, *GEO_TAGS), optional=ASN_TAGS, per_day=True),
    "geotagged_events": Table((*NETFILTER_EVENT, *GEO_TAGS), optional=ASN_TAGS, per_day=True),
    "country_reference": Table(("iso_a2", "iso_a3", "name", "continent", "lat", "lon"), key=("iso_a2",)),
    "daily_country_counts": Table(
        ("day", "host", "country_code", "country_name", "events"), key=("day", "host", "country_code"), per_day=True),
    "daily_port_counts": Table(
        ("day", "host", "proto", "dst_port", "events"), key=("day", "host", "proto", "dst_port"), per_day=True),
    "daily_country_port_counts": Table(
        ("day", "host", "country_code", "dst_port", "events"), key=("day", "host", "country_code", "dst_port"),
        per_day=True),
    "daily_source_summary": Table((
        "day", "host", "src_ip", "country_code", "country_name", "packets", "distinct_ports", "distinct_destinations",
        "first_seen", "last_seen", "protocols", "dst_ports", "syn_packets", "fin_packets", "null_packets",
        "xmas_packets", "ack_packets", "udp_packets",
    ), key=("day", "host", "src_ip"), per_day=True),
    "daily_port_scans": Table(PORT_SCAN, key=("day", "host", "src_ip"), per_day=True),
    "daily_traffic_breakdown": Table(
        ("day", "host", "action", "direction", "counted", "events"), key=("day", "host", "action", "direction"),
        per_day=True),
    "daily_host_probes": Table(
        ("day", "src_ip", "dst_port", "host", "events"), key=("day", "src_ip", "dst_port", "host"), per_day=True),
    "country_totals": Table((
        "country_code", "country_name", "events", "rank", "top20", "iso_a3", "shape_name", "continent", "lat", "lon",
    ), key=("country_code",)),
    "top_country_daily_series": Table(
        ("day", "country_code", "country_name", "rank", "events"), key=("day", "country_code")),
    "port_totals": Table(("dst_port", "events", "protocols", "rank", "top256"), key=("dst_port",)),
    "port_scans": Table(PORT_SCAN, key=("day", "host", "src_ip")),
    "longterm_port_scans": Table((
        "src_ip", "host", "country_code", "country_name", "first_day", "last_day", "days_active", "packets",
        "max_ports_in_a_day", "distinct_ports", "slow",
    ), key=("src_ip", "host")),
    "horizontal_scans": Table(
        ("day", "src_ip", "dst_port", "hosts_reached", "hosts", "events"), key=("day", "src_ip", "dst_port")),
    "longterm_horizontal_scans": Table((
        "src_ip", "dst_port", "hosts_reached", "hosts", "first_day", "last_day", "days_active", "events",
        "max_hosts_in_a_day", "slow",
    ), key=("src_ip", "dst_port")),
    "host_summary": Table((
        "host", "page", "events", "days_with_drops", "busiest_day", "busiest_day_events", "daily_scans",
        "longterm_scanners", "sshd_events", "top_country", "top_port",
    ), key=("host",)),
    "drops_per_host_day": Table(("day", "host", "events"), key=("day", "host")),
    "scan_summary": Table(("detector", "country_code", "scanning_addresses"), key=("detector", "country_code")),
    "sshd_notable_lines": Table(("timestamp", "host", "kind", "src_ip", "country_code", "detail", "message")),
    "sshd_kind_counts": Table(
        ("kind", "country_code", "host", "events", "addresses"), key=("kind", "country_code", "host")),
    "sshd_top_sources": Table(SSHD_SOURCE, key=("src_ip",)),
    "sshd_scanners": Table((*SSHD_SOURCE, "daily_scans", "longterm_ports"), key=("src_ip",)),
    "daily_digest": Table(
        ("day", "scope", "finding", "subject", "events", "baseline_median", "baseline_mad", "history_days", "note"),
        key=("day", "scope", "finding", "subject"), per_day=True),
    "source_page_list": Table(("page_number", "src_ip", "source_page", "reasons", "packets", "first_seen", "last_seen"),
                              key=("src_ip",)),
    "figure_list": Table(FIGURE_LIST, key=("file",)),
    "film_frames": Table(("day", "file"), key=("day",)),
}
