"""The streamed parse (`parse_days`, `spill_logs` + the CLI's writers) gives exactly the rows and
counts of the in-memory `parse_files`, for generated logs across New Year with rotated and
kern.log/messages duplicates, `message repeated` lines, rejects and non-existent DST times."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import polars as pl
import pytest

from iptables_assets import parse_output
from iptables_assets.ingest.records.firewall import day_merge
from iptables_assets.ingest.files.logfiles import discover
from iptables_assets.ingest.records.firewall.parsing import (
    ParseConfig, parse_days, parse_files, spill_logs, split_by_day,
)
from iptables_assets.sample import generate_logs

# Small chunks and batches: many chunks per file, several batches per day.
SMALL_PIECES = dict(chunk_bytes=64 << 10, batch_rows=700)


@pytest.fixture(scope="module")
def logs(tmp_path_factory) -> Path:
    """12 generated days across New Year (rotations, kern.log copies, repeats, defects)."""
    out = tmp_path_factory.mktemp("varlog")
    generate_logs(out, days=12, seed=3, start=dt.date(2025, 12, 24), events_per_day=300)
    return out


def _days_of(frame: pl.DataFrame) -> set[dt.date]:
    return set(frame["timestamp"].dt.date().to_list())


def _same(a: pl.DataFrame, b: pl.DataFrame) -> bool:
    return a.schema == b.schema and a.equals(b)


@pytest.mark.parametrize("tz, config", [
    ("UTC", {}), ("Europe/Berlin", SMALL_PIECES), ("America/New_York", dict(SMALL_PIECES, threads=1)),
])
def test_parse_days_equals_split_by_day_of_parse_files(logs, tmp_path, tz, config):
    settings = ParseConfig(tz=tz, **config)
    files = discover(logs)
    whole = parse_files(files, settings)
    present = sorted(_days_of(whole.records) | _days_of(whole.rejects))
    assert dt.date(2025, 12, 31) in present and dt.date(2026, 1, 1) in present
    # Not every day (the others are only counted), and one day without any row.
    days = [*present[2:-2], present[-1] + dt.timedelta(days=3)]
    result = parse_days(files, settings, None, days, tmp_path / "days")
    events, rejects = split_by_day(whole.records, days), split_by_day(whole.rejects, days)
    assert sorted(result.events) == sorted(result.rejects) == days
    for day in days:
        assert result.events[day] == tmp_path / "days" / day.isoformat() / "events.parquet"
        assert _same(pl.read_parquet(result.events[day]), events[day]), day
        assert _same(pl.read_parquet(result.rejects[day]), rejects[day]), day
        assert (result.events_per_day[day], result.rejects_per_day[day]) == (events[day].height, rejects[day].height)
    assert result.summary() == whole.summary()
    assert whole.duplicates_removed > 0 and whole.repeated_extra > 0 and whole.rejects.height > 0
    assert sorted(p.name for p in (tmp_path / "days").iterdir()) == [d.isoformat() for d in days]


def test_a_missing_hour_of_dst_becomes_bad_timestamp_rejects_as_in_memory(write_log, tmp_path):
    """Europe/Berlin skips 02:00-03:00 on 2024-03-31: RFC 3164 lines in that hour are rejects."""
    line = ("Mar 31 {} gw kernel: [UFW BLOCK] IN=eth0 OUT= SRC=192.0.2.{} DST=203.0.113.1 LEN=40 "
            "PROTO=TCP SPT=4000 DPT=22 WINDOW=1024 RES=0x00 SYN URGP=0")
    times = ["01:59:59", "02:15:00", "02:15:00", "03:00:01", "02:30:00"]
    path = write_log("messages", [line.format(t, i) for i, t in enumerate(times)])
    settings = ParseConfig(tz="Europe/Berlin", threads=1)
    whole = parse_files(discover(path), settings)
    assert whole.rejects_by_reason() == {"bad_timestamp": 3}
    result = parse_days(discover(path), settings, None, [dt.date(2024, 3, 31)], tmp_path)
    assert _same(pl.read_parquet(result.rejects[dt.date(2024, 3, 31)]), whole.rejects)
    assert _same(pl.read_parquet(result.events[dt.date(2024, 3, 31)]), whole.records)
    assert result.summary() == whole.summary()


def _stream(files, settings: ParseConfig, folder: Path, **outputs) -> dict:
    spilled = spill_logs(files, settings, None, folder / "spill")
    parse_output.write(spilled, parquet=outputs.get("parquet", False), summary=False,
                       records=outputs["records"], rejects=outputs["rejects"])
    return spilled.counts.summary()


@pytest.mark.parametrize("parquet", [True, False])
def test_streamed_outputs_equal_the_in_memory_parse(logs, tmp_path, parquet):
    settings = ParseConfig(tz="Europe/Berlin", **SMALL_PIECES)
    files = discover(logs)
    whole = parse_files(files, settings)
    records, rejects = tmp_path / "records", tmp_path / "rejects.jsonl"
    summary = _stream(files, settings, tmp_path, records=records, rejects=rejects, parquet=parquet)
    assert summary == whole.summary()
    assert rejects.read_bytes() == whole.rejects.write_ndjson().encode()
    if parquet:
        assert _same(pl.read_parquet(records), whole.records)
    else:
        stamps = whole.records["timestamp"].dt.strftime("%Y-%m-%dT%H:%M:%S%.6f%:z")
        assert records.read_text() == whole.records.with_columns(stamps).write_ndjson()
    assert not (tmp_path / "spill").exists() or not any((tmp_path / "spill").iterdir())


def test_merging_holds_one_batch_of_rows_at_a_time(logs, tmp_path, monkeypatch):
    """Memory smoke test: with small chunks and batches, no merge step loads more than about
    `batch_rows` rows (rows of one timestamp are never split), and spilled days are deleted."""
    loaded: list[int] = []
    real = day_merge._load

    def counting(*args):
        rows = real(*args)
        loaded.append(0 if rows is None else rows.height)
        return rows

    monkeypatch.setattr(day_merge, "_load", counting)
    settings = ParseConfig(**SMALL_PIECES)
    spilled = spill_logs(discover(logs), settings, None, tmp_path)
    chunks = sum(-(-f.file.size // settings.chunk_bytes) for f in spilled.files)
    assert chunks > 40
    total = sum(b.records.height for b in spilled.batches())
    assert total == spilled.counts.record_count > 10 * settings.batch_rows
    # batch_rows counts every copy (kern.log and messages) of records and rejects of a range
    assert len(loaded) > 2 * 12 and max(loaded) <= settings.batch_rows
    assert [p.name for p in tmp_path.iterdir()] == []


def test_cli_streams_parquet_and_names_nothing_on_failure(logs, tmp_path, capsys):
    from iptables_assets.cli import main

    target = tmp_path / "out.parquet"
    assert main(["parse", str(logs), "--format", "parquet", "-o", str(target)]) == 0
    assert _same(pl.read_parquet(target), parse_files(discover(logs), ParseConfig()).records)
    assert main(["parse", str(logs), "--summary"]) == 0
    assert json.loads(capsys.readouterr().out)["files"] == len(discover(logs))
    assert [p.name for p in tmp_path.iterdir()] == ["out.parquet"]  # no temporary left behind


_PEAK_OF_A_STREAMED_PARSE = """
import resource, sys, tempfile
from pathlib import Path
from iptables_assets import parse_output
from iptables_assets.ingest.files.logfiles import discover
from iptables_assets.ingest.records.firewall.parsing import ParseConfig, spill_logs
with tempfile.TemporaryDirectory() as scratch:
    spilled = spill_logs(discover(sys.argv[1]), ParseConfig(chunk_bytes=256 << 10, batch_rows=5000), None, Path(scratch))
    parse_output.write(spilled, Path(scratch) / "out.parquet", True, None, False)
print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024)
"""


def _two_days_of_drops(path: Path, lines: int) -> Path:
    template = ("Jan {d:2d} {h:02d}:{m:02d}:{s:02d} gw kernel: [UFW BLOCK] IN=eth0 OUT= "
                "MAC=52:54:00:12:34:56:52:54:00:65:43:21:08:00 SRC=198.51.{a}.{b} DST=203.0.113.10 LEN=44 "
                "TOS=0x00 PREC=0x00 TTL=243 ID={i} PROTO=TCP SPT={p} DPT={q} WINDOW=1024 RES=0x00 SYN URGP=0\n")
    path.parent.mkdir(parents=True)
    with open(path, "w") as handle:
        for i in range(lines):
            t = i * 172_800 // lines
            handle.write(template.format(d=1 + t // 86400, h=t // 3600 % 24, m=t // 60 % 60, s=t % 60, a=i % 256,
                                         b=i // 256 % 256, i=i % 65536, p=1024 + i % 60000, q=i % 1024))
    return path


def test_peak_memory_of_a_streamed_parse_hardly_grows_with_the_input(tmp_path):
    """Memory smoke test in fresh processes: 4x the lines (60,000 -> 240,000, hundreds of small
    chunks) add little to the peak RSS; holding the rows (parse_files) adds about 200 MB here."""
    import subprocess
    import sys

    peaks = []
    for lines in (60_000, 240_000):
        log = _two_days_of_drops(tmp_path / str(lines) / "messages", lines)
        done = subprocess.run([sys.executable, "-c", _PEAK_OF_A_STREAMED_PARSE, str(log)], capture_output=True,
                              text=True, timeout=300)
        assert done.returncode == 0, done.stderr
        peaks.append(int(done.stdout))
    assert peaks[1] - peaks[0] < 60, peaks


def test_parse_days_names_an_unreadable_file_and_leaves_no_spill(logs, tmp_path, monkeypatch):
    from iptables_assets.ingest.files import logfiles

    files = discover(logs)
    victim = next(f.path for f in files if f.relative == "messages.1")

    def opener(path, *args, **kwargs):
        if Path(path) == victim:
            raise PermissionError(13, "Permission denied", str(path))
        return open(path, *args, **kwargs)

    monkeypatch.setattr(logfiles, "open", opener, raising=False)
    with pytest.raises(PermissionError) as raised:
        parse_days(files, ParseConfig(), None, [dt.date(2025, 12, 30)], tmp_path)
    assert raised.value.filename == str(victim)
    assert list(tmp_path.iterdir()) == []
