"""Cross-file deduplication, repeated messages, trust, rejects/ignored accounting, reading files."""

from __future__ import annotations

import polars as pl
import pytest

from iptables_assets.ingest.records.firewall.parsing import ParseConfig, parse_paths

KERNEL = "Oct 28 03:09:{s:02d} web1 kernel: [ 3529.2898{s:02d}] "
NF = (
    "[UFW BLOCK] IN=eth0 OUT= MAC=52:54:00:12:34:56:52:54:00:65:43:21:08:00 SRC=185.220.101.{s} "
    "DST=203.0.113.10 LEN=44 TOS=0x00 PREC=0x00 TTL=243 ID=5432{s} PROTO=TCP SPT=41234 DPT=23 "
    "WINDOW=1024 RES=0x00 SYN URGP=0"
)


def event(s: int) -> str:
    """A distinct kernel netfilter line for second `s` of 03:09."""
    return KERNEL.format(s=s) + NF.format(s=s)


NOISE = [
    "Oct 28 03:10:01 web1 CRON[24718]: (root) CMD (command -v debian-sa1 > /dev/null && debian-sa1 1 1)",
    "Oct 28 03:10:02 web1 systemd[1]: Starting Daily apt download activities...",
    "Oct 28 03:10:03 web1 kernel: [ 3590.000001] e1000e: eth0 NIC Link is Up 1000 Mbps Full Duplex, Flow Control: Rx/Tx",
    "Oct 28 03:10:04 web1 sshd[1234]: Accepted publickey for admin from 198.51.100.23 port 50022 ssh2: ED25519 SHA256:abc",
    "Oct 28 03:10:05 web1 dhclient[811]: DHCPREQUEST for 203.0.113.10 on eth0 to 203.0.113.1 port 67",
    "",
]


@pytest.fixture
def parse_dir(tmp_path, write_log, accounted):
    """parse_dir({name: lines}, **ParseConfig kw): write files into one log folder, parse it."""

    def parse(files: dict, **config):
        for name, lines in files.items():
            write_log(f"log/{name}", lines)
        return accounted(parse_paths([tmp_path / "log"], ParseConfig(**config)))

    return parse


# --- duplicates ---------------------------------------------------------------------------

def test_same_line_in_several_files_counts_once(parse_dir):
    result = parse_dir({"messages": [event(1), event(2)], "kern.log": [event(1), event(2)],
                        "syslog": [event(1), *NOISE]})
    s = result.summary()
    assert (s["records"], s["record_lines"], s["duplicates_removed"], s["ignored_lines"]) == (2, 5, 3, 6)
    assert result.records["src_ip"].to_list() == ["185.220.101.1", "185.220.101.2"]
    assert set(result.records["source_file"]) <= {"kern.log", "messages", "syslog"}


@pytest.mark.parametrize(("k", "j"), [(2, 1), (1, 2), (3, 3), (0, 2)])
def test_k_times_in_one_file_and_j_in_another_is_max(parse_dir, k, j):
    result = parse_dir({"messages": [event(1)] * k + [event(5)], "kern.log": [event(1)] * j})
    n = result.records.filter(pl.col("src_ip") == "185.220.101.1").height
    assert n == max(k, j)
    assert result.duplicates_removed == min(k, j)
    assert result.records.height == max(k, j) + 1


def test_rotated_copies_are_deduplicated(parse_dir):
    result = parse_dir({"messages.1": [event(1), event(2)], "kern.log.1": [event(2), event(3)],
                        "messages": [event(4)]})
    assert result.records["src_ip"].to_list() == [f"185.220.101.{i}" for i in (1, 2, 3, 4)]
    assert result.duplicates_removed == 1


def test_different_host_or_time_is_not_a_duplicate(parse_dir):
    other_host = event(1).replace(" web1 ", " web2 ")
    later = event(1).replace("03:09:01", "03:09:59")
    result = parse_dir({"messages": [event(1), other_host, later], "kern.log": [event(1)]})
    assert result.records.select("host", pl.col("timestamp").dt.strftime("%H:%M:%S")).rows() == [
        ("web1", "03:09:01"), ("web2", "03:09:01"), ("web1", "03:09:59"),
    ]
    assert result.duplicates_removed == 1


def test_message_repeated_expands_and_is_deduplicated(parse_dir):
    repeated = "Oct 28 03:09:30 web1 kernel: message repeated 3 times: [ " + NF.format(s=9) + "]"
    single = parse_dir({"messages": [event(1), repeated]})
    assert single.records.height == 4
    assert single.records.filter(pl.col("src_ip") == "185.220.101.9").height == 3
    assert single.summary()["repeated_message_extra_events"] == 2
    assert single.duplicates_removed == 0


def test_message_repeated_in_two_files_is_still_n(parse_dir):
    repeated = "Oct 28 03:09:30 web1 kernel: message repeated 3 times: [ " + NF.format(s=9) + "]"
    result = parse_dir({"messages": [event(1), repeated], "kern.log": [event(1), repeated]})
    rows = result.records.filter(pl.col("src_ip") == "185.220.101.9")
    assert rows.height == 3
    assert rows["dst_port"].to_list() == [23, 23, 23]
    assert rows["prefix"].to_list() == ["[UFW BLOCK]"] * 3
    assert (result.records.height, result.duplicates_removed) == (4, 4)


def test_duplicate_rejects_are_counted_once(parse_dir):
    bad = "Oct 28 03:09:40 web1 kernel: DROP IN=eth0 OUT= SRC=999.1.2.3 DST=203.0.113.10 LEN=40 PROTO=TCP SPT=1 DPT=2"
    result = parse_dir({"messages": [bad, event(1)], "kern.log": [bad, event(1)]})
    s = result.summary()
    assert (s["rejects"], s["reject_lines"], s["reject_duplicates_removed"]) == (1, 2, 1)
    assert s["rejects_by_reason"] == {"bad_address": 1}


# --- trust --------------------------------------------------------------------------------

FORGED = [
    # an attacker-chosen ssh user name that looks like a netfilter line
    "Oct 28 03:09:50 web1 sshd[4242]: Invalid user IN=eth0 OUT= SRC=10.9.9.9 DST=203.0.113.10 "
    "PROTO=TCP SPT=1 DPT=22 from 198.51.100.23 port 40000",
    "Oct 28 03:09:51 web1 sshd[4242]: Failed password for invalid user IN=eth0 SRC=10.9.9.9 "
    "DST=203.0.113.10 from 198.51.100.23 port 40000 ssh2",
    # an attacker-chosen User-Agent in a web server's access log
    "Oct 28 03:09:52 web1 nginx: 198.51.100.7 - - [28/Oct/2024:03:09:52 +0000] \"GET / HTTP/1.1\" 400 0 "
    "\"-\" \"IN=eth0 OUT= SRC=10.1.1.1 DST=203.0.113.10 PROTO=TCP SPT=1 DPT=22\"",
]


def test_netfilter_text_in_other_programs_is_an_untrusted_reject(parse_dir):
    result = parse_dir({"secure": FORGED, "messages": [event(1)]})
    assert result.records["src_ip"].to_list() == ["185.220.101.1"]
    rej = result.rejects.to_dicts()
    assert [(r["reason"], r["program"], r["source_file"], r["line_number"]) for r in rej] == [
        ("untrusted_program", "sshd", "secure", 1),
        ("untrusted_program", "sshd", "secure", 2),
        ("untrusted_program", "nginx", "secure", 3),
    ]
    assert [r["raw_line"] for r in rej] == FORGED


def test_netfilter_words_in_a_dns_name_are_never_a_record(parse_lines):
    result = parse_lines([
        "Oct 28 03:09:52 web1 dnsmasq[812]: query[A] IN=eth0.SRC=1.2.3.4.DST=5.6.7.8.example.org from 192.0.2.7",
    ])
    assert result.records.height == 0
    assert result.ignored + result.rejects_by_reason().get("untrusted_program", 0) == 1


def test_trusted_programs_are_configurable(parse_dir):
    unifi = (
        "Jun 13 23:29:15 UDMP-DTC [WAN_LOCAL-D-2147483647] DESCR=\"[WAN_LOCAL]Block All Traffic\" "
        "IN=eth8 OUT= MAC=74:ac:b9:1c:62:e5:00:17:10:2b:31:a9:08:00 SRC=198.51.100.1 DST=192.168.1.25 "
        "LEN=122 TOS=00 PREC=0x00 TTL=49 ID=45366 DF PROTO=UDP SPT=38451 DPT=54329 LEN=102"
    )
    ulogd = "Oct 28 03:09:55 web1 ulogd[977]: " + NF.format(s=55)
    files = {"messages": [event(1), unifi, ulogd]}
    default = parse_dir(files)
    assert default.records["program"].to_list() == ["unifi", "kernel"]
    assert default.rejects.select("reason", "program").rows() == [("untrusted_program", "ulogd")]
    strict = parse_dir(files, trusted_programs=("kernel", "ulogd"))
    assert sorted(strict.records["program"].to_list()) == ["kernel", "ulogd"]
    assert strict.rejects.select("reason", "program").rows() == [("untrusted_program", "unifi")]


# --- rejects and ignored lines ------------------------------------------------------------

def test_every_reject_reason_and_ignored_lines(parse_dir):
    lines = [
        event(1),
        # truncated before SRC=
        "Oct 28 03:09:02 web1 kernel: [ 3529.3] [UFW BLOCK] IN=eth0 OUT= MAC=52:54:00:12:34:56:52:54:00:65",
        "Oct 28 03:09:03 web1 kernel: [UFW BLOCK] IN=eth0 OUT= MAC=52:54:00:12:34:56:52:54:00:65:43:21:08:00 "
        "SRC=999.1.2.3 DST=203.0.113.10 LEN=44 TOS=0x00 PREC=0x00 TTL=243 ID=1 PROTO=TCP SPT=1 DPT=23 "
        "WINDOW=1024 RES=0x00 SYN URGP=0",
        FORGED[0],
        "@@\x01garbage IN=eth0 OUT= SRC=10.0.0.1 DST=10.0.0.2 LEN=40 PROTO=TCP",
        "Oct 28 03:09:05 web1 kernel: DROP OUT=eth0 SRC=192.0.2.1 DST=192.0.2.2 LEN=44 PROTO=TCP SPT=1 DPT=2",
        *NOISE,
        event(9),
    ]
    result = parse_dir({"messages": lines})
    s = result.summary()
    assert s["lines_read"] == len(lines) == 13
    assert (s["record_lines"], s["ignored_lines"], s["reject_lines"]) == (2, 6, 5)
    assert s["rejects_by_reason"] == {
        "bad_address": 1, "missing_address": 1, "missing_interface": 1, "no_header": 1,
        "untrusted_program": 1,
    }
    rej = {r["reason"]: r for r in result.rejects.to_dicts()}
    assert rej["no_header"]["line_number"] == 5
    assert rej["no_header"]["raw_line"] == lines[4]
    assert rej["no_header"]["host"] is None
    # a line without a header is dated by the line before it
    assert rej["no_header"]["timestamp"].isoformat() == "2024-10-28T03:09:50+00:00"
    assert rej["missing_address"]["raw_line"] == lines[1]
    assert sorted(result.rejects["line_number"].to_list()) == [2, 3, 4, 5, 6]


# --- reading files ------------------------------------------------------------------------

@pytest.mark.parametrize("compression", ["gzip", "bz2", "xz"])
def test_compressed_files_give_identical_records(tmp_path, write_log, accounted, compression):
    lines = [event(i) for i in range(1, 30)] + NOISE + [FORGED[0]]
    plain = write_log("plain/messages", lines)
    suffix = {"gzip": ".gz", "bz2": ".bz2", "xz": ".xz"}[compression]
    packed = write_log(f"packed/messages{suffix}", lines, compression=compression)
    a = accounted(parse_paths([plain]))
    b = accounted(parse_paths([packed]))
    assert b.files[0].file.compression == compression
    assert a.summary() == b.summary()
    assert a.records.drop("source_file").equals(b.records.drop("source_file"))
    assert a.rejects.drop("source_file").equals(b.rejects.drop("source_file"))


def test_small_read_chunks_give_identical_records(write_log, accounted):
    lines = [event(i) for i in range(1, 40)] + NOISE + ["", "", event(45)]
    path = write_log("messages", lines)
    whole = accounted(parse_paths([path]))
    chunked = accounted(parse_paths([path], ParseConfig(chunk_bytes=1500)))
    assert whole.lines_read == chunked.lines_read == len(lines)
    assert whole.records.equals(chunked.records)
    assert whole.records["line_number"].to_list()[-1] == len(lines)


def test_empty_lines_are_counted(parse_lines):
    result = parse_lines(b"\n\n" + event(1).encode() + b"\n\n")
    assert (result.lines_read, result.ignored, result.records["line_number"].to_list()) == (4, 3, [3])


def test_crlf_and_no_final_newline(parse_lines):
    result = parse_lines((event(1) + "\r\n" + event(2)).encode())
    assert result.lines_read == 2
    assert result.records["tcp_urgp"].to_list() == [0, 0]
    assert result.records["line_number"].to_list() == [1, 2]


def test_invalid_utf8_and_non_ascii_lines(parse_lines):
    data = (
        event(1).encode() + b"\n"
        + b"Oct 28 03:09:02 web1 sshd[9]: Invalid user \xff\xfe\xc3(IN=eth0 SRC=1.2.3.4 DST=5.6.7.8\n"
        + ("Oct 28 03:09:03 h\u00f6st kernel: [UFW BLOCK] IN=eth\u00e90 OUT= SRC=192.0.2.7 DST=203.0.113.10 "
           "LEN=44 PROTO=TCP SPT=1 DPT=2 WINDOW=1 RES=0x00 SYN URGP=0\n").encode()
    )
    result = parse_lines(data)
    assert result.lines_read == 3
    assert result.records["src_ip"].to_list() == ["185.220.101.1", "192.0.2.7"]
    assert result.rejects_by_reason() == {"untrusted_program": 1}


def test_repeated_message_that_is_rejected_is_one_reject(parse_lines):
    result = parse_lines([
        "Oct 28 03:09:30 web1 kernel: message repeated 4 times: [ DROP IN=eth0 OUT= SRC=999.1.2.3 DST=203.0.113.10 LEN=40]",
    ])
    s = result.summary()
    assert (s["records"], s["rejects"], s["reject_lines"], s["rejects_by_reason"]) == (0, 1, 1, {"bad_address": 1})


def test_truncated_gzip_rotation_is_read_as_far_as_it_goes(tmp_path, write_log, accounted):
    import gzip
    import os

    lines = [event(i % 60) for i in range(6000)]
    packed = gzip.compress("".join(f"{x}\n" for x in lines).encode())
    write_log("log/messages", [event(59)])
    damaged = tmp_path / "log" / "messages.2.gz"
    damaged.write_bytes(packed[: len(packed) * 3 // 4])
    os.utime(damaged, (1735603200, 1735603200))  # 2024-12-31
    result = accounted(parse_paths([tmp_path / "log"]))
    damage = result.summary()["damaged_files"]
    assert list(damage) == ["messages.2.gz"] and "gzip" in damage["messages.2.gz"]
    read = {fp.file.relative: fp.lines for fp in result.files}
    assert read["messages"] == 1 and 0 < read["messages.2.gz"] < len(lines)


def test_scan_file_dates_a_file_without_parsing_it(write_log):
    from datetime import datetime, timezone

    from iptables_assets.ingest.files.logfiles import describe
    from iptables_assets.ingest.records.firewall.parsing import scan_file

    path = write_log("messages", ["Dec 31 23:59:00 web1 kernel: " + NF.format(s=1),
                                  "Jan  1 00:00:01 web1 systemd[1]: Starting Rotate log files...", "",
                                  "Jan  2 00:00:05 web1 kernel: " + NF.format(s=2)])
    f = describe(path, path.parent)
    scan = scan_file(f, datetime(2025, 1, 2, 1, tzinfo=timezone.utc))
    assert scan.lines == 4
    assert (scan.first.isoformat(), scan.last.isoformat()) == ("2024-12-31T23:59:00+00:00", "2025-01-02T00:00:05+00:00")
