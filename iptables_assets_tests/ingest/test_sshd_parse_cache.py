"""sshd lines are read through the parse cache: a second read of the same files (the next day's
run, fanned-out day runs, a re-run) links every file's pieces instead of reading it again, and
gives exactly the days of a read without the cache."""

from __future__ import annotations

import datetime as dt

import pytest
from polars.testing import assert_frame_equal

from iptables_assets.ingest import parse_cache
from iptables_assets.ingest.files.logfiles import discover
from iptables_assets.ingest.parse_cache import ParseCache
from iptables_assets.ingest.parse_config import ParseConfig
from iptables_assets.ingest.records import sshd
from iptables_assets.sample import generate_logs

TZ = "Europe/Berlin"
DAYS = [dt.date(2026, 3, 22) + dt.timedelta(days=i) for i in range(10)]


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    logs = tmp_path_factory.mktemp("varlog")
    generate_logs(logs, days=10, seed=6, start=DAYS[0], events_per_day=150, tz=TZ)
    found = [f for f in discover(logs) if sshd.is_sshd_family(f.family)]
    assert len(found) > 1
    return found


@pytest.fixture
def reads(monkeypatch) -> list[str]:
    """The sshd files read from the log folder (by relative path)."""
    seen: list[str] = []
    real = sshd._read_file

    def counting(file, *args):
        seen.append(file.relative)
        return real(file, *args)

    monkeypatch.setattr(sshd, "_read_file", counting)
    return seen


def _days(parsed: sshd.SshdDays, days) -> dict:
    return dict(parsed.days(days))


def test_a_second_sshd_read_reads_no_file_and_gives_the_same_days(files, tmp_path, reads):
    plain = sshd.parse_sshd_days(files, TZ, None, tmp_path / "plain", DAYS)
    expected = _days(plain, DAYS)
    assert sorted(reads) == sorted(f.relative for f in files)
    reads.clear()

    cache = ParseCache(tmp_path / "cache")
    first = sshd.parse_sshd_days(files, TZ, None, tmp_path / "first", DAYS, cache)
    assert sorted(reads) == sorted(f.relative for f in files) and cache.linked == []
    got = _days(first, DAYS)
    for day in DAYS:
        assert_frame_equal(got[day], expected[day])

    for day in DAYS[2:4]:  # fanned-out day runs: one day each, every file from the cache
        again = ParseCache(tmp_path / "cache")
        one = sshd.parse_sshd_days(files, TZ, None, tmp_path / f"run-{day}", [day], again)
        assert_frame_equal(_days(one, [day])[day], expected[day])
        assert sorted(again.linked) == sorted(f.relative for f in files)
        assert (one.lines_read, one.damaged_files) == (plain.lines_read, plain.damaged_files)
    assert len(reads) == len(files)  # nothing read again after the first cached read


def test_a_changed_sshd_file_is_read_again_and_only_it(files, tmp_path, reads):
    copy = tmp_path / "logs"
    copy.mkdir()
    for f in files:
        (copy / f.relative).write_bytes(f.path.read_bytes())
    copied = [f for f in discover(copy) if sshd.is_sshd_family(f.family)]
    cache = ParseCache(tmp_path / "cache")
    sshd.parse_sshd_days(copied, TZ, None, tmp_path / "a", DAYS, cache)
    reads.clear()
    live = next(f for f in copied if f.relative == "secure")
    with open(live.path, "ab") as handle:
        handle.write(b"Mar 31 23:00:00 gw01 sshd[9]: Invalid user zz from 203.0.113.77 port 5\n")
    changed = [f for f in discover(copy) if sshd.is_sshd_family(f.family)]
    again = sshd.parse_sshd_days(changed, TZ, None, tmp_path / "b", DAYS, cache)
    assert reads == ["secure"]
    fresh = sshd.parse_sshd_days(changed, TZ, None, tmp_path / "c", DAYS)
    got, expected = _days(again, DAYS), _days(fresh, DAYS)
    for day in DAYS:
        assert_frame_equal(got[day], expected[day])


def test_a_file_has_one_entry_per_kind_of_records(files):
    file = files[0]
    anchor = dt.datetime(2026, 4, 2, tzinfo=dt.timezone.utc)
    config = ParseConfig(tz=TZ)
    assert parse_cache.entry_key(file, anchor, config, records="sshd") != parse_cache.entry_key(file, anchor, config)
