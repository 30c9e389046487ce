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
from iptables_assets.ingest import day_merge
from iptables_assets.ingest.logfiles import discover
from iptables_assets.ingest.parsing import ParseConfig, parse_days, parse_files, spill_logs, split_by_day
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
