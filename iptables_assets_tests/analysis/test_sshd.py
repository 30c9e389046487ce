"""sshd events: every kind on tricky real-looking lines, exact counts on generated logs, findings."""

import gzip
import os
import tempfile
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import polars as pl
import pytest
from polars.testing import assert_frame_equal
from hypothesis import given, settings
from hypothesis import strategies as st

from iptables_assets.analysis import sshd as findings
from iptables_assets.ingest.records import sshd
from iptables_assets.ingest.lines.syslog import MAX_REPEAT
from iptables_assets.ingest.files.logfiles import discover
from iptables_assets.sample import generate_logs

pytestmark = pytest.mark.xdist_group("journal_run")

MTIME = datetime(2026, 11, 28, tzinfo=timezone.utc).timestamp()

TRICKY = {
    "Failed password for invalid user admin from 203.0.113.5 port 4242 ssh2":
        ("failed_password", "203.0.113.5", 4242, "admin", "password"),
    "Failed publickey for root from 2001:DB8:0:0::7 port 50022 ssh2: RSA SHA256:abc":
        ("failed_password", "2001:db8::7", 50022, "root", "publickey"),
    "Invalid user john smith from 198.51.100.2 port 22":
        ("invalid_user", "198.51.100.2", 22, "john smith", None),
    "Invalid user admin from 192.0.2.1 port 22 from 203.0.113.9 port 5555":  # a user name faking the suffix
        ("invalid_user", "203.0.113.9", 5555, "admin from 192.0.2.1 port 22", None),
    "Failed password for invalid user x\" onmouseover=\"alert(1) from 203.0.113.9 port 1 ssh2":
        ("failed_password", "203.0.113.9", 1, 'x" onmouseover="alert(1)', "password"),
    "Accepted password for alice from 198.51.100.9 port 50000 ssh2":
        ("accepted", "198.51.100.9", 50000, "alice", "password"),
    "Bad protocol version identification '\\026\\003\\001' from 203.0.113.8 port 1111":
        ("bad_protocol_version", "203.0.113.8", 1111, None, None),
    "reverse mapping checking getaddrinfo for host.example.net [203.0.113.5] failed - POSSIBLE BREAK-IN ATTEMPT!":
        ("break_in_attempt", "203.0.113.5", None, None, None),
    "Address 203.0.113.9 maps to evil.example.com, but this does not map back to the address - POSSIBLE BREAK-IN ATTEMPT!":
        ("break_in_attempt", "203.0.113.9", None, None, None),
    "Connection closed by invalid user <script>alert(1)</script> 203.0.113.5 port 4242 [preauth]":
        ("connection_closed", "203.0.113.5", 4242, "<script>alert(1)</script>", None),
    "Connection reset by authenticating user root 2001:db8::1 port 22 [preauth]":
        ("connection_reset", "2001:db8::1", 22, "root", None),
    "Did not receive identification string from 203.0.113.5 port 4242":
        ("no_identification", "203.0.113.5", 4242, None, None),
    "Unable to negotiate with 203.0.113.5 port 4242: no matching host key type found. Their offer: ssh-rsa [preauth]":
        ("unable_to_negotiate", "203.0.113.5", 4242, None, None),
    "Received disconnect from 203.0.113.5 port 4242:11: Bye Bye [preauth]":
        ("disconnect", "203.0.113.5", 4242, None, None),
    "Disconnected from invalid user oracle 203.0.113.5 port 4242 [preauth]":
        ("disconnect", "203.0.113.5", 4242, "oracle", None),
    "error: kex_exchange_identification: Connection closed by remote host":
        ("other", None, None, None, None),
    "Server listening on :: port 22.": ("other", None, None, None, None),
}


def _write(folder: Path, name: str, lines: list[str], compress: bool = False) -> Path:
    data = ("\n".join(lines) + "\n").encode()
    path = folder / name
    path.write_bytes(gzip.compress(data) if compress else data)
    os.utime(path, (MTIME, MTIME))
    return path


def test_every_kind_on_tricky_lines(tmp_path):
    lines = [f"Nov 27 10:00:{i:02d} gw01 sshd[{100 + i}]: {text}" for i, text in enumerate(TRICKY)]
    _write(tmp_path, "secure", lines)
    parsed = sshd.parse_sshd_files(discover(tmp_path, ["secure*"]), "UTC")
    events = parsed.events
    assert events.height == len(TRICKY)
    got = {m: (k, ip, port, user, method) for m, k, ip, port, user, method in
           events.select("message", "kind", "src_ip", "src_port", "user", "method").iter_rows()}
    assert got == TRICKY
    assert set(events["host"]) == {"gw01"} and set(events["program"]) == {"sshd"}
    assert events["timestamp"].dt.year().unique().to_list() == [2026]


def test_other_programs_and_forged_netfilter_text(tmp_path):
    _write(tmp_path, "auth.log", [
        "Nov 27 10:00:01 gw01 sshd-session[7]: Connection closed by 203.0.113.5 port 4242 [preauth]",
        "Nov 27 10:00:02 gw01 CRON[8]: pam_unix(cron:session): session opened for user root",
        "Nov 27 10:00:03 gw01 sudo: alice : TTY=pts/0 ; PWD=/home/alice ; USER=root ; COMMAND=/bin/ls",
        "Nov 27 10:00:04 gw01 sshd[9]: Invalid user IN=eth0 OUT= SRC=6.6.6.6 DST=1.2.3.4 from 203.0.113.6 port 1",
    ])
    events = sshd.parse_sshd_files(discover(tmp_path, ["auth.log*"]), "UTC").events
    assert events.select("program", "kind", "src_ip").rows() == [
        ("sshd-session", "connection_closed", "203.0.113.5"),
        ("sshd", "invalid_user", "203.0.113.6"),
    ]


def test_repeats_count_and_rotated_copies_count_once(tmp_path):
    line = "Nov 27 10:00:01 gw01 sshd[1]: Failed password for root from 203.0.113.5 port 22 ssh2"
    repeat = "Nov 27 10:00:02 gw01 sshd[1]: message repeated 2 times: [ Failed password for root from 203.0.113.5 port 22 ssh2]"
    _write(tmp_path, "secure", [line, repeat])
    _write(tmp_path, "secure.1.gz", [line], compress=True)  # the same line in a rotated copy
    parsed = sshd.parse_sshd_files(discover(tmp_path, ["secure*"]), "UTC")
    assert parsed.events.height == 3 and parsed.duplicates_removed == 1
    assert set(parsed.events["kind"]) == {"failed_password"}


FAILED_ROOT = "Failed password for root from 203.0.113.5 port 22 ssh2"


def _repeats(counts: list[str]) -> list[str]:
    return [f"Nov 27 10:00:{i:02d} gw01 sshd[1]: message repeated {c} times: [ {FAILED_ROOT}]" for i, c in enumerate(counts)]


def test_hostile_repeat_counts_count_once_and_never_raise(tmp_path):
    counts = ["0", "1", str(MAX_REPEAT), str(MAX_REPEAT + 1), str(2**32), str(2**63), "9" * 25, "0" * 30 + "4"]
    _write(tmp_path, "secure", _repeats(counts))
    parsed = sshd.parse_sshd_files(discover(tmp_path, ["secure*"]), "UTC")
    per_line = dict(parsed.events.group_by("line_number").len().iter_rows())
    assert per_line == {1: 1, 2: 1, 3: MAX_REPEAT, 4: 1, 5: 1, 6: 1, 7: 1, 8: 4}
    assert set(parsed.events["kind"]) == {"failed_password"} and set(parsed.events["message"]) == {FAILED_ROOT}
    assert parsed.lines_read == len(counts) and parsed.duplicates_removed == 0


@settings(max_examples=40, deadline=None)
@given(st.lists(st.text(st.sampled_from("0123456789"), min_size=1, max_size=40), min_size=1, max_size=8))
def test_any_repeat_count_is_its_events_when_plausible_else_one(counts):
    with tempfile.TemporaryDirectory() as folder:
        _write(Path(folder), "secure", _repeats(counts))
        events = sshd.parse_sshd_files(discover(Path(folder), ["secure*"]), "UTC").events
    expected = {i + 1: int(c) if 1 <= int(c) <= MAX_REPEAT else 1 for i, c in enumerate(counts)}
    assert dict(events.group_by("line_number").len().iter_rows()) == expected


def test_generated_logs_exact_counts(tmp_path):
    truth = generate_logs(tmp_path, days=20, seed=11, start=date(2025, 12, 20), events_per_day=300)
    files = [f for f in discover(tmp_path) if sshd.is_sshd_family(f.family)]
    events = sshd.parse_sshd_files(files, "UTC").events
    assert dict(events.group_by("kind").len().iter_rows()) == truth["sshd_per_kind"]
    per_day = {}
    for day, kind, n in events.group_by(pl.col("timestamp").dt.date().cast(pl.String), "kind").len().iter_rows():
        per_day.setdefault(day, {})[kind] = n
    assert per_day == {d: k for d, k in truth["sshd_per_day"].items() if k}
    sources = dict(events.filter(pl.col("src_ip").is_not_null()).group_by("src_ip").len().iter_rows())
    assert sources == truth["sshd_per_source"]
    assert any(":" in ip for ip in sources)  # IPv6 clients are planted


def test_findings_join_scanners_with_sshd():
    ts = datetime(2026, 1, 1, tzinfo=timezone.utc)
    events = pl.DataFrame({
        "timestamp": [ts] * 4, "host": ["gw01"] * 4,
        "kind": ["bad_protocol_version", "failed_password", "break_in_attempt", "other"],
        "src_ip": ["203.0.113.1", "203.0.113.1", "203.0.113.2", None],
        "user": [None, "root", None, None], "country_code": ["CN", "CN", None, None],
        "detail": ["GET /", None, "x.example", None], "message": ["a", "b", "c", "d"],
    })
    daily = pl.DataFrame({"src_ip": ["203.0.113.1", "203.0.113.1"], "day": [date(2026, 1, 1), date(2026, 1, 2)]})
    longterm = pl.DataFrame({"src_ip": ["203.0.113.2", "198.51.100.1"], "distinct_ports": [70, 90]})
    joined = findings.scanners_at_sshd(events, daily, longterm)
    assert joined.select("src_ip", "sshd_events", "daily_scans", "longterm_ports").rows() == [
        ("203.0.113.1", 2, 2, None), ("203.0.113.2", 1, 0, 70),
    ]
    assert findings.notable_lines(events)["kind"].to_list() == ["bad_protocol_version", "break_in_attempt"]
    counts = findings.kind_counts(events)
    assert counts.filter(pl.col("kind") == "other")["country_code"].to_list() == ["??"]
    assert findings.top_sources(events)["src_ip"].to_list() == ["203.0.113.1", "203.0.113.2"]


def test_run_publishes_sshd_findings(journal_run):
    out, truth, _stdout = journal_run
    kinds = pl.read_parquet(out / "exports" / "sshd_kind_counts.parquet")
    totals = dict(kinds.group_by("kind").agg(pl.col("events").sum()).iter_rows())
    assert totals == truth["sshd_per_kind"]
    notable = pl.read_parquet(out / "exports" / "sshd_notable_lines.parquet")
    assert notable.height == truth["sshd_per_kind"]["bad_protocol_version"] + truth["sshd_per_kind"]["break_in_attempt"]
    page = (out / "journal" / "index.html").read_text()
    assert "sshd findings" in page and "POSSIBLE BREAK-IN ATTEMPT!" in page
    assert "<script>alert(1)</script>" not in page  # planted user names stay data


def test_run_finds_the_scanners_that_talked_to_sshd(journal_run):
    out, truth, _stdout = journal_run
    joined = pl.read_parquet(out / "exports" / "sshd_scanners.parquet")
    found = {s["ip"] for s in truth["scanners"] if s["kind"] != "near_threshold"}  # what the detectors report
    expected = {ip for ip in truth["sshd_per_source"] if ip in found}
    assert expected and set(joined["src_ip"]) == expected


def test_journald_export_sshd_records(tmp_path):
    import json

    def record(ident: str, message: str, micros: int) -> str:
        return json.dumps({"__REALTIME_TIMESTAMP": str(micros), "_HOSTNAME": "gw01", "SYSLOG_IDENTIFIER": ident,
                           "_TRANSPORT": "syslog", "MESSAGE": message})

    _write(tmp_path, "journal.json", [
        record("sshd", "Invalid user bob from 203.0.113.7 port 2222", 1764500000000000),
        record("sshd-session", "Connection closed by invalid user bob 203.0.113.7 port 2222 [preauth]", 1764500001000000),
        record("systemd", "Started session-1.scope.", 1764500002000000),
    ])
    events = sshd.parse_sshd_files(discover(tmp_path, ["journal*.json"]), "Europe/Berlin").events
    assert events.select("program", "kind", "src_ip", "user").rows() == [
        ("sshd", "invalid_user", "203.0.113.7", "bob"),
        ("sshd-session", "connection_closed", "203.0.113.7", "bob"),
    ]
    assert str(events["timestamp"].dtype.time_zone) == "Europe/Berlin"
    assert events["timestamp"][0] == datetime.fromtimestamp(1764500000, tz=timezone.utc)


@pytest.mark.parametrize("tz", ["UTC", "Europe/Berlin"])
def test_a_day_at_a_time_equals_the_whole_window(tmp_path, tz):
    """`parse_sshd_days` (each file read once, lines left per day) gives each day exactly the
    events of the whole-window parse: across rotated copies, repeats and a DST change."""
    logs = tmp_path / "logs"
    truth = generate_logs(logs, days=12, seed=5, start=date(2026, 3, 22), events_per_day=200, tz=tz)
    _write(logs, "secure", [*(logs / "secure").read_text().splitlines(),
                            "Mar 31 23:59:59 gw01 sshd[7]: message repeated 3 times: [ Invalid user a from 203.0.113.1 port 9]"])
    files = [f for f in discover(logs) if sshd.is_sshd_family(f.family)]
    whole = sshd.parse_sshd_files(files, tz)
    days = [date(2026, 3, 20) + timedelta(days=i) for i in range(16)]
    parsed = sshd.parse_sshd_days(files, tz, None, tmp_path / "scratch")
    by_day = dict(parsed.days(days))
    expected = whole.events.with_columns(pl.col("timestamp").dt.date().alias("__day"))
    for day in days:
        assert_frame_equal(by_day[day], expected.filter(pl.col("__day") == day).drop("__day"))
    assert sum(f.height for f in by_day.values()) == whole.events.height == sum(truth["sshd_per_kind"].values()) + 3
    assert (parsed.lines_read, parsed.duplicates_removed) == (whole.lines_read, whole.duplicates_removed)
