"""`iptables-assets parse`: JSON lines keys and values, --summary counts, Parquet round trip."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import polars as pl
import pytest

from iptables_assets.cli import main
from iptables_assets.ingest.records.firewall.parsing import ParseConfig, parse_paths

DOCUMENTED_KEYS = [
    "timestamp", "host", "prefix", "action", "in_iface", "out_iface", "src_ip", "dst_ip",
    "ip_version", "proto", "src_port", "dst_port", "length", "ttl", "ip_id", "tcp_flags",
    "icmp_type", "icmp_code",
]
LINES = [
    "Oct 28 03:09:03 web1 kernel: [ 3529.289825] [UFW BLOCK] IN=eth0 OUT= "
    "MAC=52:54:00:12:34:56:52:54:00:65:43:21:08:00 SRC=185.220.101.4 DST=203.0.113.10 LEN=44 "
    "TOS=0x00 PREC=0x00 TTL=243 ID=54321 PROTO=TCP SPT=41234 DPT=23 WINDOW=1024 RES=0x00 SYN URGP=0 ",
    "Oct 28 03:09:04 web1 CRON[24718]: (root) CMD (command -v debian-sa1 > /dev/null && debian-sa1 1 1)",
    "Oct 28 03:09:05 web1 kernel: [ 3531.000001] IPTables-Dropped: IN=eth0 OUT= "
    "MAC=52:54:00:12:34:56:52:54:00:65:43:21:08:00 SRC=192.0.2.1 DST=203.0.113.10 LEN=84 TOS=0x00 "
    "PREC=0x00 TTL=52 ID=0 DF PROTO=ICMP TYPE=8 CODE=0 ID=2158 SEQ=512 ",
    "Oct 28 03:09:06 web1 sshd[4242]: Invalid user IN=eth0 OUT= SRC=10.9.9.9 DST=203.0.113.10 from 198.51.100.23 port 40000",
    "2024-10-28T03:09:07.250000+01:00 web1 kernel: [UFW AUDIT] IN= OUT=eth0 SRC=2001:0db8:0000:0000:0000:0000:0000:0001 "
    "DST=2001:db8::2 LEN=80 TC=0 HOPLIMIT=64 FLOWLBL=0 PROTO=UDP SPT=5353 DPT=5353 LEN=40 ",
]


@pytest.fixture
def logfile(write_log):
    return write_log("log/messages", LINES)


def run(argv, capsys) -> tuple[int, str, str]:
    code = main(argv)
    out, err = capsys.readouterr()
    return code, out, err


def test_jsonl_records_have_the_documented_keys_and_values(logfile, capsys):
    code, out, _ = run(["parse", str(logfile)], capsys)
    assert code == 0
    rows = [json.loads(line) for line in out.splitlines()]
    assert len(rows) == 3
    for row in rows:
        assert set(DOCUMENTED_KEYS) <= set(row)
    by_src = {r["src_ip"]: {k: r[k] for k in DOCUMENTED_KEYS} for r in rows}
    assert by_src["185.220.101.4"] == {
        "timestamp": "2024-10-28T03:09:03.000000+00:00", "host": "web1", "prefix": "[UFW BLOCK]",
        "action": "drop", "in_iface": "eth0", "out_iface": "", "src_ip": "185.220.101.4",
        "dst_ip": "203.0.113.10", "ip_version": 4, "proto": "TCP", "src_port": 41234, "dst_port": 23,
        "length": 44, "ttl": 243, "ip_id": 54321, "tcp_flags": "SYN", "icmp_type": None, "icmp_code": None,
    }
    assert by_src["192.0.2.1"] == {
        "timestamp": "2024-10-28T03:09:05.000000+00:00", "host": "web1", "prefix": "IPTables-Dropped:",
        "action": "drop", "in_iface": "eth0", "out_iface": "", "src_ip": "192.0.2.1",
        "dst_ip": "203.0.113.10", "ip_version": 4, "proto": "ICMP", "src_port": None, "dst_port": None,
        "length": 84, "ttl": 52, "ip_id": 0, "tcp_flags": None, "icmp_type": 8, "icmp_code": 0,
    }
    assert by_src["2001:db8::1"] == {
        "timestamp": "2024-10-28T02:09:07.250000+00:00", "host": "web1", "prefix": "[UFW AUDIT]",
        "action": "audit", "in_iface": "", "out_iface": "eth0", "src_ip": "2001:db8::1",
        "dst_ip": "2001:db8::2", "ip_version": 6, "proto": "UDP", "src_port": 5353, "dst_port": 5353,
        "length": 80, "ttl": None, "ip_id": None, "tcp_flags": None, "icmp_type": None, "icmp_code": None,
    }


def test_timestamps_carry_the_offset_of_the_configured_zone(logfile, capsys):
    code, out, _ = run(["parse", str(logfile), "--tz", "Europe/Berlin"], capsys)
    assert code == 0
    stamps = sorted(json.loads(line)["timestamp"] for line in out.splitlines())
    assert stamps == [
        "2024-10-28T03:09:03.000000+01:00", "2024-10-28T03:09:05.000000+01:00",
        "2024-10-28T03:09:07.250000+01:00",
    ]


def test_summary_prints_the_counts(logfile, tmp_path, capsys):
    rejects = tmp_path / "rejects.jsonl"
    code, out, _ = run(["parse", str(logfile.parent), "--summary", "--rejects", str(rejects)], capsys)
    assert code == 0
    s = json.loads(out)
    assert {k: s[k] for k in ("lines_read", "records", "ignored_lines", "reject_lines", "rejects_by_reason",
                              "duplicates_removed")} == {
        "lines_read": 5, "records": 3, "ignored_lines": 1, "reject_lines": 1,
        "rejects_by_reason": {"untrusted_program": 1}, "duplicates_removed": 0,
    }
    [reject] = [json.loads(line) for line in rejects.read_text().splitlines()]
    assert (reject["reason"], reject["program"], reject["line_number"], reject["raw_line"]) == (
        "untrusted_program", "sshd", 4, LINES[3],
    )


def test_summary_counts_duplicates_across_files(write_log, capsys):
    write_log("log/kern.log", [LINES[0], LINES[2]])
    path = write_log("log/messages", LINES)
    code, out, _ = run(["parse", str(path.parent), "--summary"], capsys)
    s = json.loads(out)
    assert (code, s["files"], s["lines_read"], s["records"], s["duplicates_removed"]) == (0, 2, 7, 3, 2)


def test_parquet_round_trips_to_the_same_records(logfile, tmp_path, capsys):
    out_file = tmp_path / "events.parquet"
    code, out, _ = run(["parse", str(logfile), "--format", "parquet", "-o", str(out_file)], capsys)
    assert code == 0 and out == ""
    back = pl.read_parquet(out_file)
    expected = parse_paths([logfile], ParseConfig()).records
    assert back.schema == expected.schema
    assert back.equals(expected)
    assert back.schema["timestamp"] == pl.Datetime("us", "UTC")


def test_jsonl_output_file_matches_stdout(logfile, tmp_path, capsys):
    _, stdout, _ = run(["parse", str(logfile)], capsys)
    target = tmp_path / "events.jsonl"
    code, out, _ = run(["parse", str(logfile), "-o", str(target)], capsys)
    assert (code, out) == (0, "")
    assert [json.loads(x) for x in target.read_text().splitlines()] == [json.loads(x) for x in stdout.splitlines()]


def test_missing_path_is_a_configuration_error(tmp_path, capsys):
    code, out, err = run(["parse", str(tmp_path / "nope")], capsys)
    assert code == 2 and out == ""
    assert "does not exist" in err


def test_console_script_entry_point(logfile):
    script = Path(sys.executable).with_name("iptables-assets")
    proc = subprocess.run([str(script), "parse", str(logfile), "--summary"], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["records"] == 3


@pytest.mark.parametrize("preset, seen", [(None, "1"), ("0", "0")])
def test_run_records_planned_events_per_asset_unless_told_otherwise(tmp_path, monkeypatch, preset, seen):
    """`iptables-assets run` opts in to Dagster's one planned event per asset (not per partition)
    of a single-run backfill; a user's setting wins."""
    from iptables_assets import cli
    from iptables_assets.defs.run import driver

    got = {}
    monkeypatch.delenv(cli.PLANNED_EVENTS_AS_SUBSETS, raising=False)
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "home"))
    if preset is not None:
        monkeypatch.setenv(cli.PLANNED_EVENTS_AS_SUBSETS, preset)
    monkeypatch.setattr(driver, "run_everything",
                        lambda *a, **k: got.update(value=os.environ.get(cli.PLANNED_EVENTS_AS_SUBSETS)) or {"success": True})
    (tmp_path / "logs").mkdir()
    assert cli.main(["run", "--logs", str(tmp_path / "logs"), "--out", str(tmp_path / "out")]) == 0
    assert got == {"value": seen}
