"""Every column of every stored table, declared once: its polars type and what it means.

A `Datetime` field is written here in UTC; stored tables carry the logs' time zone instead
(`tables.schema(name, tz)` puts it in).
"""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl


@dataclass(frozen=True)
class Field:
    """A column: its type and a one-line meaning (shown in the Dagster UI and docs/tables.md)."""

    dtype: pl.DataType
    description: str


_TS = pl.Datetime("us", "UTC")
S, I8, I32, I64, F64, B, D = pl.String(), pl.Int8(), pl.Int32(), pl.Int64(), pl.Float64(), pl.Boolean(), pl.Date()
_STRINGS, _PORTS = pl.List(pl.String), pl.List(pl.Int32)

FIELDS: dict[str, Field] = {
    # --- a syslog line and where it was read
    "timestamp": Field(_TS, "when the line was logged (year inferred for RFC 3164 headers)"),
    "host": Field(S, "syslog host that logged the line(s) (null when a line names none)"),
    "program": Field(S, "syslog program tag (`kernel`, `pve-firewall`, `sshd` …)"),
    "source_file": Field(S, "log file the line was first read from"),
    "line_number": Field(I64, "line number in that file"),
    "raw_line": Field(S, "the line as read"),
    "reason": Field(S, "why a netfilter-looking line was rejected (see REJECT_REASONS)"),
    "message": Field(S, "the syslog message after the header"),
    # --- netfilter fields of a firewall event
    "prefix": Field(S, "LOG prefix as written (`[UFW BLOCK]`, `IPTables-Dropped:` …)"),
    "action": Field(S, "drop, reject, accept, audit or unknown, from the prefix"),
    "in_iface": Field(S, "`IN=` (empty string when written empty)"),
    "out_iface": Field(S, "`OUT=` (empty string when written empty)"),
    "phys_in": Field(S, "`PHYSIN=`"),
    "phys_out": Field(S, "`PHYSOUT=`"),
    "mac": Field(S, "`MAC=`"),
    "src_ip": Field(S, "source address (IPv6 compressed)"),
    "dst_ip": Field(S, "destination address (IPv6 compressed)"),
    "ip_version": Field(I8, "4 or 6"),
    "proto": Field(S, "`TCP`, `UDP`, `ICMP`, `ICMPv6` …; numeric `PROTO=` named"),
    "length": Field(I32, "IPv4/IPv6 `LEN`"),
    "tos": Field(I32, "IPv4 `TOS`"),
    "prec": Field(I32, "IPv4 `PREC`"),
    "ttl": Field(I32, "IPv4 `TTL`"),
    "ip_id": Field(I32, "IPv4 `ID`"),
    "ip_flags": Field(S, "IPv4 `CE`/`DF`/`MF`"),
    "frag_offset": Field(I32, "IPv4 `FRAG`"),
    "ip_options": Field(S, "IPv4 `OPT (…)`"),
    "traffic_class": Field(I32, "IPv6 `TC`"),
    "hop_limit": Field(I32, "IPv6 `HOPLIMIT`"),
    "flow_label": Field(I32, "IPv6 `FLOWLBL`"),
    "src_port": Field(I32, "source port (`SPT`)"),
    "dst_port": Field(I32, "destination port (`DPT`)"),
    "tcp_flags": Field(S, "TCP flags (`SYN`, `ACK PSH FIN`, empty for a NULL scan)"),
    "tcp_window": Field(I32, "TCP `WINDOW`"),
    "tcp_res": Field(I32, "TCP `RES`"),
    "tcp_urgp": Field(I32, "TCP `URGP`"),
    "tcp_seq": Field(I64, "TCP `SEQ`"),
    "tcp_ack": Field(I64, "TCP `ACK`"),
    "tcp_options": Field(S, "TCP `OPT (…)`"),
    "udp_length": Field(I32, "UDP's own `LEN`"),
    "icmp_type": Field(I32, "ICMP/ICMPv6 `TYPE`"),
    "icmp_code": Field(I32, "ICMP/ICMPv6 `CODE`"),
    "icmp_id": Field(I32, "ICMP `ID`"),
    "icmp_seq": Field(I32, "ICMP `SEQ`"),
    "icmp_mtu": Field(I32, "ICMP `MTU`"),
    "esp_spi": Field(I64, "ESP/AH `SPI`"),
    "incomplete_bytes": Field(I32, "`INCOMPLETE [n bytes]`"),
    "uid": Field(I32, "`UID`"),
    "gid": Field(I32, "`GID`"),
    "mark": Field(I64, "`MARK`"),
    # --- geo-tagging
    "address_class": Field(S, "public, private, shared, loopback, link-local, multicast, documentation …"),
    "country_code": Field(S, "ISO 3166 alpha-2 of the source (null: unknown)"),
    "country_name": Field(S, "country name from the GeoIP database"),
    "asn": Field(I64, "autonomous system number (with an ASN database)"),
    "as_org": Field(S, "autonomous system organisation (with an ASN database)"),
    # --- log file inventory
    "path": Field(S, "absolute path of the log file"),
    "relative": Field(S, "path under the log folder"),
    "family": Field(S, "log family (`messages`, `kern.log`, `secure` …)"),
    "rotation_index": Field(I64, "`.N` rotation number (0: the live file)"),
    "rotation_date": Field(D, "`-YYYYMMDD` rotation date"),
    "size": Field(I64, "bytes on disk"),
    "mtime": Field(F64, "modification time (seconds since the epoch)"),
    "compression": Field(S, "plain, gzip, bz2, xz or journal (detected by content)"),
    "sha256": Field(S, "SHA-256 of the decompressed content (of the file as stored for a journal)"),
    "lines": Field(I64, "lines in the file (entries of a journal)"),
    "year_anchor": Field(_TS, "the time the file's year-less timestamps are resolved against"),
    "first_timestamp": Field(_TS, "first timestamp in the file"),
    "last_timestamp": Field(_TS, "last timestamp in the file"),
    "damage": Field(S, "why reading stopped early (truncated/corrupt); null if intact"),
    "year_evidence": Field(S, "what dates the file's year-less lines: exact times, its rotation date, its newer "
                              "rotation, lines shared with a dated file, or only its mtime"),
    "copy_of": Field(S, "the file of the same content that is read instead (null: this one is read)"),
    # --- countries
    "iso_a2": Field(S, "ISO 3166 alpha-2"),
    "iso_a3": Field(S, "ISO 3166 alpha-3"),
    "name": Field(S, "country name (Natural Earth)"),
    "shape_name": Field(S, "country name of the Natural Earth shape"),
    "continent": Field(S, "continent (Natural Earth)"),
    "lat": Field(F64, "latitude of a representative point"),
    "lon": Field(F64, "longitude of a representative point"),
    # --- counts and aggregates
    "day": Field(D, "calendar day in the logs' time zone"),
    "events": Field(I64, "counted events"),
    "rank": Field(I64, "rank by events (ties by key)"),
    "top20": Field(B, "among the 20 countries with most events"),
    "top256": Field(B, "among the 256 ports with most events"),
    "protocols": Field(_STRINGS, "protocols seen"),
    "packets": Field(I64, "packets (events) of the source"),
    "distinct_ports": Field(I64, "distinct destination ports"),
    # --- the source pages (publish/source_pages.py)
    "page_number": Field(I64, "the source page's number: scanners first (by ports reached), then the top sources "
                              "by counted drops, then the top sshd sources"),
    "source_page": Field(S, "the source's page, relative to the journal folder (named by rank, never by address)"),
    "reasons": Field(_STRINGS, "why the source has a page: per-day scanner, long-term scanner, top by drops, "
                               "top sshd source"),
    # --- the daily digest (analysis/digest.py)
    "scope": Field(S, "the hosts a finding is about: `all`, or one host of a fleet"),
    "finding": Field(S, "what stands out: port_surge, new_port, country_surge, new_scanner, returning_scanner, "
                        "new_top_source, sshd_surge, or not_enough_history"),
    "subject": Field(S, "what it is about: a port (`5555/tcp`), a country (`NL (Netherlands)`), a source "
                        "address or an sshd kind"),
    "baseline_median": Field(F64, "median of its daily counts over the window's earlier days (0 on days "
                                  "without it); null for findings without a baseline"),
    "baseline_mad": Field(F64, "median absolute deviation of those counts"),
    "history_days": Field(pl.Int32(), "earlier days in the window the day was compared with"),
    "note": Field(S, "the finding in words, with its numbers (the subject apart, so it can be redacted)"),
    "distinct_destinations": Field(I64, "distinct destination addresses"),
    "first_seen": Field(_TS, "first event of the source"),
    "last_seen": Field(_TS, "last event of the source"),
    "dst_ports": Field(_PORTS, "sorted distinct destination ports"),
    "syn_packets": Field(I64, "TCP packets with SYN alone"),
    "fin_packets": Field(I64, "TCP packets with FIN alone"),
    "null_packets": Field(I64, "TCP packets without flags"),
    "xmas_packets": Field(I64, "TCP packets with FIN, PSH and URG"),
    "ack_packets": Field(I64, "TCP packets with ACK alone"),
    "udp_packets": Field(I64, "UDP packets"),
    "lowest_port": Field(I32, "lowest destination port"),
    "highest_port": Field(I32, "highest destination port"),
    "scan_type": Field(S, "SYN, FIN, NULL, XMAS, ACK, UDP or mixed"),
    "direction": Field(S, "input, output or forward"),
    "counted": Field(B, "whether the events count (Analysis actions and direction)"),
    "first_day": Field(D, "first day the source was seen"),
    "last_day": Field(D, "last day the source was seen"),
    "days_active": Field(I64, "days the source was seen"),
    "max_ports_in_a_day": Field(I64, "most distinct ports on one day"),
    "slow": Field(B, "never over the threshold on one day"),
    "detector": Field(S, "daily or longterm"),
    # --- fleets (horizontal scans: one source, one port, many hosts)
    "hosts_reached": Field(I64, "distinct hosts (syslog host field) the source reached on the port"),
    "hosts": Field(_STRINGS, "the hosts the source reached, sorted"),
    "max_hosts_in_a_day": Field(I64, "most hosts reached on the port on one day"),
    "page": Field(S, "the host's page folder under <journal>/hosts/ (null with one host: the journal is its page)"),
    "days_with_drops": Field(I64, "days with counted drops"),
    "busiest_day": Field(D, "the day with the most counted drops (earliest of ties)"),
    "busiest_day_events": Field(I64, "counted drops of that day"),
    "longterm_scanners": Field(I64, "long-term scanners (source, host) found on the host"),
    "top_country": Field(S, "ISO code of the country most counted drops came from"),
    "top_port": Field(I32, "the most-dropped destination port"),
    "scanning_addresses": Field(I64, "distinct scanning addresses"),
    # --- sshd
    "kind": Field(S, "sshd event kind (failed_password, invalid_user … other)"),
    "user": Field(S, "user name tried (attacker-chosen text)"),
    "method": Field(S, "authentication method"),
    "detail": Field(S, "the rest of what sshd said (version string, reverse name …)"),
    "addresses": Field(I64, "distinct source addresses"),
    "sshd_events": Field(I64, "sshd events (of the source; on the host in host_summary)"),
    "kinds": Field(_STRINGS, "sshd event kinds of the source"),
    "user_names": Field(I64, "distinct user names tried"),
    "daily_scans": Field(I64, "per-day scans (by the source; on the host in host_summary)"),
    "longterm_ports": Field(I64, "distinct ports of the source over all days"),
    # --- published figures
    "section": Field(S, "journal section the figure belongs to"),
    "file": Field(S, "file under the journal folder"),
    "title": Field(S, "figure title"),
    "caption": Field(S, "caption under the figure"),
}
