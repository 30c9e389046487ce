"""systemd journal files as a log source (issue 22): real journal files, written by
`systemd-journal-remote` from export streams, read through `journalctl`.

A host that keeps only a journal, one that keeps both a journal and rsyslog's text files, and one
where each source holds weeks the other lacks give exactly the events of the text files alone;
damaged journal files are named with what could be read; hostile entries stay data."""

from __future__ import annotations

import json
import os
import shutil
import struct
import subprocess
import sys
import uuid
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from iptables_assets.ingest.records.sshd import is_sshd_family, parse_sshd_files
from iptables_assets.days import days_between, moments_of
from iptables_assets.ingest.files import journal_files, watching
from iptables_assets.ingest.files.inventory import build_inventory
from iptables_assets.ingest.files.logfiles import detect_compression, discover, rotation_key
from iptables_assets.ingest.records.firewall.parsing import ParseConfig, parse_days, parse_paths
from iptables_assets.sample import generate_logs
from iptables_assets.sample.journal import journal_remote

START = date(2025, 3, 1)
DAYS = 21
JOURNAL_FROM = date(2025, 3, 8)  # the split host's journal starts a week in
EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)


def _require_journal_tools() -> str:
    remote = journal_remote()
    if remote is None or shutil.which("journalctl") is None:
        if os.environ.get("CI"):
            pytest.fail("CI must install systemd-journal-remote and journalctl (.ci/run)")
        pytest.skip("systemd-journal-remote or journalctl not installed")
    return remote


@pytest.fixture(scope="module")
def hosts(tmp_path_factory) -> dict[str, Path]:
    """The same simulated host kept four ways: text files, a journal, both, and split (the journal
    from day 8 on, the text files of the last rotation period gone)."""
    _require_journal_tools()
    root = tmp_path_factory.mktemp("journal_hosts")
    kept = {}
    for name, sources in (("text", "text"), ("journal", "journal"), ("both", "both"), ("split", "both")):
        kept[name] = root / name
        generate_logs(kept[name], days=DAYS, seed=11, start=START, events_per_day=600, sources=sources,
                      journal_from=JOURNAL_FROM if name == "split" else None)
    for live in ("messages", "kern.log", "secure"):  # the split host's newest text files rotated away
        (kept["split"] / live).unlink()
    return kept


def _truth(folder: Path) -> dict:
    return json.loads((folder / "ground_truth.json").read_text())


def _comparable(frame: pl.DataFrame) -> pl.DataFrame:
    """Rows as both sources give them: text headers hold whole seconds, and the file and line differ."""
    return (frame.drop("source_file", "line_number")
            .with_columns(pl.col("timestamp").dt.truncate("1s")).sort(pl.all()))


@pytest.fixture(scope="module")
def parsed(hosts) -> dict:
    return {name: parse_paths([folder]) for name, folder in hosts.items()}


def test_a_journal_only_host_gives_the_text_logs_events(hosts, parsed):
    text, journal = parsed["text"], parsed["journal"]
    assert journal.summary()["files"] == 1
    assert _comparable(journal.records).equals(_comparable(text.records))
    assert journal.records.height == sum(_truth(hosts["journal"])["records_per_day"].values())
    assert journal.summary()["duplicates_removed"] == 0


def test_both_sources_count_every_event_once(hosts, parsed):
    text, both = parsed["text"], parsed["both"]
    assert _comparable(both.records).equals(_comparable(text.records))
    # every text-file line of a firewall event is covered by the journal: removed as a duplicate
    summary = both.summary()
    assert summary["duplicates_removed"] == summary["record_lines"] + summary["repeated_message_extra_events"] \
        - summary["records"]
    assert _comparable(both.rejects.drop("raw_line")).height == text.rejects.height


def test_each_source_holding_weeks_the_other_lacks_counts_every_event_once(hosts, parsed):
    truth = _truth(hosts["split"])
    split = parsed["split"]
    assert _comparable(split.records).equals(_comparable(parsed["text"].records))
    per_day = split.records.group_by(pl.col("timestamp").dt.date().cast(pl.String)).len()
    assert dict(per_day.iter_rows()) == {d: n for d, n in truth["records_per_day"].items() if n}
    # the first week only in the text files, the last days only in the journal
    by_file = split.records.with_columns(
        pl.col("source_file").str.contains("journal").alias("journal"),
        (pl.col("timestamp").dt.date() < JOURNAL_FROM).alias("before"))
    assert set(by_file.filter(pl.col("before"))["journal"]) == {False}
    assert set(by_file.filter(~pl.col("before"))["journal"]) == {True}


@pytest.mark.parametrize("host", ["journal", "both", "split"])
def test_sshd_events_from_the_journal_count_once(hosts, host):
    def sshd(folder):
        return parse_sshd_files([f for f in discover(folder) if is_sshd_family(f.family)], "UTC").events

    assert _comparable(sshd(hosts[host])).equals(_comparable(sshd(hosts["text"])))
    assert sshd(hosts[host]).group_by("kind").len().sort("kind").rows() == \
        sorted(_truth(hosts[host])["sshd_per_kind"].items())


def test_journal_files_are_found_by_name_and_content(hosts, tmp_path):
    (folder,) = (hosts["journal"] / "journal").iterdir()
    live = folder / "system.journal"
    assert detect_compression(live) == "journal"
    assert rotation_key("system@0123abcd-0000000000000001-0005f1e2d3c4b5a6.journal") == ("system.journal", 1, None)
    assert rotation_key("system@0123abcd-0000000000000001-0005f1e2d3c4b5a6.journal~") == ("system.journal", 1, None)
    assert rotation_key("remote-web1.journal") == ("remote-web1.journal", 0, None)
    dirty = tmp_path / "remote" / "system@0123abcd-0000000000000001-0005f1e2d3c4b5a6.journal~"
    dirty.parent.mkdir()
    shutil.copy(live, dirty)
    (found,) = discover(tmp_path)
    assert (found.relative, found.family, found.compression) == (
        "remote/" + dirty.name, "remote/system.journal", "journal")
    assert parse_paths([tmp_path]).records.height == parsed_events(hosts["journal"])


def parsed_events(folder: Path) -> int:
    return sum(_truth(folder)["records_per_day"].values())


def _export(entries: list[dict[str, bytes]]) -> bytes:
    out = bytearray()
    for i, fields in enumerate(entries):
        realtime = int(fields.get("__REALTIME_TIMESTAMP", 1741000000_000000 + i * 1_000_000))
        out += b"__REALTIME_TIMESTAMP=%d\n__MONOTONIC_TIMESTAMP=%d\n_BOOT_ID=%s\n" % (realtime, 1 + i, b"0" * 32)
        for key, value in fields.items():
            if key == "__REALTIME_TIMESTAMP":
                continue
            out += key.encode() + b"\n" + struct.pack("<Q", len(value)) + value + b"\n"
        out += b"\n"
    return bytes(out)


def _journal(path: Path, entries: list[dict[str, bytes]]) -> Path:
    remote = _require_journal_tools()
    path.parent.mkdir(parents=True, exist_ok=True)
    subprocess.run([remote, "--output", str(path), "-"], input=_export(entries), check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return path


NF = b"[UFW BLOCK] IN=eth0 OUT= MAC=52:54:00:12:34:56:52:54:00:65:43:21:08:00 SRC=203.0.113.7 DST=10.0.0.5 " \
     b"LEN=40 TOS=0x00 PREC=0x00 TTL=243 ID=54321 PROTO=TCP SPT=4444 DPT=%d WINDOW=1024 RES=0x00 SYN URGP=0 "


def _kernel(port: int, host: bytes = b"gw") -> dict[str, bytes]:
    return {"_TRANSPORT": b"kernel", "SYSLOG_IDENTIFIER": b"kernel", "_HOSTNAME": host,
            "MESSAGE": NF % port}


def test_hostile_entries_stay_data(tmp_path):
    entries = [
        _kernel(22),
        # forged: any program may call itself kernel; only the kernel transport is trusted
        {"_TRANSPORT": b"syslog", "SYSLOG_IDENTIFIER": b"kernel", "_HOSTNAME": b"gw", "MESSAGE": NF % 23},
        {"_TRANSPORT": b"stdout", "SYSLOG_IDENTIFIER": b"app", "_HOSTNAME": b"gw", "MESSAGE": NF % 24},
        # non-UTF-8 bytes and control characters: journalctl gives MESSAGE as a byte array
        {**_kernel(25), "MESSAGE": NF.replace(b"[UFW BLOCK]", b"\xff\x01\x1b[31m") % 25},
        # a newline inside a message cannot start a forged line
        {"_TRANSPORT": b"syslog", "SYSLOG_IDENTIFIER": b"app", "_HOSTNAME": b"gw",
         "MESSAGE": b"hello\nMar  1 00:00:00 gw kernel: " + NF % 26},
        # a host name with a space, and one that is empty
        {**_kernel(27), "_HOSTNAME": b"evil host"},
    ]
    result = parse_paths([_journal(tmp_path / "system.journal", entries)])
    records = result.records.select("host", "dst_port", "prefix").rows()
    assert sorted(records) == [("evil_host", 27, "[UFW BLOCK]"), ("gw", 22, "[UFW BLOCK]"),
                               ("gw", 25, "?????[31m")]  # U+FFFD (3 bytes) and controls as "?"
    assert result.rejects["reason"].to_list() == ["untrusted_program", "untrusted_program", "untrusted_program"]
    assert result.summary()["lines_read"] == 6


@pytest.mark.parametrize("where", [0.2, 0.35, 0.5, 0.65, 0.8, 0.95])
def test_a_damaged_journal_is_named_with_what_could_be_read(hosts, tmp_path, where):
    """Eight bytes overwritten somewhere in the written part: the file is named as damaged,
    its readable entries kept (some corruption ends journalctl's walk early, most does not)."""
    (folder,) = (hosts["journal"] / "journal").iterdir()
    live = folder / "system.journal"
    declared = journal_files.declared_entries(live)
    assert declared == parse_paths([live]).summary()["lines_read"]
    assert journal_files.verify_failure(live) is None
    data = bytearray(live.read_bytes())
    at = 264 + int((len(data.rstrip(b"\0")) - 264) * where)
    data[at:at + 8] = b"\xff" * 8
    damaged = tmp_path / "system@00-01-02.journal"
    damaged.write_bytes(bytes(data))
    result = parse_paths([tmp_path])
    (note,) = result.damaged_files.values()
    read = result.summary()["lines_read"]
    assert read <= declared
    if read < declared:
        assert note.endswith(f"{read:,} of the {declared:,} entries its header declares could be read"), note
    else:
        assert f"journal damaged (File corruption detected at {damaged}:" in note, note
        assert note.endswith(f"its {read:,} entries read are kept"), note


def test_a_truncated_journal_is_named_not_fatal(hosts, tmp_path):
    (folder,) = (hosts["journal"] / "journal").iterdir()
    cut = tmp_path / "system@00-01-02.journal"
    cut.write_bytes((folder / "system.journal").read_bytes()[: 200_000])
    result = parse_paths([tmp_path])
    assert result.summary()["lines_read"] == 0
    assert list(result.damaged_files) == [cut.name]
    assert "journal file journalctl cannot read" in result.damaged_files[cut.name]


def test_a_journal_gone_before_it_is_read_raises_its_os_error(tmp_path):
    """Vacuumed between discovery and reading: not damage, the file's own error."""
    with pytest.raises(FileNotFoundError):
        list(journal_files.json_pieces(tmp_path / "system@00-01-02.journal"))


def test_without_journalctl_a_journal_file_says_what_to_install(hosts, monkeypatch):
    (folder,) = (hosts["journal"] / "journal").iterdir()
    monkeypatch.setattr(journal_files.shutil, "which", lambda name: None)
    monkeypatch.setattr(journal_files.os, "access", lambda path, mode: False)
    with pytest.raises(OSError, match="journalctl not found: install systemd's journalctl"):
        list(journal_files.json_pieces(folder / "system.journal"))


def test_time_zone_setting_does_not_move_journal_times(hosts, parsed):
    utc = parsed["journal"].records["timestamp"]
    tokyo = parse_paths([hosts["journal"]], ParseConfig(tz="Asia/Tokyo")).records["timestamp"]
    assert tokyo.dt.convert_time_zone("UTC").equals(utc.dt.convert_time_zone("UTC"))


def _live(hosts) -> Path:
    (folder,) = (hosts["journal"] / "journal").iterdir()
    return folder / "system.journal"


@pytest.mark.parametrize("batch_rows", [250_000, 700])
def test_days_read_from_both_sources_are_the_truth_batch_by_batch(hosts, tmp_path, batch_rows):
    truth = _truth(hosts["split"])
    days = [date.fromisoformat(d) for d in truth["days"]]
    result = parse_days(discover(hosts["split"]), ParseConfig(batch_rows=batch_rows), days=days, folder=tmp_path)
    assert {d.isoformat(): n for d, n in result.events_per_day.items() if n} == \
        {d: n for d, n in truth["records_per_day"].items() if n}


def test_a_day_reads_only_that_days_journal_entries(hosts, tmp_path):
    day = JOURNAL_FROM + timedelta(days=3)
    result = parse_days(discover(hosts["journal"]), days=[day], folder=tmp_path)
    (journal,) = result.files
    first, last = moments_of(day, day, "UTC")
    stamps = [int(json.loads(line)["__REALTIME_TIMESTAMP"])
              for line in b"".join(journal_files.json_pieces(_live(hosts))).splitlines()]
    assert journal.lines == sum(first.timestamp() * 1e6 <= t <= last.timestamp() * 1e6 for t in stamps)
    assert journal.lines < len(stamps) / 4
    assert result.events_per_day == {day: _truth(hosts["journal"])["records_per_day"][day.isoformat()]}
    assert journal.first >= first and journal.last <= last
    assert journal.covers == (journal_files.header(_live(hosts)).head, journal_files.header(_live(hosts)).tail)


def _copy_entries(source: Path, target: Path, since: datetime | None = None, until: datetime | None = None) -> None:
    """Entries of `source` (of a stretch) appended to `target`, as journald appends them."""
    window = [f"--since=@{since.timestamp():.6f}"] if since else []
    window += [f"--until=@{until.timestamp():.6f}"] if until else []
    export = subprocess.run(["journalctl", "--file", str(source), "-o", "export", *window], check=True,
                            capture_output=True).stdout
    target.parent.mkdir(parents=True, exist_ok=True)
    subprocess.run([_require_journal_tools(), "--output", str(target), "-"], input=export, check=True,
                   capture_output=True)


def test_the_sensor_sees_a_grown_journal_by_its_new_day_and_a_rotated_one_as_nothing_new(hosts, tmp_path):
    last_day = START + timedelta(days=DAYS - 1)
    midnight = moments_of(last_day, last_day, "UTC")[0]
    grown = tmp_path / "logs" / "system.journal"
    _copy_entries(_live(hosts), grown, until=midnight - timedelta(microseconds=1))
    config = ParseConfig()
    state, days, changed = watching.look(discover(tmp_path / "logs"), {}, config)
    assert (days, changed) == (set(days_between(START, last_day - timedelta(days=1))), ["system.journal"])
    _copy_entries(_live(hosts), grown, since=midnight)
    state, days, changed = watching.look(discover(tmp_path / "logs"), state, config)
    assert (days, changed) == ({last_day}, ["system.journal"])
    assert watching.look(discover(tmp_path / "logs"), state, config)[1:] == (set(), [])
    grown.rename(grown.with_name("system@0123abcd-0000000000000001-0005f1e2d3c4b5a6.journal"))  # archived
    assert watching.look(discover(tmp_path / "logs"), state, config)[1:] == (set(), [])


def test_the_inventory_dates_a_journal_by_its_header(hosts):
    (row,) = build_inventory(discover(hosts["journal"]), ParseConfig()).iter_rows(named=True)
    head = journal_files.header(_live(hosts))
    assert (row["compression"], row["lines"], row["first_timestamp"], row["last_timestamp"], row["damage"]) == (
        "journal", head.entries, head.head, head.tail, None)
    assert row["family"].endswith("/system.journal")


def test_a_days_window_holds_its_first_and_last_microsecond(tmp_path):
    day = date(2025, 3, 9)
    first, last = moments_of(day, day, "Europe/Berlin")
    edges = [first - timedelta(microseconds=1), first, last, last + timedelta(microseconds=1)]
    entries = [{**_kernel(1000 + i), "__REALTIME_TIMESTAMP": str((t - EPOCH) // timedelta(microseconds=1)).encode()}
               for i, t in enumerate(edges)]
    _journal(tmp_path / "logs" / "system.journal", entries)
    result = parse_days(discover(tmp_path / "logs"), ParseConfig(tz="Europe/Berlin"), days=[day],
                        folder=tmp_path / "days")
    assert result.files[0].lines == 2
    events = pl.read_parquet(result.events[day])
    assert events["dst_port"].to_list() == [1001, 1002]
    assert events["timestamp"].dt.convert_time_zone("UTC").to_list() == [first, last]


@pytest.fixture(scope="module")
def small_journal(tmp_path_factory) -> tuple[bytes, pl.DataFrame, int]:
    """A three-day host's journal: its bytes, its records and its entries."""
    _require_journal_tools()
    root = tmp_path_factory.mktemp("small_journal")
    generate_logs(root, days=3, seed=5, start=START, events_per_day=300, sources="journal")
    (live,) = root.rglob("system.journal")
    result = parse_paths([live])
    return live.read_bytes(), _comparable(result.records), result.summary()["lines_read"]


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(damage=st.lists(st.tuples(st.floats(0, 1), st.integers(1, 64), st.integers(0, 255)), min_size=1, max_size=4),
       cut=st.none() | st.floats(0.0, 1.0))
def test_random_damage_is_named_or_changes_nothing(small_journal, tmp_path, damage, cut):
    """Bytes overwritten anywhere in the written part (and the file perhaps cut short, as a crash
    or a copy leaves it): the run never fails, and a file not named as damaged gives exactly the
    events of the intact file: never silently wrong."""
    original, records, entries = small_journal
    data = bytearray(original)
    written = len(original.rstrip(b"\0"))
    for where, length, value in damage:
        at = 8 + int((written - 8) * where)  # the magic stays: it is what makes the file a journal
        data[at:at + length] = bytes([value]) * min(length, len(data) - at)
    if cut is not None:
        data = data[: 8 + int((written - 8) * cut)]
    target = tmp_path / f"case-{uuid.uuid4().hex}" / "system@00-01-02.journal"
    target.parent.mkdir()
    target.write_bytes(bytes(data))
    result = parse_paths([target.parent])
    assert result.summary()["lines_read"] <= entries
    if not result.damaged_files:
        assert _comparable(result.records).equals(records)


def test_run_on_a_journald_only_host_needs_no_setting(tmp_path):
    """`iptables-assets run --logs` on a folder holding only a journal (Debian 12+, Fedora, Arch):
    every event and sshd event of the truth, with no setting."""
    _require_journal_tools()
    truth = generate_logs(tmp_path / "var-log", days=3, seed=13, start=START, events_per_day=300, sources="journal")
    cli = Path(sys.executable).parent / "iptables-assets"
    done = subprocess.run([str(cli), "run", "--logs", str(tmp_path / "var-log"), "--out", str(tmp_path / "out")],
                          capture_output=True, text=True, timeout=600,
                          env={**os.environ, "DAGSTER_HOME": str(tmp_path / "home")})
    assert done.returncode == 0, done.stderr[-3000:]
    said = dict(line.split("] ", 1)[1].split(": ", 1) for line in done.stdout.splitlines()
                if line.startswith("[") and ": " in line.split("] ", 1)[-1])
    assert said["events"] == str(sum(truth["records_per_day"].values()))
    assert said["sshd events"] == str(sum(truth["sshd_per_kind"].values()))
    assert said["days"] == "3"
