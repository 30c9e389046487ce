"""Line formats (syslog headers, journald JSON, Proxmox, UniFi), year inference and time zones."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from zoneinfo import ZoneInfo

import polars as pl
import pytest

from iptables_assets.ingest.files.logfiles import discover
from iptables_assets.ingest.records.firewall.parsing import ParseConfig, parse_files, parse_paths
from iptables_assets.ingest.lines.syslog import infer_last_year

NF = (
    "[UFW BLOCK] IN=eth0 OUT= MAC=52:54:00:12:34:56:52:54:00:65:43:21:08:00 SRC=185.220.101.4 "
    "DST=203.0.113.10 LEN=44 TOS=0x00 PREC=0x00 TTL=243 ID=54321 PROTO=TCP SPT=41234 DPT=23 "
    "WINDOW=1024 RES=0x00 SYN URGP=0 "
)
UTC = timezone.utc


def utc(*args) -> datetime:
    return datetime(*args, tzinfo=UTC)


def iso(ts: datetime) -> str:
    return ts.isoformat()


# --- line formats ---------------------------------------------------------------------------

@pytest.mark.parametrize(
    ("header", "expected", "host"),
    [
        ("Oct 28 03:09:03 web1 kernel: ", "2024-10-28T03:09:03+00:00", "web1"),
        ("Oct 28 03:09:03 web1 kernel: [ 3529.289825] ", "2024-10-28T03:09:03+00:00", "web1"),
        ("<4>Oct 28 03:09:03 web1 kernel: ", "2024-10-28T03:09:03+00:00", "web1"),
        ("<12>Jan  5 07:01:02 gw.example.org kernel: [1234567.000001] ", "2024-01-05T07:01:02+00:00", "gw.example.org"),
        ("Jan  5 07:01:02 web1 kernel: ", "2024-01-05T07:01:02+00:00", "web1"),
        ("2019-09-22T03:25:01.123456+02:00 fw kernel: ", "2019-09-22T01:25:01.123456+00:00", "fw"),
        ("2019-09-22T03:25:01.123456-04:00 fw kernel: ", "2019-09-22T07:25:01.123456+00:00", "fw"),
        ("2019-09-22T03:25:01.123456789Z fw kernel: ", "2019-09-22T03:25:01.123456+00:00", "fw"),
        # journalctl -o short-iso
        ("2019-09-22T03:25:01+0000 fw kernel: ", "2019-09-22T03:25:01+00:00", "fw"),
        ("2019-09-22T03:25:01+0530 fw kernel: ", "2019-09-21T21:55:01+00:00", "fw"),
    ],
)
def test_header_formats(one_record, header, expected, host):
    r = one_record(header + NF)
    assert (iso(r["timestamp"]), r["host"], r["program"], r["prefix"], r["src_ip"], r["dst_port"]) == (
        expected, host, "kernel", "[UFW BLOCK]", "185.220.101.4", 23,
    )


def test_iso_without_offset_is_local_time_in_configured_zone(one_record):
    r = one_record("2019-09-22T03:25:01.5 fw kernel: " + NF, tz="Europe/Berlin")
    assert iso(r["timestamp"]) == "2019-09-22T03:25:01.500000+02:00"
    assert r["timestamp"].astimezone(UTC) == utc(2019, 9, 22, 1, 25, 1, 500000)


def _journal(transport: str, ident: str, message, realtime: str = "1569122701123456", host: str = "gw") -> str:
    record = {
        "__CURSOR": "s=6c6f0e0a1b2c4d5e;i=1a2b;b=0f1e2d3c;m=3b9aca00;t=5933c0a8b1c40;x=1",
        "__REALTIME_TIMESTAMP": realtime, "__MONOTONIC_TIMESTAMP": "1000000000",
        "_BOOT_ID": "0f1e2d3c4b5a69788796a5b4c3d2e1f0", "PRIORITY": "4", "SYSLOG_FACILITY": "0",
        "_TRANSPORT": transport, "SYSLOG_IDENTIFIER": ident, "_HOSTNAME": host, "MESSAGE": message,
    }
    if transport == "kernel":
        record["_SOURCE_MONOTONIC_TIMESTAMP"] = "999999999"
    return json.dumps(record)


def test_journal_json_kernel_transport_is_trusted(parse_lines):
    result = parse_lines([_journal("kernel", "kernel", NF)], name="journal.json")
    [r] = result.records.to_dicts()
    assert (iso(r["timestamp"]), r["host"], r["program"], r["action"], r["src_ip"], r["dst_port"]) == (
        "2019-09-22T03:25:01.123456+00:00", "gw", "kernel", "drop", "185.220.101.4", 23,
    )


def test_journal_json_message_as_byte_array(parse_lines):
    result = parse_lines([_journal("kernel", "kernel", list(NF.encode()))], name="journal.json")
    assert result.records["src_ip"].to_list() == ["185.220.101.4"]


def test_journal_json_forged_kernel_identifier_is_not_trusted(parse_lines):
    forged = _journal("syslog", "kernel", NF, realtime="1569122702000000")
    sshd = _journal("syslog", "sshd", "Invalid user " + NF + "from 198.51.100.23 port 4000", realtime="1569122703000000")
    noise = _journal("stdout", "systemd", "Started Daily apt upgrade and clean activities.", realtime="1569122704000000")
    result = parse_lines([forged, sshd, noise], name="journal.json")
    assert result.records.height == 0
    assert result.ignored == 1
    rej = result.rejects.sort("line_number").to_dicts()
    assert [(r["reason"], r["program"], r["line_number"]) for r in rej] == [
        ("untrusted_program", "forged-kernel", 1),
        ("untrusted_program", "sshd", 2),
    ]
    assert rej[0]["raw_line"] == forged  # the raw JSON line is kept for inspection


def test_proxmox_pve_firewall_lines(parse_lines):
    lines = [
        "0 3 PVEFW-HOST-IN 20/Jun/2022:13:09:14 +0200 policy DROP: IN=vmbr0.94 "
        "MAC=24:8a:07:9a:2a:f2:24:8a:07:50:2c:9e:08:00 SRC=10.3.94.11 DST=10.3.94.12 LEN=52 "
        "TOS=0x00 PREC=0xC0 TTL=255 ID=64317 DF PROTO=UDP SPT=49152 DPT=3784 LEN=32 ",
        "0 1 PVEFW-HOST-OUT 20/Jun/2022:13:16:23 +0200 REJECT: OUT=vmbr0.94 SRC=10.3.94.12 "
        "DST=10.3.94.10 LEN=60 TOS=0x10 PREC=0x00 TTL=64 ID=59156 DF PROTO=TCP SPT=49566 DPT=22 "
        "SEQ=708451139 ACK=0 WINDOW=64240 SYN ",
        "101 1 tap101i0-IN 20/Jun/2022:13:13:32 +0200 PVEFW-reject: IN=fwbr101i0 OUT=fwbr101i0 "
        "PHYSIN=fwln101i0 PHYSOUT=tap101i0 MAC=24:8a:07:50:2c:ef:5e:29:c3:7c:13:a3:86:dd "
        "SRC=2a0a:1580::a DST=2a0a:1580::17 LEN=40 TC=0 FLOWLBL=634336 HOPLIMIT=64 PROTO=TCP "
        "SPT=59368 DPT=22 SEQ=3146558957 ACK=0 WINDOW=64800 SYN ",
    ]
    result = parse_lines(lines, name="pve-firewall.log")
    rows = result.records.sort("line_number").to_dicts()
    got = [
        {k: r[k] for k in ("timestamp", "host", "program", "prefix", "action", "in_iface", "out_iface",
                           "phys_in", "phys_out", "src_ip", "ip_version", "proto", "dst_port",
                           "tcp_seq", "tcp_ack", "tcp_flags", "flow_label", "hop_limit")}
        for r in rows
    ]
    assert [iso(g.pop("timestamp")) for g in got] == [
        "2022-06-20T11:09:14+00:00", "2022-06-20T11:16:23+00:00", "2022-06-20T11:13:32+00:00",
    ]
    assert got == [
        {"host": None, "program": "pve-firewall", "prefix": "PVEFW-HOST-IN policy DROP:", "action": "drop",
         "in_iface": "vmbr0.94", "out_iface": None, "phys_in": None, "phys_out": None, "src_ip": "10.3.94.11",
         "ip_version": 4, "proto": "UDP", "dst_port": 3784, "tcp_seq": None, "tcp_ack": None,
         "tcp_flags": None, "flow_label": None, "hop_limit": None},
        {"host": None, "program": "pve-firewall", "prefix": "PVEFW-HOST-OUT REJECT:", "action": "reject",
         "in_iface": None, "out_iface": "vmbr0.94", "phys_in": None, "phys_out": None, "src_ip": "10.3.94.12",
         "ip_version": 4, "proto": "TCP", "dst_port": 22, "tcp_seq": 708451139, "tcp_ack": 0,
         "tcp_flags": "SYN", "flow_label": None, "hop_limit": None},
        {"host": None, "program": "pve-firewall", "prefix": "tap101i0-IN PVEFW-reject:", "action": "reject",
         "in_iface": "fwbr101i0", "out_iface": "fwbr101i0", "phys_in": "fwln101i0", "phys_out": "tap101i0",
         "src_ip": "2a0a:1580::a", "ip_version": 6, "proto": "TCP", "dst_port": 22, "tcp_seq": 3146558957,
         "tcp_ack": 0, "tcp_flags": "SYN", "flow_label": 634336, "hop_limit": 64},
    ]


def test_kernel_line_without_in_is_a_missing_interface_reject(parse_lines):
    result = parse_lines([
        "Oct 28 03:09:03 web1 kernel: DROP OUT=eth0 SRC=192.0.2.1 DST=192.0.2.2 LEN=44 TOS=0x00 "
        "PREC=0x00 TTL=64 ID=1 PROTO=TCP SPT=1 DPT=2 WINDOW=1 RES=0x00 SYN URGP=0 ",
    ])
    assert result.rejects_by_reason() == {"missing_interface": 1}


# --- year inference -------------------------------------------------------------------------

def test_new_year_inside_one_file(parse_lines):
    lines = [f"{md} web1 kernel: {NF}" for md in
             ("Dec 30 23:59:58", "Dec 31 12:00:00", "Dec 31 23:59:59", "Jan  1 00:00:00", "Jan  2 06:00:00")]
    result = parse_lines(lines, mtime=utc(2025, 1, 2, 6, 5))
    assert [iso(t) for t in result.records["timestamp"]] == [
        "2024-12-30T23:59:58+00:00", "2024-12-31T12:00:00+00:00", "2024-12-31T23:59:59+00:00",
        "2025-01-01T00:00:00+00:00", "2025-01-02T06:00:00+00:00",
    ]


def test_rotated_family_years_from_rotation_order(write_log, accounted, tmp_path):
    """`messages.1` was copied (mtime = today, unreliable): its year comes from `messages`."""
    write_log("log/messages", [f"Jan  {d} 0{d}:00:00 web1 kernel: {NF}" for d in (1, 2, 3)],
              mtime=utc(2025, 1, 3, 9, 0))
    write_log("log/messages.1", [f"Dec {d} 12:00:00 web1 kernel: {NF}" for d in (20, 24, 28, 31)],
              mtime=datetime.now(UTC))
    files = discover(tmp_path / "log")
    assert [f.relative for f in files] == ["messages", "messages.1"]
    result = accounted(parse_files(files, ParseConfig()))
    got = result.records.select(pl.col("timestamp").dt.strftime("%Y-%m-%d"), "source_file").rows()
    assert got == [
        ("2024-12-20", "messages.1"), ("2024-12-24", "messages.1"), ("2024-12-28", "messages.1"),
        ("2024-12-31", "messages.1"), ("2025-01-01", "messages"), ("2025-01-02", "messages"),
        ("2025-01-03", "messages"),
    ]


def test_date_rotated_files_use_their_rotation_date(write_log, accounted, tmp_path):
    write_log("log/kern.log-20250101.gz", [f"Dec 31 22:00:00 web1 kernel: {NF}"],
              mtime=datetime.now(UTC), compression="gzip")
    result = accounted(parse_paths([tmp_path / "log"]))
    assert [iso(t) for t in result.records["timestamp"]] == ["2024-12-31T22:00:00+00:00"]


def test_last_line_dec_31_with_january_mtime_is_previous_year(parse_lines):
    result = parse_lines([f"Dec 31 23:59:59 web1 kernel: {NF}"], mtime=utc(2025, 1, 1, 0, 0, 1))
    assert [iso(t) for t in result.records["timestamp"]] == ["2024-12-31T23:59:59+00:00"]


def test_feb_29_in_a_leap_year(parse_lines):
    lines = [f"{md} web1 kernel: {NF}" for md in ("Feb 28 23:59:59", "Feb 29 12:00:00", "Mar  1 00:00:01")]
    result = parse_lines(lines, mtime=utc(2024, 3, 1, 1, 0))
    assert [iso(t) for t in result.records["timestamp"]] == [
        "2024-02-28T23:59:59+00:00", "2024-02-29T12:00:00+00:00", "2024-03-01T00:00:01+00:00",
    ]


def test_impossible_date_is_a_bad_timestamp_reject(parse_lines):
    result = parse_lines([f"Feb 30 12:00:00 web1 kernel: {NF}"], mtime=utc(2024, 3, 1))
    assert result.records.height == 0
    assert result.rejects_by_reason() == {"bad_timestamp": 1}


@pytest.mark.parametrize(
    ("md", "anchor", "year"),
    [
        ((12 * 32 + 31) * 86400 + 86399, utc(2025, 1, 1, 0, 0, 1), 2024),
        ((1 * 32 + 2) * 86400, utc(2025, 1, 2, 6, 5), 2025),
        ((6 * 32 + 15) * 86400, utc(2025, 6, 14, 12), 2025),  # within the one-day slack
        ((6 * 32 + 17) * 86400, utc(2025, 6, 14, 12), 2024),
    ],
)
def test_infer_last_year(md, anchor, year):
    assert infer_last_year(md, anchor) == year


# --- time zones -----------------------------------------------------------------------------

def test_rfc3164_local_time_in_configured_zone(parse_lines):
    lines = [f"{md} web1 kernel: {NF}" for md in ("Jan 15 12:00:00", "Jul  1 12:00:00")]
    result = parse_lines(lines, mtime=utc(2024, 7, 1, 12), tz="Europe/Berlin")
    ts = result.records["timestamp"]
    assert ts.dtype == pl.Datetime("us", "Europe/Berlin")
    assert [iso(t) for t in ts] == ["2024-01-15T12:00:00+01:00", "2024-07-01T12:00:00+02:00"]
    assert [t.astimezone(UTC) for t in ts] == [utc(2024, 1, 15, 11), utc(2024, 7, 1, 10)]


def test_iso_offset_is_kept_as_instant_in_configured_zone(one_record):
    r = one_record("2019-09-22T03:25:01.123456+00:00 fw kernel: " + NF, tz="America/New_York")
    assert r["timestamp"].tzinfo == ZoneInfo("America/New_York")
    assert iso(r["timestamp"]) == "2019-09-21T23:25:01.123456-04:00"


def test_skipped_dst_hour_is_a_bad_timestamp_reject(parse_lines):
    result = parse_lines([f"Mar 31 02:30:00 web1 kernel: {NF}"], mtime=utc(2024, 4, 1), tz="Europe/Berlin")
    assert result.rejects_by_reason() == {"bad_timestamp": 1}
