"""The parse cache: a file already read is linked, not read again, and the days come out exactly
as without it; a changed file is read again; a damaged entry is never trusted."""

from __future__ import annotations

import datetime as dt
import os
import threading
from pathlib import Path

import polars as pl
import pytest

from iptables_assets.ingest import parse_cache
from iptables_assets.ingest.files.logfiles import discover
from iptables_assets.ingest.parse_cache import ParseCache
from iptables_assets.ingest.records.firewall.parsing import ParseConfig, parse_days
from iptables_assets.sample import generate_logs

CONFIG = ParseConfig(tz="Europe/Berlin", chunk_bytes=64 << 10, batch_rows=700)
DAYS = [dt.date(2025, 12, 24) + dt.timedelta(days=i) for i in range(12)]


@pytest.fixture(scope="module")
def logs(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("varlog")
    generate_logs(out, days=12, seed=3, start=DAYS[0], events_per_day=200)
    return out


@pytest.fixture
def reads(monkeypatch) -> list[str]:
    """The files the cache had to read (by relative path)."""
    seen: list[str] = []
    real = parse_cache.spill_file

    def counting(file, *args):
        seen.append(file.relative)
        return real(file, *args)

    monkeypatch.setattr(parse_cache, "spill_file", counting)
    return seen


def _outputs(result) -> dict:
    """Every day's event and reject file bytes, and the counts."""
    files = {f"{day} {kind}": path.read_bytes() for kind, paths in (("events", result.events),
                                                                    ("rejects", result.rejects))
             for day, path in paths.items()}
    return {"files": files, "summary": result.summary()}


def test_a_second_run_reads_no_file_and_gives_the_same_bytes(logs, tmp_path, reads):
    files = discover(logs)
    plain = _outputs(parse_days(files, CONFIG, None, DAYS, tmp_path / "plain"))
    cache = ParseCache(tmp_path / "cache")
    first = _outputs(parse_days(files, CONFIG, None, DAYS, tmp_path / "first", cache))
    assert sorted(reads) == sorted(f.relative for f in files)
    second = _outputs(parse_days(files, CONFIG, None, DAYS[3:5], tmp_path / "second", cache))
    assert len(reads) == len(files)  # nothing read again
    assert first == plain
    assert second["summary"] == plain["summary"]
    assert second["files"] == {k: v for k, v in plain["files"].items() if k[:10] in {"2025-12-27", "2025-12-28"}}
    assert len(list((tmp_path / "cache").iterdir())) == len(files)


def test_a_changed_file_is_read_again_and_only_it(logs, tmp_path, reads):
    copy = tmp_path / "logs"
    copy.mkdir()
    for path in logs.iterdir():
        (copy / path.name).write_bytes(path.read_bytes())
        os.utime(copy / path.name, (path.stat().st_mtime,) * 2)
    cache = ParseCache(tmp_path / "cache")
    parse_days(discover(copy), CONFIG, None, DAYS, tmp_path / "a", cache)
    reads.clear()
    with open(copy / "messages", "ab") as handle:  # the live file grows
        handle.write(b"Jan  4 23:00:00 gw01 kernel: [UFW BLOCK] IN=eth0 OUT= SRC=192.0.2.9 DST=203.0.113.1 "
                     b"LEN=40 PROTO=TCP SPT=4000 DPT=23 WINDOW=1024 RES=0x00 SYN URGP=0\n")
    again = parse_days(discover(copy), CONFIG, None, DAYS, tmp_path / "b", cache)
    assert reads == ["messages"]
    assert _outputs(again) == _outputs(parse_days(discover(copy), CONFIG, None, DAYS, tmp_path / "c"))


@pytest.mark.parametrize("damage", ["flip a byte", "truncate", "remove a piece", "manifest"])
def test_a_damaged_entry_is_read_again(logs, tmp_path, reads, damage):
    files = [f for f in discover(logs) if f.relative == "messages.1"]
    cache = ParseCache(tmp_path / "cache")
    clean = _outputs(parse_days(files, CONFIG, None, DAYS, tmp_path / "a", cache))
    entry = next((tmp_path / "cache").iterdir())
    piece = sorted(entry.rglob("*.records.arrow"))[0]
    if damage == "flip a byte":
        data = bytearray(piece.read_bytes())
        data[len(data) // 2] ^= 0xFF
        piece.write_bytes(bytes(data))
    elif damage == "truncate":
        piece.write_bytes(piece.read_bytes()[:100])
    elif damage == "remove a piece":
        piece.unlink()
    else:
        (entry / "manifest.json").write_text('{"pieces": ')
    again = _outputs(parse_days(files, CONFIG, None, DAYS, tmp_path / "b", cache))
    assert reads == ["messages.1", "messages.1"]
    assert again == clean


def test_runs_filling_the_cache_at_once_agree(logs, tmp_path):
    files = discover(logs)
    cache = ParseCache(tmp_path / "cache")
    results: dict[int, dict] = {}

    def run(i: int) -> None:
        results[i] = _outputs(parse_days(files, CONFIG, None, DAYS, tmp_path / f"run{i}", cache))

    threads = [threading.Thread(target=run, args=(i,)) for i in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results[0] == results[1] == results[2] == _outputs(parse_days(files, CONFIG, None, DAYS, tmp_path / "x"))
    assert sorted(p.name.startswith(".tmp") for p in (tmp_path / "cache").iterdir()) == [False] * len(files)


def test_prune_keeps_only_the_keys_asked_for(logs, tmp_path):
    files = discover(logs)
    cache = ParseCache(tmp_path / "cache")
    parse_days(files, CONFIG, None, DAYS[:1], tmp_path / "a", cache)
    keys = {p.name for p in (tmp_path / "cache").iterdir()}
    (tmp_path / "cache" / ".tmp-dead").mkdir()
    keep = set(sorted(keys)[:2])
    assert set(cache.prune(keep)) == (keys - keep) | {".tmp-dead"}
    assert {p.name for p in (tmp_path / "cache").iterdir()} == keep
    assert ParseCache(tmp_path / "nothing").prune(set()) == []


def test_the_key_changes_with_what_determines_the_pieces(logs):
    file = discover(logs)[0]
    anchor = dt.datetime(2026, 1, 5, tzinfo=dt.timezone.utc)
    key = parse_cache.entry_key(file, anchor, CONFIG)
    assert key == parse_cache.entry_key(file, anchor, ParseConfig(tz="Europe/Berlin", threads=1))
    assert key != parse_cache.entry_key(file, anchor, ParseConfig(tz="UTC"))
    assert key != parse_cache.entry_key(file, anchor + dt.timedelta(days=366), CONFIG)
    assert key != parse_cache.entry_key(file, anchor, ParseConfig(tz="Europe/Berlin", trusted_programs=("kernel",)))
    assert pl.Series([key]).str.len_chars()[0] == 32
